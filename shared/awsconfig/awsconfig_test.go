package awsconfig

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"testing"
	"time"
)

func TestFullJitterStaysWithinItsCeiling(t *testing.T) {
	j := FullJitter{Base: 25 * time.Millisecond, Max: 300 * time.Millisecond}
	tests := []struct {
		attempt int
		ceiling time.Duration
	}{
		{1, 50 * time.Millisecond},
		{2, 100 * time.Millisecond},
		{3, 200 * time.Millisecond},
		{4, 300 * time.Millisecond},
		{40, 300 * time.Millisecond},
	}
	for _, tc := range tests {
		seen := map[time.Duration]bool{}
		for range 200 {
			d, err := j.BackoffDelay(tc.attempt, nil)
			if err != nil || d <= 0 || d > tc.ceiling {
				t.Fatalf("attempt %d: delay %v (err %v), want in (0, %v]", tc.attempt, d, err, tc.ceiling)
			}
			seen[d] = true
		}
		if len(seen) < 50 {
			t.Errorf("attempt %d: only %d distinct delays in 200: not jittered", tc.attempt, len(seen))
		}
	}
}

func TestApplyBoundsAttempts(t *testing.T) {
	cfg := Apply(awsConfig())
	if got := cfg.Retryer().MaxAttempts(); got != MaxAttempts {
		t.Errorf("MaxAttempts = %d, want %d", got, MaxAttempts)
	}
	if cfg.HTTPClient == nil {
		t.Error("no HTTP client with an attempt timeout")
	}
}

func awsConfig() aws.Config { return aws.Config{Region: "eu-west-1"} }
