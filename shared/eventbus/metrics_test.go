package eventbus

import (
	"context"
	"errors"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
)

// A delivery's EventsPublished counts the entries PutEvents accepted, and
// PublishRetries the attempts beyond the first of each batch.
func TestPublishCountsAcceptedEntriesAndRetries(t *testing.T) {
	tests := []struct {
		name                     string
		events                   int
		fail                     func(call int, detail string) bool
		err                      error
		wantPublished, wantRetry int64
	}{
		{"all accepted, two batches", 13, nil, nil, 13, 0},
		{"one entry retried once", 3, func(call int, d string) bool { return call == 1 && d == `{"n":1}` }, nil, 3, 1},
		{"one entry never accepted", 2, func(_ int, d string) bool { return d == `{"n":0}` }, nil, 1, 2},
		{"the call fails", 2, nil, errors.New("down"), 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, d := metrics.Start(context.Background())
			_ = New(&script{fail: tc.fail, err: tc.err}, "bus", 3, 0).Publish(ctx, evs(tc.events))
			if got := d.Count(metrics.EventPublished); got != tc.wantPublished {
				t.Errorf("EventsPublished %d, want %d", got, tc.wantPublished)
			}
			if got := d.Count(metrics.PublishRetry); got != tc.wantRetry {
				t.Errorf("PublishRetries %d, want %d", got, tc.wantRetry)
			}
		})
	}
}
