// Command shipping-lookup is the Lambda behind the IAM-authorised lookup routes
// (GET /shipping/otps/{trackingId}, GET /shipping/tracking/{trackingId}, and per account
// GET /shipping/accounts/{account}/…): lookup.Config read from the environment, lookup.New, started.
package main

import (
	"context"
	"log/slog"

	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/lookup"
)

func main() { envconfig.Start(build) }

// build wires the function from its environment, as Lambda runs it (and its tests build it).
func build(ctx context.Context, log *slog.Logger) (lookup.LambdaHandler, error) {
	return envconfig.FromEnv(ctx, log, lookup.ReadConfig, lookup.New)
}
