// Command amazon-pay-safelist is the CloudFormation custom resource that safelists the deployed
// IPN URL with Amazon Pay on create and update: safelist.FromEnv, started.
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/safelist"
)

func main() { envconfig.Start(build) }

// build wires the function from its environment, as Lambda runs it (and its tests build it). It
// never fails: a configuration error gives a function that answers every event with it.
func build(ctx context.Context, log *slog.Logger) (cfn.CustomResourceLambdaFunction, error) {
	return safelist.FromEnv(ctx, log), nil
}
