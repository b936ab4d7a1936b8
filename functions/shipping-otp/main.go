// Command shipping-otp is the Lambda that receives Amazon Shipping push notifications (OTPs for
// reverse-journey pickups): shipping.Config read from the environment, shipping.New, started.
package main

import (
	"context"
	"log/slog"

	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
)

func main() { envconfig.Start(build) }

// build wires the function from its environment, as Lambda runs it (and its tests build it).
func build(ctx context.Context, log *slog.Logger) (pipeline.LambdaHandler, error) {
	return envconfig.FromEnv(ctx, log, shipping.ReadConfig, shipping.New)
}
