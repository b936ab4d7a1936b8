// Command amazon-pay-safelist is the CloudFormation custom resource that safelists the deployed
// IPN URL with Amazon Pay on create and update. It reads its configuration and starts.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/safelist"
)

func main() {
	log := envconfig.Logger()
	envconfig.SetMemoryLimit(log)
	// LambdaWrap (inside LambdaHandler) always answers CloudFormation (SUCCESS or FAILED). Lambda
	// sets AWS_REGION, the region of the stack and so of its response bucket.
	lambda.Start(safelist.LambdaHandler(log, os.Getenv("AWS_REGION"), handler(context.Background(), log)))
}

// handler is the custom resource function. On a configuration error it still answers every event
// (Create and Update fail with the error, Delete succeeds): a function that exits never answers,
// and the stack would wait for the resource's ServiceTimeout.
func handler(ctx context.Context, log *slog.Logger) cfn.CustomResourceFunction {
	target, newClient, err := build(ctx)
	if err != nil {
		log.Error("configuration error", "error", err)
		return safelist.Unconfigured(log, err)
	}
	return safelist.ResourceHandler(log, target, newClient)
}

// build reads the target from the environment (the template sets AMAZON_PAY_IPN_ENDPOINT and
// AMAZON_PAY_SANDBOX from the same values as the resource's properties) and returns the client
// factory. Credentials are read on every event, so a rotated secret is used by the next deploy
// without a redeploy of this function.
func build(ctx context.Context) (safelist.Target, func(context.Context, string) (*safelist.Client, error), error) {
	secretARN, err := envconfig.Required("AMAZON_PAY_SECRET_ARN")
	if err != nil {
		return safelist.Target{}, nil, err
	}
	endpoint, err := envconfig.Required("AMAZON_PAY_IPN_ENDPOINT")
	if err != nil {
		return safelist.Target{}, nil, err
	}
	target, err := safelist.ParseTarget(endpoint, os.Getenv("AMAZON_PAY_SANDBOX"))
	if err != nil {
		return safelist.Target{}, nil, fmt.Errorf("AMAZON_PAY_IPN_ENDPOINT or AMAZON_PAY_SANDBOX: %w", err)
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return safelist.Target{}, nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	sm := secretsmanager.NewFromConfig(awsCfg)
	return target, func(ctx context.Context, host string) (*safelist.Client, error) {
		creds, err := safelist.LoadCredentials(ctx, sm, secretARN)
		if err != nil {
			return nil, err
		}
		return safelist.New(creds, safelist.WithHost(host))
	}, nil
}
