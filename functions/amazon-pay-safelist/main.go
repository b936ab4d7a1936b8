// Command amazon-pay-safelist is the CloudFormation custom resource that safelists the deployed
// IPN URL with Amazon Pay on create and update. It reads its configuration and starts.
package main

import (
	"context"
	"fmt"
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
	newClient, err := build(context.Background())
	if err != nil {
		log.Error("configuration error", "error", err)
		os.Exit(1)
	}
	// LambdaWrap always answers CloudFormation (SUCCESS or FAILED), so a stack never hangs.
	lambda.Start(cfn.LambdaWrap(safelist.ResourceHandler(newClient)))
}

// build returns the client factory: credentials are read on every event, so a rotated secret is
// used by the next deploy without a redeploy of this function.
func build(ctx context.Context) (func(context.Context, map[string]any) (*safelist.Client, error), error) {
	secretARN, err := envconfig.Required("AMAZON_PAY_SECRET_ARN")
	if err != nil {
		return nil, err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	sm := secretsmanager.NewFromConfig(awsCfg)
	return func(ctx context.Context, props map[string]any) (*safelist.Client, error) {
		host, err := safelist.HostFromProps(props)
		if err != nil {
			return nil, err
		}
		creds, err := safelist.LoadCredentials(ctx, sm, secretARN)
		if err != nil {
			return nil, err
		}
		return safelist.New(creds, safelist.WithHost(host))
	}, nil
}
