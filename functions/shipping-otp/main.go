// Command shipping-otp is the Lambda that receives Amazon Shipping push notifications (OTPs for
// reverse-journey pickups). It reads its configuration, wires the packages and starts.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/amazon-webhook-gateway/gateway/shared/auth"
	"github.com/amazon-webhook-gateway/gateway/shared/awsconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/delivery"
	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/oauth"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
)

func main() {
	log := envconfig.Logger()
	h, err := build(context.Background(), log)
	if err != nil {
		// Failing init makes Lambda report the function as broken instead of accepting traffic.
		log.Error("configuration error", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

func build(ctx context.Context, log *slog.Logger) (quarantine.LambdaHandler, error) {
	awsCfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	table, err := envconfig.Required("OTP_TABLE_NAME")
	if err != nil {
		return nil, err
	}
	deps, err := delivery.FromEnv(awsCfg)
	if err != nil {
		return nil, err
	}
	authenticator, err := buildAuth(awsCfg, log)
	if err != nil {
		return nil, err
	}
	maxBody, err := envconfig.PositiveInt("MAX_BODY_BYTES", shipping.DefaultMaxBodyBytes)
	if err != nil {
		return nil, err
	}
	includeOTP, err := envconfig.Bool("INCLUDE_OTP_IN_EVENTS", true)
	if err != nil {
		return nil, err
	}
	// The credential names are configurable, so the quarantine's redaction must be told them.
	secretHeaders, secretQuery := authenticator.CredentialNames()
	h := &shipping.Handler{
		Auth:        authenticator,
		OTPs:        otpstore.New(dynamodb.NewFromConfig(awsCfg), table, nil),
		Idempotency: deps.Once,
		Events:      deps.Events,
		Quarantine: &quarantine.Keeper{
			Store:         deps.Quarantine,
			Webhook:       shipping.Webhook,
			Function:      os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
			SecretHeaders: secretHeaders,
			SecretQuery:   secretQuery,
		},
		IncludeOTP:   includeOTP,
		MaxBodyBytes: maxBody,
		Log:          log,
	}
	return quarantine.Entry(deps.Quarantine, shipping.Webhook, log, h.Handle), nil
}

func buildAuth(awsCfg aws.Config, log *slog.Logger) (*auth.Authenticator, error) {
	modes, err := auth.ParseModes(os.Getenv("AUTH_MODES"))
	if err != nil {
		return nil, fmt.Errorf("AUTH_MODES: %w", err)
	}
	cfg := auth.Config{Modes: modes, APIKeyHeader: os.Getenv("API_KEY_HEADER"), QueryParam: os.Getenv("QUERY_PARAM_NAME")}
	for _, m := range modes {
		switch m {
		case auth.ModeOAuth:
			if cfg.Tokens != nil {
				continue
			}
			issuer, err := envconfig.Required("OAUTH_ISSUER")
			if err != nil {
				return nil, err
			}
			lifetime, err := envconfig.Duration("OAUTH_MAX_TOKEN_LIFETIME", 0)
			if err != nil {
				return nil, err
			}
			v, err := oauth.NewVerifier(oauth.Config{
				Issuer:        issuer,
				JWKSURL:       os.Getenv("OAUTH_JWKS_URL"),
				Audiences:     envconfig.List("OAUTH_AUDIENCES"),
				RequiredScope: os.Getenv("OAUTH_REQUIRED_SCOPE"),
				MaxLifetime:   lifetime,
			})
			if err != nil {
				return nil, fmt.Errorf("OAuth: %w", err)
			}
			cfg.Tokens = v
		default:
			if cfg.Credentials != nil {
				continue
			}
			secretARN, err := envconfig.Required("AUTH_SECRET_ARN")
			if err != nil {
				return nil, err
			}
			refresh, err := envconfig.Duration("SECRET_REFRESH_INTERVAL", 5*time.Minute)
			if err != nil {
				return nil, err
			}
			cfg.Credentials = secrets.NewCache(secretsmanager.NewFromConfig(awsCfg), secretARN, refresh, auth.ParseCredentials)
		}
	}
	log.Info("authentication configured", "modes", fmt.Sprint(modes))
	return auth.New(cfg)
}
