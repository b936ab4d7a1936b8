package pipeline_test

import (
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/delivery"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
)

// A sender's retry that raced a deferred attempt may be processed while the deferred copy waits for
// its re-drive, for as long as the retention: the completed record must outlive that wait and the
// longest sender window, or the re-driven copy is processed a second time. Without deferral the
// function's own keeping stands.
func TestIdempotencyRecordsOutliveEveryRedrive(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    pipeline.Settings
		want time.Duration
	}{
		{"no deferral: the store's default", pipeline.Settings{}, 0},
		{"no deferral: the function's own keeping", pipeline.Settings{KeepCompleted: 400 * 24 * time.Hour}, 400 * 24 * time.Hour},
		{"the default retention of 72 h", pipeline.Settings{DeferredRetention: 72 * time.Hour}, 96 * time.Hour},
		{"a short retention: never below the store's 48 h", pipeline.Settings{DeferredRetention: time.Hour}, delivery.KeepCompleted},
		{"the longest retention", pipeline.Settings{DeferredRetention: 336 * time.Hour}, 360 * time.Hour},
		{"a function keeping longer than the retention needs", pipeline.Settings{DeferredRetention: 72 * time.Hour, KeepCompleted: 30 * 24 * time.Hour}, 30 * 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := pipeline.KeepCompleted(tc.s)
			if got != tc.want {
				t.Errorf("KeepCompleted = %v, want %v", got, tc.want)
			}
			if r := tc.s.DeferredRetention; r > 0 && got < r+pipeline.LongestSenderWindow {
				t.Errorf("kept %v: a copy re-driven after %v, raced by a retry up to %v earlier, is processed twice", got, r, pipeline.LongestSenderWindow)
			}
		})
	}
}
