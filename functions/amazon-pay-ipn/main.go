// Command amazon-pay-ipn is the Lambda that receives Amazon Pay Instant Payment Notifications
// (Amazon SNS HTTP(S) messages): amazonpay.Config read from the environment, amazonpay.New, started.
package main

import (
	"context"
	"log/slog"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpay"
	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
)

func main() { envconfig.Start(build) }

// build wires the function from its environment, as Lambda runs it (and its tests build it).
func build(ctx context.Context, log *slog.Logger) (pipeline.LambdaHandler, error) {
	return envconfig.FromEnv(ctx, log, amazonpay.ReadConfig, amazonpay.New)
}
