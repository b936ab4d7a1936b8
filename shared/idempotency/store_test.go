package idempotency_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }

// newTable creates an idempotency table as the template defines it.
func newTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	ctx := context.Background()
	cfg, err := localaws.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	table, err := localaws.CreateTable(ctx, cfg, tmpl, "IdempotencyTable")
	if err != nil {
		t.Fatal(err)
	}
	return dynamodb.NewFromConfig(cfg), table
}

func newStore(t *testing.T, now *time.Time) *idempotency.Store {
	t.Helper()
	client, table := newTable(t)
	return idempotency.New(client, table, 48*time.Hour, func() time.Time { return *now })
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	deadline := now.Add(4 * time.Second)

	steps := []struct {
		name string
		do   func() error
		want error
	}{
		{"first claim", func() error { return s.Claim(ctx, "k", deadline) }, nil},
		{"concurrent claim while in progress", func() error { return s.Claim(ctx, "k", deadline) }, idempotency.ErrInProgress},
		{"other key unaffected", func() error { return s.Claim(ctx, "other", deadline) }, nil},
		{"complete", func() error { return s.Complete(ctx, "k") }, nil},
		{"claim after completion", func() error { return s.Claim(ctx, "k", deadline) }, idempotency.ErrCompleted},
		{"completed stays completed after the in-progress window", func() error {
			now = now.Add(time.Minute)
			return s.Claim(ctx, "k", now.Add(4*time.Second))
		}, idempotency.ErrCompleted},
		{"completed key forgotten after the keep period", func() error {
			now = now.Add(49 * time.Hour)
			return s.Claim(ctx, "k", now.Add(4*time.Second))
		}, nil},
	}
	for _, st := range steps {
		if err := st.do(); !errors.Is(err, st.want) || (st.want == nil && err != nil) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.want)
		}
	}
}

func TestCrashedClaimLapsesAtItsDeadline(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	if err := s.Claim(ctx, "k", now.Add(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	now = now.Add(3 * time.Second)
	if err := s.Claim(ctx, "k", now.Add(4*time.Second)); !errors.Is(err, idempotency.ErrInProgress) {
		t.Fatalf("before the deadline: %v", err)
	}
	now = now.Add(2 * time.Second)
	if err := s.Claim(ctx, "k", now.Add(4*time.Second)); err != nil {
		t.Fatalf("after the deadline the retry must be able to claim: %v", err)
	}
}

func TestReleaseLetsTheRetryRun(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	if err := s.Claim(ctx, "k", now.Add(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := s.Claim(ctx, "k", now.Add(4*time.Second)); err != nil {
		t.Fatalf("claim after release: %v", err)
	}
}

// lostAnswer sends every PutItem twice and returns the second answer: what the SDK does when the
// first attempt's answer is lost after DynamoDB wrote the item.
type lostAnswer struct{ *dynamodb.Client }

func (c lostAnswer) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if _, err := c.Client.PutItem(ctx, in, opts...); err != nil {
		return nil, err
	}
	return c.Client.PutItem(ctx, in, opts...)
}

func TestRetriedClaimIsStillOurs(t *testing.T) {
	ctx := context.Background()
	client, table := newTable(t)
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	retrying := idempotency.New(lostAnswer{client}, table, 48*time.Hour, func() time.Time { return now })
	plain := idempotency.New(client, table, 48*time.Hour, func() time.Time { return now })
	deadline := now.Add(4 * time.Second)
	if err := retrying.Claim(ctx, "k", deadline); err != nil {
		t.Fatalf("a claim whose first answer was lost: %v, want it taken", err)
	}
	if err := plain.Claim(ctx, "k", deadline); !errors.Is(err, idempotency.ErrInProgress) {
		t.Fatalf("another invocation's claim: %v, want ErrInProgress", err)
	}
	if err := plain.Complete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := retrying.Claim(ctx, "k", deadline); !errors.Is(err, idempotency.ErrCompleted) {
		t.Fatalf("retried claim of a completed key: %v, want ErrCompleted", err)
	}
}

// An invocation whose claim lapsed (it ran past its deadline) and whose work then fails releases
// only its own claim: the invocation that took the lapsed key keeps it.
func TestAReleaseAfterTheClaimLapsedLeavesTheNewOwnersClaim(t *testing.T) {
	ctx := context.Background()
	for _, keys := range [][]string{{"k"}, {"k1", "k2"}} {
		now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
		s := newStore(t, &now)
		late := errors.New("the work failed after the claim lapsed")
		claims := make([]idempotency.Claim, len(keys))
		for i, k := range keys {
			claims[i] = idempotency.Claim{Key: k}
		}
		err := s.DoAll(ctx, claims, nil, now.Add(4*time.Second), func(context.Context) error {
			now = now.Add(5 * time.Second) // past the claim's deadline: another invocation takes the keys
			for _, k := range keys {
				if err := s.Claim(ctx, k, now.Add(4*time.Second)); err != nil {
					t.Fatalf("claiming the lapsed key %s: %v", k, err)
				}
			}
			return late
		})
		if !errors.Is(err, late) {
			t.Fatalf("%v: DoAll returned %v, want the work's error alone", keys, err)
		}
		for _, k := range keys {
			if err := s.Claim(ctx, k, now.Add(4*time.Second)); !errors.Is(err, idempotency.ErrInProgress) {
				t.Errorf("%v: after the lapsed invocation's release, key %s: %v, want the new owner's claim in progress", keys, k, err)
			}
		}
	}
}
