// Package idempotency records which deliveries have been processed, as Powertools for AWS Lambda
// does: one DynamoDB item per key, claimed with a single conditional write, completed on success,
// deleted on failure so the sender's retry can run the work again.
package idempotency

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/amazon-webhook-gateway/gateway/shared/ddbattr"
)

// Table layout, shared with template.yaml.
const (
	KeyAttribute = "id"
	TTLAttribute = "expiration"
)

var (
	// ErrCompleted: the key was processed before; answer as a success without doing anything.
	ErrCompleted = errors.New("idempotency: already completed")
	// ErrInProgress: another invocation holds the key right now; the sender should retry later.
	ErrInProgress = errors.New("idempotency: already in progress")
)

const (
	statusInProgress = "INPROGRESS"
	statusCompleted  = "COMPLETED"
	// claimAttribute holds a random token per Claim call.
	claimAttribute = "claim"
	// noteAttribute holds a claim's Note.
	noteAttribute = "note"
)

type dynamoAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// Store claims and completes idempotency keys.
type Store struct {
	client dynamoAPI
	table  string
	keep   time.Duration
	now    func() time.Time
}

// New returns a store that remembers completed keys for keep (longer than the sender retries).
func New(client dynamoAPI, table string, keep time.Duration, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{client: client, table: table, keep: keep, now: now}
}

// Keeping returns a store on the same table that remembers completed keys for keep instead: a
// webhook whose messages stay valid for ever (APS's carry no timestamp) keeps its records longer.
func (s *Store) Keeping(keep time.Duration) *Store {
	c := *s
	c.keep = keep
	return &c
}

// Claim takes key for this invocation until inProgressUntil (the Lambda's deadline), after which
// a crashed invocation's claim lapses. It returns ErrCompleted or ErrInProgress when it cannot.
func (s *Store) Claim(ctx context.Context, key string, inProgressUntil time.Time) error {
	// The SDK retries a write whose answer was lost (a timeout, a cut connection); the retry then
	// meets the first attempt's item. The claim's own token tells that item from another
	// invocation's, which would otherwise turn a success into a 429 for every retry of the sender.
	return s.claimOne(ctx, Claim{Key: key}, rand.Text(), inProgressUntil)
}

// claimPut is the conditional write that claims key with token: it succeeds on a free key (never
// claimed, expired, or a lapsed claim) and on the item of an earlier attempt with the same token
// while it is in progress. Once the work completed, an attempt of the claim that DynamoDB executes
// late (the SDK gave up on it and retried) fails, rather than reopening the key for a redelivery.
func (s *Store) claimPut(c Claim, token string, inProgressUntil time.Time) *types.Put {
	now := s.now()
	item := map[string]types.AttributeValue{
		KeyAttribute:       ddbattr.S(c.Key),
		"status":           ddbattr.S(statusInProgress),
		TTLAttribute:       ddbattr.N(now.Add(s.keep).Unix()),
		"inProgressExpiry": ddbattr.N(inProgressUntil.UnixMilli()),
		claimAttribute:     ddbattr.S(token),
	}
	if c.Note != "" {
		item[noteAttribute] = ddbattr.S(c.Note)
	}
	return &types.Put{
		TableName:           &s.table,
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(#id) OR #exp < :now OR (#st = :inprogress AND inProgressExpiry < :nowms) OR (#claim = :token AND #st = :inprogress)"),
		ExpressionAttributeNames: map[string]string{
			"#id": KeyAttribute, "#exp": TTLAttribute, "#st": "status", "#claim": claimAttribute,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": ddbattr.N(now.Unix()), ":nowms": ddbattr.N(now.UnixMilli()), ":inprogress": ddbattr.S(statusInProgress),
			":token": ddbattr.S(token),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
}

// refused is why the claim of key failed, from the item that failed its condition.
func refused(key string, item map[string]types.AttributeValue) error {
	var note string
	if n, _ := item[noteAttribute].(*types.AttributeValueMemberS); n != nil {
		note = n.Value
	}
	if st, _ := item["status"].(*types.AttributeValueMemberS); st != nil && st.Value == statusCompleted {
		return &KeyError{Key: key, Note: note, Err: ErrCompleted}
	}
	return &KeyError{Key: key, Note: note, Err: ErrInProgress}
}

// KeyError names the key whose claim found the work done (ErrCompleted) or held (ErrInProgress),
// and the Note of the claim that holds it ("" when it has none).
type KeyError struct {
	Key  string
	Note string
	Err  error
}

func (e *KeyError) Error() string { return e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

const completeExpression = "SET #st = :done REMOVE inProgressExpiry"

// Complete marks key done.
func (s *Store) Complete(ctx context.Context, key string) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       map[string]types.AttributeValue{KeyAttribute: ddbattr.S(key)},
		UpdateExpression:          aws.String(completeExpression),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":done": ddbattr.S(statusCompleted)},
	})
	if err != nil {
		return fmt.Errorf("idempotency: complete: %w", err)
	}
	return nil
}

// Release forgets key so that a retry runs the work again.
func (s *Store) Release(ctx context.Context, key string) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table,
		Key:       map[string]types.AttributeValue{KeyAttribute: ddbattr.S(key)},
	})
	if err != nil {
		return fmt.Errorf("idempotency: release: %w", err)
	}
	return nil
}

// releaseTimeout bounds the release of a failed claim; it fits in httpapi.AnswerReserve.
const releaseTimeout = 400 * time.Millisecond

// ErrNotRecorded: the work succeeded but its completion could not be written; a redelivery would
// run it again, which callers make harmless.
var ErrNotRecorded = errors.New("idempotency: completion not recorded")

// Do runs work at most once per key: it claims key until inProgressUntil, runs work, then marks
// the key completed, or releases it when work fails so that the sender's retry can run it again.
// It returns ErrCompleted or ErrInProgress without running work, work's error, or ErrNotRecorded.
func (s *Store) Do(ctx context.Context, key string, inProgressUntil time.Time, work func(context.Context) error) error {
	return s.DoAll(ctx, []Claim{{Key: key}}, nil, inProgressUntil, work)
}
