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
	h, region, err := build(context.Background(), log)
	if err != nil {
		log.Error("configuration error", "error", err)
		// Still answer every event: a function that exits never answers, and the stack would wait
		// for the resource's ServiceTimeout. Create and Update fail with the error, Delete succeeds.
		h = safelist.Unconfigured(log, err)
	}
	// LambdaWrap (inside LambdaHandler) always answers CloudFormation (SUCCESS or FAILED).
	lambda.Start(safelist.LambdaHandler(log, region, h))
}

// build returns the custom resource function for the target in the environment (the template sets
// AMAZON_PAY_IPN_ENDPOINT and AMAZON_PAY_SANDBOX from the same values as the resource's
// properties) and the function's region (Lambda sets AWS_REGION). Credentials are read on every event, so a rotated secret
// is used by the next deploy without a redeploy of this function.
func build(ctx context.Context, log *slog.Logger) (cfn.CustomResourceFunction, string, error) {
	region := os.Getenv("AWS_REGION")
	secretARN, err := envconfig.Required("AMAZON_PAY_SECRET_ARN")
	if err != nil {
		return nil, region, err
	}
	endpoint, err := envconfig.Required("AMAZON_PAY_IPN_ENDPOINT")
	if err != nil {
		return nil, region, err
	}
	target, err := safelist.ParseTarget(endpoint, os.Getenv("AMAZON_PAY_SANDBOX"))
	if err != nil {
		return nil, region, fmt.Errorf("AMAZON_PAY_IPN_ENDPOINT or AMAZON_PAY_SANDBOX: %w", err)
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, region, fmt.Errorf("loading AWS configuration: %w", err)
	}
	sm := secretsmanager.NewFromConfig(awsCfg)
	newClient := func(ctx context.Context, host string) (*safelist.Client, error) {
		creds, err := safelist.LoadCredentials(ctx, sm, secretARN)
		if err != nil {
			return nil, err
		}
		return safelist.New(creds, safelist.WithHost(host))
	}
	return safelist.ResourceHandler(log, target, newClient), region, nil
}
