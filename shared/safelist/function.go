package safelist

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
)

// Config is the custom resource function's configuration, read from its environment.
type Config struct {
	// SecretARN names the secret holding the merchant's keys (ParseCredentials).
	SecretARN string
	// Target is what the deployment safelists.
	Target Target
}

// ReadConfig reads AMAZON_PAY_SECRET_ARN, AMAZON_PAY_IPN_ENDPOINT and AMAZON_PAY_SANDBOX. The
// template sets the latter two from the same values as the resource's properties, so the Target
// is the deployment's and no invocation can choose it.
func ReadConfig() (Config, error) {
	secretARN, err := envconfig.Required("AMAZON_PAY_SECRET_ARN")
	if err != nil {
		return Config{}, err
	}
	endpoint, err := envconfig.Required("AMAZON_PAY_IPN_ENDPOINT")
	if err != nil {
		return Config{}, err
	}
	target, err := ParseTarget(endpoint, os.Getenv("AMAZON_PAY_SANDBOX"))
	if err != nil {
		return Config{}, fmt.Errorf("AMAZON_PAY_IPN_ENDPOINT or AMAZON_PAY_SANDBOX: %w", err)
	}
	return Config{SecretARN: secretARN, Target: target}, nil
}

// ClientFactory is ResourceHandler's newClient for the merchant whose keys secretARN holds: the
// secret is read on every call, so a rotated secret is used by the next deploy without a redeploy
// of the function. A secret that cannot be read or is incomplete fails the event, not the start.
func ClientFactory(sm secrets.Getter, secretARN string) func(context.Context, string) (*Client, error) {
	return func(ctx context.Context, host string) (*Client, error) {
		creds, err := LoadCredentials(ctx, sm, secretARN)
		if err != nil {
			return nil, err
		}
		return New(creds, WithHost(host))
	}
}

// FromEnv is the function as Lambda runs it: ResourceHandler for the Config read from the
// environment, wrapped by LambdaHandler for the function's region (AWS_REGION, which Lambda sets:
// the region of the stack and so of its response bucket). LambdaWrap, inside LambdaHandler, always
// answers CloudFormation (SUCCESS or FAILED).
//
// On a configuration error it still answers every event (Create and Update fail with the error,
// Delete succeeds; Unconfigured): a function that exits never answers, and the stack would wait
// for the resource's ServiceTimeout.
func FromEnv(ctx context.Context, log *slog.Logger) cfn.CustomResourceLambdaFunction {
	return LambdaHandler(log, os.Getenv("AWS_REGION"), resourceFromEnv(ctx, log))
}

// resourceFromEnv is the custom resource function FromEnv wraps.
func resourceFromEnv(ctx context.Context, log *slog.Logger) cfn.CustomResourceFunction {
	cfg, newClient, err := configure(ctx)
	if err != nil {
		log.Error("configuration error", "error", err)
		return Unconfigured(log, err)
	}
	return ResourceHandler(log, cfg.Target, newClient)
}

// configure reads the Config and loads the AWS configuration the client factory reads the
// secret with.
func configure(ctx context.Context) (Config, func(context.Context, string) (*Client, error), error) {
	cfg, err := ReadConfig()
	if err != nil {
		return Config{}, nil, err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return Config{}, nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	return cfg, ClientFactory(secretsmanager.NewFromConfig(awsCfg), cfg.SecretARN), nil
}
