package envconfig

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/amazon-webhook-gateway/gateway/shared/awsconfig"
)

// FromEnv builds a function as it runs in Lambda: its configuration read from the environment by
// read, the AWS SDK configured by awsconfig.Load, the handler built by build.
func FromEnv[C, H any](ctx context.Context, log *slog.Logger, read func() (C, error), build func(aws.Config, C, *slog.Logger) (H, error)) (H, error) {
	var none H
	cfg, err := read()
	if err != nil {
		return none, err
	}
	awsCfg, err := awsconfig.Load(ctx)
	if err != nil {
		return none, err
	}
	return build(awsCfg, cfg, log)
}

// Start builds the function with build and serves Lambda invocations with it (h as lambda.Start
// takes it: a lambda.Handler or a handler func). A configuration error fails the init, so that
// Lambda reports the function as broken instead of taking traffic. The Go runtime's memory limit
// follows the function's memory size (SetMemoryLimit).
func Start[H any](build func(context.Context, *slog.Logger) (H, error)) {
	log := Logger()
	SetMemoryLimit(log)
	h, err := build(context.Background(), log)
	if err != nil {
		log.Error("configuration error", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
