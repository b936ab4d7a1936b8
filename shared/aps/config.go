package aps

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
)

// Config is the aps-webhook function's configuration (template.yaml, ApsFunction).
type Config struct {
	pipeline.Settings
	// Secret holds the merchant's phrase sets (MerchantParser).
	Secret secrets.Setting
	// Algorithm is that of the phrase sets that name none.
	Algorithm         apssignature.Algorithm
	IncludeCardFields bool
	// DetailTypesByCommand: APS_DETAIL_TYPES_BY_COMMAND (ApsDetailTypesByCommand).
	DetailTypesByCommand bool
	// DedupeRetentionDays is how long a message's dedupe record is kept (Settings.KeepCompleted).
	DedupeRetentionDays int
}

// ReadConfig reads the function's environment; its errors name the variable.
func ReadConfig() (Config, error) {
	s, err := pipeline.ReadSettings(DefaultMaxBodyBytes, DeferByDefault)
	if err != nil {
		return Config{}, err
	}
	c := Config{Settings: s}
	if c.Secret, err = pipeline.ReadSecretSetting("APS_SECRET_ARN"); err != nil {
		return Config{}, err
	}
	if c.Algorithm, err = apssignature.ParseAlgorithm(os.Getenv("APS_SIGNATURE_ALGORITHM")); err != nil {
		return Config{}, fmt.Errorf("APS_SIGNATURE_ALGORITHM: %w", err)
	}
	if c.IncludeCardFields, err = envconfig.Bool("APS_INCLUDE_CARD_FIELDS", false); err != nil {
		return Config{}, err
	}
	if c.DetailTypesByCommand, err = envconfig.Bool("APS_DETAIL_TYPES_BY_COMMAND", false); err != nil {
		return Config{}, err
	}
	// APS messages carry no timestamp: a captured one stays valid for ever, so its dedupe record
	// is kept for months, not for the 48 h that outlast the other senders' retries.
	if c.DedupeRetentionDays, err = envconfig.PositiveInt("APS_DEDUPE_RETENTION_DAYS", DefaultDedupeRetentionDays); err != nil {
		return Config{}, err
	}
	if c.DedupeRetentionDays < 2 || c.DedupeRetentionDays > 3650 {
		return Config{}, fmt.Errorf("APS_DEDUPE_RETENTION_DAYS: %d is not between 2 (the 48 h every webhook keeps) and 3650", c.DedupeRetentionDays)
	}
	return c, nil
}

// New builds the function's Lambda handler on awsCfg.
func New(awsCfg aws.Config, c Config, log *slog.Logger) (pipeline.LambdaHandler, error) {
	log.Info("APS webhook configured", "algorithm", string(c.Algorithm), "dedupeRetentionDays", c.DedupeRetentionDays, "detailTypesByCommand", c.DetailTypesByCommand)
	s := c.Settings
	s.KeepCompleted = time.Duration(c.DedupeRetentionDays) * 24 * time.Hour
	steps := &Steps{
		Merchant:             secrets.Open(awsCfg, c.Secret, MerchantParser(c.Algorithm)),
		IncludeCardFields:    c.IncludeCardFields,
		DetailTypesByCommand: c.DetailTypesByCommand,
	}
	return pipeline.Build(awsCfg, s, Webhook, steps, log), nil
}
