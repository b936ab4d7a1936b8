// Command aps-webhook is the Lambda that receives Amazon Payment Services transaction feedback
// and notification feedback. It reads its configuration, wires the packages and starts.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/amazon-webhook-gateway/gateway/shared/aps"
	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
	"github.com/amazon-webhook-gateway/gateway/shared/awsconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/delivery"
	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
)

func main() {
	log := envconfig.Logger()
	h, err := build(context.Background(), log)
	if err != nil {
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
	deps, err := delivery.FromEnv(awsCfg)
	if err != nil {
		return nil, err
	}
	secretARN, err := envconfig.Required("APS_SECRET_ARN")
	if err != nil {
		return nil, err
	}
	alg, err := apssignature.ParseAlgorithm(os.Getenv("APS_SIGNATURE_ALGORITHM"))
	if err != nil {
		return nil, fmt.Errorf("APS_SIGNATURE_ALGORITHM: %w", err)
	}
	refresh, err := envconfig.Duration("SECRET_REFRESH_INTERVAL", 5*time.Minute)
	if err != nil {
		return nil, err
	}
	maxBody, err := envconfig.PositiveInt("MAX_BODY_BYTES", aps.DefaultMaxBodyBytes)
	if err != nil {
		return nil, err
	}
	includeCard, err := envconfig.Bool("APS_INCLUDE_CARD_FIELDS", false)
	if err != nil {
		return nil, err
	}
	// APS messages carry no timestamp: a captured one stays valid for ever, so its dedupe record
	// is kept for months, not for the 48 h that outlast the other senders' retries.
	retentionDays, err := envconfig.PositiveInt("APS_DEDUPE_RETENTION_DAYS", aps.DefaultDedupeRetentionDays)
	if err != nil {
		return nil, err
	}
	if retentionDays < 2 || retentionDays > 3650 {
		return nil, fmt.Errorf("APS_DEDUPE_RETENTION_DAYS: %d is not between 2 (the 48 h every webhook keeps) and 3650", retentionDays)
	}
	log.Info("APS webhook configured", "algorithm", string(alg), "dedupeRetentionDays", retentionDays)
	h := &aps.Handler{
		Merchant:          secrets.NewCache(secretsmanager.NewFromConfig(awsCfg), secretARN, refresh, aps.MerchantParser(alg)),
		Idempotency:       deps.Once.Keeping(time.Duration(retentionDays) * 24 * time.Hour),
		Events:            deps.Events,
		Quarantine:        &quarantine.Keeper{Store: deps.Quarantine, Webhook: aps.Webhook, Function: os.Getenv("AWS_LAMBDA_FUNCTION_NAME")},
		IncludeCardFields: includeCard,
		MaxBodyBytes:      maxBody,
		Log:               log,
	}
	return quarantine.Entry(deps.Quarantine, aps.Webhook, log, h.Handle), nil
}
