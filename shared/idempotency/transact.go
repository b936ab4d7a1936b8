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

// Write is a conditional put the work needs, written in the same TransactWriteItems as the claims:
// a new delivery then costs one DynamoDB round trip before its events instead of two.
type Write struct {
	Put *types.Put
	// Refused is told the item that failed Put's condition (nil when DynamoDB did not return it).
	// It returns nil when the write is not needed (a newer item is there): the claims are then
	// taken without it. Its error fails the delivery.
	Refused func(ctx context.Context, old map[string]types.AttributeValue) error
}

// maxTransactItems is TransactWriteItems' limit on items per call.
const maxTransactItems = 100

// maxConflicts bounds the reruns of a transaction cancelled by another transaction on one of its
// writes (not its claims: that is a concurrent duplicate, answered as in progress).
const maxConflicts = 3

// DoAll runs work at most once per key of keys, as Do does for one, after writing writes: the
// keys are claimed together with the writes in one TransactWriteItems (a single key without
// writes in one PutItem). When a key cannot be claimed, the first such in keys' order decides:
// a *KeyError wrapping ErrCompleted or ErrInProgress, and nothing is written. Writes beyond what
// one transaction holds go in further transactions before work runs.
func (s *Store) DoAll(ctx context.Context, keys []string, writes []Write, inProgressUntil time.Time, work func(context.Context) error) error {
	room := max(maxTransactItems-len(keys), 0)
	first, rest := writes[:min(len(writes), room)], writes[min(len(writes), room):]
	token := rand.Text()
	if err := s.claimAll(ctx, keys, token, first, inProgressUntil); err != nil {
		return err
	}
	err := s.writeAll(ctx, rest)
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
		if rerr := s.releaseAll(rctx, keys, token); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	if err := s.completeAll(ctx, keys); err != nil {
		return fmt.Errorf("%w: %w", ErrNotRecorded, err)
	}
	return nil
}

// claimAll claims keys and writes writes in one transaction. A write refused for good (Refused
// says it is not needed) is left out of a rerun, so is a claim already ours.
func (s *Store) claimAll(ctx context.Context, keys []string, token string, writes []Write, inProgressUntil time.Time) error {
	if len(keys) == 1 && len(writes) == 0 {
		return s.claimOne(ctx, keys[0], token, inProgressUntil)
	}
	items := make([]types.TransactWriteItem, 0, len(keys)+len(writes))
	for _, k := range keys {
		items = append(items, types.TransactWriteItem{Put: s.claimPut(k, token, inProgressUntil)})
	}
	for _, w := range writes {
		items = append(items, types.TransactWriteItem{Put: w.Put})
	}
	// pending are the indexes (claims first, then writes) still to write.
	pending := make([]int, len(items))
	for i := range pending {
		pending[i] = i
	}
	for conflicts := 0; len(pending) > 0; {
		if len(pending) == 1 && pending[0] < len(keys) {
			return s.claimOne(ctx, keys[pending[0]], token, inProgressUntil)
		}
		in := &dynamodb.TransactWriteItemsInput{}
		for _, i := range pending {
			in.TransactItems = append(in.TransactItems, items[i])
		}
		_, err := s.client.TransactWriteItems(ctx, in)
		if err == nil {
			return nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) || len(tce.CancellationReasons) != len(pending) {
			return fmt.Errorf("idempotency: claim: %w", err)
		}
		var next []int
		conflict := false
		for j, i := range pending {
			r := tce.CancellationReasons[j]
			switch code := aws.ToString(r.Code); {
			case code == "" || code == "None":
				next = append(next, i)
			case i < len(keys) && code == "ConditionalCheckFailed":
				return refused(keys[i], r.Item)
			case i < len(keys) && code == "TransactionConflict":
				// Another invocation is writing this key right now: a concurrent duplicate.
				return &KeyError{Key: keys[i], Err: ErrInProgress}
			case code == "ConditionalCheckFailed":
				if err := writes[i-len(keys)].Refused(ctx, r.Item); err != nil {
					return err
				}
			case code == "TransactionConflict":
				conflict = true
				next = append(next, i)
			default:
				return fmt.Errorf("idempotency: claim: cancelled (%s): %w", code, err)
			}
		}
		if conflict {
			if conflicts++; conflicts > maxConflicts {
				return fmt.Errorf("idempotency: claim: %w", err)
			}
		}
		pending = next
	}
	return nil
}

// claimOne claims key with one PutItem, as Claim does, under token.
func (s *Store) claimOne(ctx context.Context, key, token string, inProgressUntil time.Time) error {
	put := s.claimPut(key, token, inProgressUntil)
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: put.TableName, Item: put.Item, ConditionExpression: put.ConditionExpression,
		ExpressionAttributeNames: put.ExpressionAttributeNames, ExpressionAttributeValues: put.ExpressionAttributeValues,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return fmt.Errorf("idempotency: claim: %w", err)
	}
	return refused(key, ccf.Item)
}

// writeAll writes writes, a transaction per maxTransactItems, one after the other: only an
// accumulated delivery of more than 99 entries has any.
func (s *Store) writeAll(ctx context.Context, writes []Write) error {
	for len(writes) > 0 {
		n := min(len(writes), maxTransactItems)
		if err := s.claimAll(ctx, nil, "", writes[:n], time.Time{}); err != nil {
			return err
		}
		writes = writes[n:]
	}
	return nil
}

// completeAll marks keys done: one UpdateItem, or one transaction for several keys.
func (s *Store) completeAll(ctx context.Context, keys []string) error {
	switch len(keys) {
	case 0:
		return nil
	case 1:
		return s.Complete(ctx, keys[0])
	}
	in := &dynamodb.TransactWriteItemsInput{}
	for _, k := range keys {
		in.TransactItems = append(in.TransactItems, types.TransactWriteItem{Update: &types.Update{
			TableName:                 &s.table,
			Key:                       map[string]types.AttributeValue{KeyAttribute: ddbattr.S(k)},
			UpdateExpression:          aws.String(completeExpression),
			ExpressionAttributeNames:  map[string]string{"#st": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":done": ddbattr.S(statusCompleted)},
		}})
	}
	if _, err := s.client.TransactWriteItems(ctx, in); err != nil {
		return fmt.Errorf("idempotency: complete: %w", err)
	}
	return nil
}

// releaseAll forgets keys claimed with token: one DeleteItem, or one transaction for several keys,
// so that a retry never meets half of them held. Each delete is conditional on the token: an
// attempt DynamoDB executes late (after a redelivery completed the key), or a release after the
// claim lapsed and another invocation took it, deletes nothing but this claim. When one of several
// keys is no longer this claim's, the transaction deletes none: the others lapse at their deadline.
func (s *Store) releaseAll(ctx context.Context, keys []string, token string) error {
	deletes := make([]types.TransactWriteItem, len(keys))
	for i, k := range keys {
		deletes[i] = types.TransactWriteItem{Delete: &types.Delete{
			TableName:                 &s.table,
			Key:                       map[string]types.AttributeValue{KeyAttribute: ddbattr.S(k)},
			ConditionExpression:       aws.String("#claim = :token"),
			ExpressionAttributeNames:  map[string]string{"#claim": claimAttribute},
			ExpressionAttributeValues: map[string]types.AttributeValue{":token": ddbattr.S(token)},
		}}
	}
	var err error
	switch len(keys) {
	case 0:
		return nil
	case 1:
		d := deletes[0].Delete
		_, err = s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: d.TableName, Key: d.Key, ConditionExpression: d.ConditionExpression,
			ExpressionAttributeNames: d.ExpressionAttributeNames, ExpressionAttributeValues: d.ExpressionAttributeValues,
		})
	default:
		_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: deletes})
	}
	var ccf *types.ConditionalCheckFailedException
	var tce *types.TransactionCanceledException
	if err == nil || errors.As(err, &ccf) || errors.As(err, &tce) && onlyConditionsFailed(tce) {
		return nil
	}
	return fmt.Errorf("idempotency: release: %w", err)
}

// onlyConditionsFailed says whether every reason a transaction was cancelled is a failed condition.
func onlyConditionsFailed(tce *types.TransactionCanceledException) bool {
	for _, r := range tce.CancellationReasons {
		if code := aws.ToString(r.Code); code != "" && code != "None" && code != "ConditionalCheckFailed" {
			return false
		}
	}
	return len(tce.CancellationReasons) > 0
}
