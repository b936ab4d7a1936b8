// Command shipping-otp is the Lambda that receives Amazon Shipping push notifications (OTPs for
// reverse-journey pickups). It reads its configuration, wires the packages and starts.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/amazon-webhook-gateway/gateway/shared/auth"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
	"github.com/amazon-webhook-gateway/gateway/shared/oauth"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: logLevel(os.Getenv("LOG_LEVEL"))}))
	h, err := build(context.Background(), log)
	if err != nil {
		// Failing init makes Lambda report the function as broken instead of accepting traffic.
		log.Error("configuration error", "error", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

func build(ctx context.Context, log *slog.Logger) (*shipping.Handler, error) {
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	table, err := required("OTP_TABLE_NAME")
	if err != nil {
		return nil, err
	}
	idemTable, err := required("IDEMPOTENCY_TABLE_NAME")
	if err != nil {
		return nil, err
	}
	bus, err := required("EVENT_BUS_NAME")
	if err != nil {
		return nil, err
	}
	authenticator, err := buildAuth(awsCfg, log)
	if err != nil {
		return nil, err
	}
	maxBody := shipping.DefaultMaxBodyBytes
	if v := os.Getenv("MAX_BODY_BYTES"); v != "" {
		if maxBody, err = strconv.Atoi(v); err != nil || maxBody <= 0 {
			return nil, fmt.Errorf("MAX_BODY_BYTES: %q is not a positive integer", v)
		}
	}
	db := dynamodb.NewFromConfig(awsCfg)
	return &shipping.Handler{
		Auth:         authenticator,
		OTPs:         otpstore.New(db, table, nil),
		Idempotency:  idempotency.New(db, idemTable, 48*time.Hour, nil),
		Events:       eventbus.New(eventbridge.NewFromConfig(awsCfg), bus, 4, 100*time.Millisecond),
		IncludeOTP:   os.Getenv("INCLUDE_OTP_IN_EVENTS") != "false",
		MaxBodyBytes: maxBody,
		Log:          log,
	}, nil
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
			issuer, err := required("OAUTH_ISSUER")
			if err != nil {
				return nil, err
			}
			v, err := oauth.NewVerifier(oauth.Config{
				Issuer:        issuer,
				JWKSURL:       os.Getenv("OAUTH_JWKS_URL"),
				Audiences:     list(os.Getenv("OAUTH_AUDIENCES")),
				RequiredScope: os.Getenv("OAUTH_REQUIRED_SCOPE"),
			})
			if err != nil {
				return nil, fmt.Errorf("OAuth: %w", err)
			}
			cfg.Tokens = v
		default:
			if cfg.Credentials != nil {
				continue
			}
			secretARN, err := required("AUTH_SECRET_ARN")
			if err != nil {
				return nil, err
			}
			refresh := 5 * time.Minute
			if v := os.Getenv("SECRET_REFRESH_INTERVAL"); v != "" {
				if refresh, err = time.ParseDuration(v); err != nil || refresh <= 0 {
					return nil, fmt.Errorf("SECRET_REFRESH_INTERVAL: %q is not a positive duration", v)
				}
			}
			cfg.Credentials = secrets.NewCache(secretsmanager.NewFromConfig(awsCfg), secretARN, refresh, auth.ParseCredentials)
		}
	}
	log.Info("authentication configured", "modes", fmt.Sprint(modes))
	return auth.New(cfg)
}

func required(name string) (string, error) {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return "", fmt.Errorf("environment variable %s is required", name)
	}
	return v, nil
}

func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func logLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}
