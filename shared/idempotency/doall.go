package idempotency

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/amazon-webhook-gateway/gateway/shared/ddbattr"
)

// Claim is one idempotency key of a delivery and what its record notes of the delivery that took
// it (Note, stored with the claim, "" for nothing): a claim refused by that record reads it back in
// KeyError.Note, so that a copy under another identity can be told from a redelivery.
type Claim struct {
	Key, Note string
}

// Write is a conditional put the work needs, made after the claims and before the work.
type Write struct {
	Put *types.Put
	// Refused is told the item that failed Put's condition (nil when DynamoDB did not return it).
	// It returns nil when the write is not needed (a newer item is there): the work then runs
	// without it. Its error fails the delivery.
	Refused func(ctx context.Context, old map[string]types.AttributeValue) error
}

// maxConcurrent bounds the writes (and the claims and completions of several keys) in flight at
// once: an accumulated delivery's 150 OTPs are 150 writes, not 150 connections.
const maxConcurrent = 16

// DoAll runs work at most once per claim, as Do does for one key, after writing writes. The plan is
// the cheapest in DynamoDB write units that keeps the guarantees, not the one with the fewest round
// trips: no transaction, because DynamoDB bills an item in a transaction twice. Each key is claimed
// with its own conditional PutItem (1 WRU; several keys concurrently, one round trip), then each
// write is its own conditional PutItem (concurrently), then work runs, then each key is completed
// with an UpdateItem (concurrently). A new delivery with one key and one write is 3 WRU in 4
// sequential calls with its publish; a duplicate is the one refused claim (1 WRU).
//
// When a key cannot be claimed, the first such in claims' order decides: a *KeyError wrapping
// ErrCompleted or ErrInProgress; the keys claimed meanwhile are released and nothing is written.
// A crash anywhere leaves the claims in progress until inProgressUntil, after which the sender's
// retry takes them again and redoes the writes and the work (the writes are idempotent puts).
func (s *Store) DoAll(ctx context.Context, claims []Claim, writes []Write, inProgressUntil time.Time, work func(context.Context) error) error {
	token := rand.Text()
	if err := s.claimAll(ctx, claims, token, inProgressUntil); err != nil {
		return err
	}
	err := s.writeAll(ctx, writes)
	if err == nil {
		err = work(ctx)
	}
	if err != nil {
		// Release even if ctx is done (the work may have run out of time): a stuck claim would
		// hold off retries until its deadline. Bounded, so a hung table cannot hold the answer.
		budget := releaseTimeout
		if d, ok := ctx.Deadline(); ok {
			budget = max(budget, time.Until(d))
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
		defer cancel()
		if rerr := s.releaseAll(rctx, claims, token); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	if err := s.completeAll(ctx, claims); err != nil {
		return fmt.Errorf("%w: %w", ErrNotRecorded, err)
	}
	return nil
}

// each runs f for i in [0, n), at most maxConcurrent at once, and returns the errors by index.
func each(n int, f func(i int) error) []error {
	errs := make([]error, n)
	if n <= 1 {
		// The common case (one key, one OTP, no writes) starts no goroutine.
		for i := range n {
			errs[i] = f(i)
		}
		return errs
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxConcurrent)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errs
}

// claimAll claims every key; when one cannot be claimed it releases those it did claim and returns
// the first refusal in claims' order (or the first other error).
func (s *Store) claimAll(ctx context.Context, claims []Claim, token string, inProgressUntil time.Time) error {
	errs := each(len(claims), func(i int) error {
		return s.claimOne(ctx, claims[i], token, inProgressUntil)
	})
	var first error
	var taken []Claim
	for i, err := range errs {
		if err == nil {
			taken = append(taken, claims[i])
		} else if first == nil {
			first = err
		}
	}
	if first == nil {
		return nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if rerr := s.releaseAll(rctx, taken, token); rerr != nil {
		return errors.Join(first, rerr)
	}
	return first
}

func (s *Store) claimOne(ctx context.Context, c Claim, token string, inProgressUntil time.Time) error {
	put := s.claimPut(c, token, inProgressUntil)
	_, err := s.client.PutItem(ctx, putInput(put))
	if err == nil {
		return nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return fmt.Errorf("idempotency: claim: %w", err)
	}
	return refused(c.Key, ccf.Item)
}

// putInput is put as a PutItem of its own, returning the item that fails its condition.
func putInput(put *types.Put) *dynamodb.PutItemInput {
	return &dynamodb.PutItemInput{
		TableName: put.TableName, Item: put.Item, ConditionExpression: put.ConditionExpression,
		ExpressionAttributeNames: put.ExpressionAttributeNames, ExpressionAttributeValues: put.ExpressionAttributeValues,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
}

// writeAll makes every write; a write whose condition fails is handed to its Refused.
func (s *Store) writeAll(ctx context.Context, writes []Write) error {
	errs := each(len(writes), func(i int) error {
		w := writes[i]
		_, err := s.client.PutItem(ctx, putInput(w.Put))
		var ccf *types.ConditionalCheckFailedException
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ccf):
			return w.Refused(ctx, ccf.Item)
		}
		return fmt.Errorf("idempotency: write: %w", err)
	})
	return errors.Join(errs...)
}

func (s *Store) completeAll(ctx context.Context, claims []Claim) error {
	return errors.Join(each(len(claims), func(i int) error { return s.Complete(ctx, claims[i].Key) })...)
}

// releaseAll deletes the claims this invocation (token) holds, so that a retry runs the work again;
// a claim that is no longer ours (it lapsed and was taken) is left alone.
func (s *Store) releaseAll(ctx context.Context, claims []Claim, token string) error {
	errs := each(len(claims), func(i int) error {
		_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:                 &s.table,
			Key:                       map[string]types.AttributeValue{KeyAttribute: ddbattr.S(claims[i].Key)},
			ConditionExpression:       aws.String("#claim = :token"),
			ExpressionAttributeNames:  map[string]string{"#claim": claimAttribute},
			ExpressionAttributeValues: map[string]types.AttributeValue{":token": ddbattr.S(token)},
		})
		var ccf *types.ConditionalCheckFailedException
		if err == nil || errors.As(err, &ccf) {
			return nil
		}
		return fmt.Errorf("idempotency: release: %w", err)
	})
	return errors.Join(errs...)
}
