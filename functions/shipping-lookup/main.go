// Command shipping-lookup is the Lambda behind the IAM-authorised lookup routes
// (GET /shipping/otps/{trackingId}, GET /shipping/tracking/{trackingId}): lookup.Config read from
// the environment, lookup.New, started.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/amazon-webhook-gateway/gateway/shared/awsconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/lookup"
)

func main() {
	log := envconfig.Logger()
	envconfig.SetMemoryLimit(log)
	h, err := build(context.Background(), log)
	if err != nil {
		// A configuration error fails the init: Lambda reports the function as broken.
		log.Error("configuration error", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// build wires the function from its environment, as Lambda runs it (and its tests build it).
func build(ctx context.Context, log *slog.Logger) (lookup.LambdaHandler, error) {
	c, err := lookup.ReadConfig()
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	return lookup.New(awsCfg, c, log)
}
