package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/amazon-webhook-gateway/gateway/shared/ddbattr"
	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
)

// put is a write to the idempotency table itself (any table does) that fails when id holds a
// higher n than given: a stand-in for an OTP write.
func put(table, id string, n int, refused *int) idempotency.Write {
	return idempotency.Write{
		Put: &types.Put{
			TableName:                 aws.String(table),
			Item:                      map[string]types.AttributeValue{idempotency.KeyAttribute: ddbattr.S(id), "n": ddbattr.N(int64(n))},
			ConditionExpression:       aws.String("attribute_not_exists(n) OR n <= :n"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":n": ddbattr.N(int64(n))},
		},
		Refused: func(context.Context, map[string]types.AttributeValue) error { *refused++; return nil },
	}
}

// Each key is claimed by a PutItem of its own, then each write made, then the work, then each key
// completed: no transaction (DynamoDB bills an item in one twice). The first key that cannot be
// claimed decides, named in a KeyError; the keys claimed meanwhile are released and nothing is
// written. A write whose condition fails is settled by its Refused and the work runs without it; a
// claim or write whose answer was lost (the SDK's retry) is still ours; 150 writes are all made.
func TestDoAllClaimsEachKeyThenWritesThenCompletes(t *testing.T) {
	ctx := context.Background()
	client, table := newTable(t)
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := idempotency.New(client, table, 48*time.Hour, clock)
	retrying := idempotency.New(lostAnswer{client}, table, 48*time.Hour, clock)
	deadline := now.Add(4 * time.Second)
	noop := func(context.Context) error { return nil }

	if err := s.Claim(ctx, "done", deadline); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, "done"); err != nil {
		t.Fatal(err)
	}
	if err := s.Claim(ctx, "held", deadline); err != nil {
		t.Fatal(err)
	}
	var refused int
	if err := s.DoAll(ctx, nil, []idempotency.Write{put(table, "w", 5, &refused)}, deadline, noop); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name    string
		store   *idempotency.Store
		keys    []string
		writes  int // writes of fresh items, besides the stale one when stale
		stale   bool
		wantErr error
		wantKey string
	}{
		{name: "two free keys and a write", store: s, keys: []string{"a1", "a2"}, writes: 1},
		{name: "a completed second key", store: s, keys: []string{"b1", "done"}, writes: 1, wantErr: idempotency.ErrCompleted, wantKey: "done"},
		{name: "a held first key decides before a completed one", store: s, keys: []string{"held", "done"}, wantErr: idempotency.ErrInProgress, wantKey: "held"},
		{name: "a stale write is left out", store: s, keys: []string{"c1"}, writes: 1, stale: true},
		{name: "answer lost", store: retrying, keys: []string{"d1", "d2"}, writes: 2},
		{name: "150 writes", store: s, keys: []string{"e1"}, writes: 150},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refused = 0
			var writes []idempotency.Write
			for i := range tc.writes {
				writes = append(writes, put(table, fmt.Sprintf("%s-w%d", tc.keys[0], i), 1, &refused))
			}
			if tc.stale {
				writes = append(writes, put(table, "w", 4, &refused))
			}
			ran := false
			claims := make([]idempotency.Claim, len(tc.keys))
			for i, k := range tc.keys {
				claims[i] = idempotency.Claim{Key: k}
			}
			err := tc.store.DoAll(ctx, claims, writes, deadline, func(context.Context) error { ran = true; return nil })
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			var ke *idempotency.KeyError
			if tc.wantErr != nil && (!errors.As(err, &ke) || ke.Key != tc.wantKey) {
				t.Fatalf("err %v does not name key %q", err, tc.wantKey)
			}
			if ran != (tc.wantErr == nil) {
				t.Errorf("work ran: %v", ran)
			}
			if want := map[bool]int{true: 1}[tc.stale]; refused != want {
				t.Errorf("%d writes refused, want %d", refused, want)
			}
			// What the keys and the writes left in the table.
			for _, k := range tc.keys {
				out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: map[string]types.AttributeValue{idempotency.KeyAttribute: ddbattr.S(k)}})
				if err != nil {
					t.Fatal(err)
				}
				st, _ := out.Item["status"].(*types.AttributeValueMemberS)
				if tc.wantErr == nil && (st == nil || st.Value != "COMPLETED") {
					t.Errorf("key %s: %v, want completed", k, out.Item["status"])
				}
				if tc.wantErr != nil && k != "held" && k != "done" && out.Item != nil {
					t.Errorf("key %s written although the claims failed", k)
				}
			}
			for i := range tc.writes {
				out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: map[string]types.AttributeValue{idempotency.KeyAttribute: ddbattr.S(fmt.Sprintf("%s-w%d", tc.keys[0], i))}})
				if err != nil {
					t.Fatal(err)
				}
				if (out.Item != nil) != (tc.wantErr == nil) {
					t.Errorf("write %d: stored %v, want %v", i, out.Item != nil, tc.wantErr == nil)
				}
			}
		})
	}
}

// A claim's Note is stored with it and read back by the claim it refuses: Amazon Pay notes the
// MessageId under its one signed-text key, to tell a copy under another MessageId from a
// redelivery.
func TestARefusedClaimReadsTheNoteOfTheClaimThatHoldsTheKey(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	deadline := now.Add(4 * time.Second)
	noop := func(context.Context) error { return nil }
	if err := s.DoAll(ctx, []idempotency.Claim{{Key: "signed", Note: "message-1"}}, nil, deadline, noop); err != nil {
		t.Fatal(err)
	}
	for _, note := range []string{"message-1", "message-2", ""} {
		err := s.DoAll(ctx, []idempotency.Claim{{Key: "signed", Note: note}}, nil, deadline, noop)
		var ke *idempotency.KeyError
		if !errors.As(err, &ke) || !errors.Is(err, idempotency.ErrCompleted) || ke.Note != "message-1" {
			t.Errorf("claim noted %q: %v (note %q), want completed, noted message-1", note, err, noteOf(ke))
		}
	}
	if err := s.DoAll(ctx, []idempotency.Claim{{Key: "plain"}}, nil, deadline, noop); err != nil {
		t.Fatal(err)
	}
	err := s.DoAll(ctx, []idempotency.Claim{{Key: "plain", Note: "x"}}, nil, deadline, noop)
	var ke *idempotency.KeyError
	if !errors.As(err, &ke) || ke.Note != "" {
		t.Errorf("a claim without a note: %v (note %q), want no note", err, noteOf(ke))
	}
}

func noteOf(ke *idempotency.KeyError) string {
	if ke == nil {
		return "<none>"
	}
	return ke.Note
}
