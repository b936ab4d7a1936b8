package idempotency_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
)

// A webhook whose messages never expire keeps its records longer on the same table (so that a
// late redelivery is still a duplicate), and the stored expiry is what counts, whichever store
// reads it.
func TestKeepingOutlastsTheDefaultRetention(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	short := newStore(t, &now)
	long := short.Keeping(400 * 24 * time.Hour)
	for _, s := range []*idempotency.Store{short, long} {
		key := map[*idempotency.Store]string{short: "short", long: "long"}[s]
		if err := s.Do(ctx, key, now.Add(4*time.Second), func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		after      time.Duration
		key        string
		wantExists bool
	}{
		{49 * time.Hour, "short", false},
		{49 * time.Hour, "long", true},
		{399 * 24 * time.Hour, "long", true},
		{401 * 24 * time.Hour, "long", false},
	}
	start := now
	for _, st := range steps {
		now = start.Add(st.after)
		// Read through the short store: the record's own expiry decides.
		err := short.Claim(ctx, st.key, now.Add(4*time.Second))
		if got := errors.Is(err, idempotency.ErrCompleted); got != st.wantExists || (!got && err != nil) {
			t.Fatalf("%s after %s: err = %v, want completed = %v", st.key, st.after, err, st.wantExists)
		}
		if err == nil {
			_ = short.Release(ctx, st.key)
		}
	}
}
