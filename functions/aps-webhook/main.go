// Command aps-webhook is the Lambda that receives Amazon Payment Services transaction feedback
// and notification feedback: aps.Config read from the environment, aps.New, started.
package main

import (
	"context"
	"log/slog"

	"github.com/amazon-webhook-gateway/gateway/shared/aps"
	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
)

func main() { envconfig.Start(build) }

// build wires the function from its environment, as Lambda runs it (and its tests build it).
func build(ctx context.Context, log *slog.Logger) (pipeline.LambdaHandler, error) {
	return envconfig.FromEnv(ctx, log, aps.ReadConfig, aps.New)
}
