// Package awsconfig loads the AWS SDK configuration of the webhook functions: the default chain,
// with retries and timeouts sized for a function that must answer its sender within seconds.
package awsconfig

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
)

const (
	// MaxAttempts per AWS call. With AttemptTimeout and the backoff below, the worst case stays
	// inside a webhook function's budget; the handler's deadline cuts anything longer.
	MaxAttempts = 4
	// AttemptTimeout bounds one attempt: DynamoDB, EventBridge and S3 answer in milliseconds, so
	// a hung connection is abandoned and retried instead of eating the whole budget.
	AttemptTimeout = 1 * time.Second
	baseBackoff    = 25 * time.Millisecond
	maxBackoff     = 300 * time.Millisecond
)

// Load returns the default configuration with Apply's retries and timeouts.
func Load(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	return Apply(cfg), nil
}

// Apply sets, on a copy of cfg, bounded retries with full-jitter backoff for throttling, 5xx and
// connection errors, and a timeout per attempt.
func Apply(cfg aws.Config) aws.Config {
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = MaxAttempts
			o.MaxBackoff = maxBackoff
			o.Backoff = FullJitter{Base: baseBackoff, Max: maxBackoff}
		})
	}
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTimeout(AttemptTimeout)
	return cfg
}

// FullJitter waits a uniformly random time up to min(Max, Base·2^attempt): retries from many
// concurrent invocations spread out instead of arriving together.
type FullJitter struct{ Base, Max time.Duration }

// BackoffDelay implements retry.BackoffDelayer.
func (j FullJitter) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	ceiling := j.Max
	if attempt < 16 {
		ceiling = min(j.Max, j.Base<<attempt)
	}
	if ceiling <= 0 {
		return 0, nil
	}
	return rand.N(ceiling) + 1, nil
}
