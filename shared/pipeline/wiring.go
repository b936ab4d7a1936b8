package pipeline

import (
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/amazon-webhook-gateway/gateway/shared/delivery"
	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
)

// Settings is the configuration every webhook function shares.
type Settings struct {
	delivery.Resources
	// Function is the Lambda function's name, for quarantine records.
	Function     string
	MaxBodyBytes int
	// KeepCompleted, when set, is how long a done delivery's idempotency record is kept instead
	// of the 48 h that outlast every sender's retries.
	KeepCompleted time.Duration
	// SecretHeaders and SecretQuery name credentials a quarantine record must not keep (see
	// quarantine.Keeper).
	SecretHeaders, SecretQuery []string
	// Metrics receives one record per delivery, its EMF metrics and its "delivery answered" log
	// line: the function's stdout, beside its other log lines, where CloudWatch Logs extracts the
	// metrics. nil writes none.
	Metrics io.Writer
	// DeferWhenUnavailable keeps a valid delivery that cannot complete for a dependency's failure
	// under deferred/ and answers 202 "deferred" (Deps.Defer).
	DeferWhenUnavailable bool
	// DeferredRetention, RedriveBackoff, RedriveMaxBackoff and RedriveQueueURL configure the
	// re-drive of deferred deliveries (Redrive).
	DeferredRetention, RedriveBackoff, RedriveMaxBackoff time.Duration
	RedriveQueueURL                                      string
}

// Defaults of the re-drive settings, as template.yaml's parameters have them.
const (
	DefaultDeferredRetention = 72 * time.Hour
	DefaultRedriveBackoff    = 30 * time.Second
	DefaultRedriveMaxBackoff = 15 * time.Minute
)

// ReadSettings reads IDEMPOTENCY_TABLE_NAME, EVENT_BUS_NAME, PAYLOAD_BUCKET, MAX_BODY_BYTES
// (maxBody when unset), AWS_LAMBDA_FUNCTION_NAME, DEFER_WHEN_UNAVAILABLE (deferByDefault when
// unset), DEFERRED_RETENTION, REDRIVE_BACKOFF, REDRIVE_MAX_BACKOFF and REDRIVE_QUEUE_URL; metrics
// go to stdout.
func ReadSettings(maxBody int, deferByDefault bool) (Settings, error) {
	r, err := delivery.ReadResources()
	if err != nil {
		return Settings{}, err
	}
	s := Settings{Resources: r, Function: os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), Metrics: os.Stdout, RedriveQueueURL: os.Getenv("REDRIVE_QUEUE_URL")}
	if s.MaxBodyBytes, err = envconfig.PositiveInt("MAX_BODY_BYTES", maxBody); err != nil {
		return Settings{}, err
	}
	if s.DeferWhenUnavailable, err = envconfig.Bool("DEFER_WHEN_UNAVAILABLE", deferByDefault); err != nil {
		return Settings{}, err
	}
	for _, d := range []struct {
		name string
		to   *time.Duration
		def  time.Duration
	}{
		{"DEFERRED_RETENTION", &s.DeferredRetention, DefaultDeferredRetention},
		{"REDRIVE_BACKOFF", &s.RedriveBackoff, DefaultRedriveBackoff},
		{"REDRIVE_MAX_BACKOFF", &s.RedriveMaxBackoff, DefaultRedriveMaxBackoff},
	} {
		if *d.to, err = envconfig.Duration(d.name, d.def); err != nil {
			return Settings{}, err
		}
	}
	return s, nil
}

// ReadSecretSetting reads a webhook secret's ARN from the variable arnVar, and how often it is
// refetched from SECRET_REFRESH_INTERVAL (default 5m).
func ReadSecretSetting(arnVar string) (secrets.Setting, error) {
	arn, err := envconfig.Required(arnVar)
	if err != nil {
		return secrets.Setting{}, err
	}
	refresh, err := envconfig.Duration("SECRET_REFRESH_INTERVAL", 5*time.Minute)
	if err != nil {
		return secrets.Setting{}, err
	}
	return secrets.Setting{ARN: arn, Refresh: refresh}, nil
}

// LongestSenderWindow is the longest time an Amazon sender retries a delivery: Amazon Shipping's
// 24 hours (SNS and APS: minutes).
const LongestSenderWindow = 24 * time.Hour

// KeepCompleted is how long a done delivery's idempotency record is kept: s.KeepCompleted (0:
// the store's 48 h), but never less than a deferred copy can wait for its re-drive plus the
// longest sender window. A sender's retry that raced a deferred attempt may be processed while the
// deferred copy waits (re-drive paused, or failing) for up to the retention; the record must
// still be there when the copy is re-driven, or the delivery is processed twice.
func KeepCompleted(s Settings) time.Duration {
	if s.DeferredRetention <= 0 {
		return s.KeepCompleted
	}
	return max(s.KeepCompleted, s.DeferredRetention+LongestSenderWindow, delivery.KeepCompleted)
}

// Build returns webhook's Lambda handler on the AWS resources s names.
func Build[M any](awsCfg aws.Config, s Settings, webhook string, steps Webhook[M], log *slog.Logger) LambdaHandler {
	deps := delivery.New(awsCfg, s.Resources)
	once := deps.Once
	if keep := KeepCompleted(s); keep > 0 {
		once = once.Keeping(keep)
	}
	keeper := func(place string) *quarantine.Keeper {
		return &quarantine.Keeper{
			Store: deps.Quarantine, Webhook: webhook, Function: s.Function, Place: place,
			SecretHeaders: s.SecretHeaders, SecretQuery: s.SecretQuery,
		}
	}
	d := Deps{
		Once:       once,
		Events:     deps.Events,
		Quarantine: keeper(quarantine.Prefix),
		Records:    deps.Quarantine,
		Redrive: Redrive{
			Store: deps.Quarantine, Retention: s.DeferredRetention,
			Backoff: s.RedriveBackoff, MaxBackoff: s.RedriveMaxBackoff,
		},
		MaxBodyBytes: s.MaxBodyBytes,
		Log:          log,
		Metrics:      s.Metrics,
	}
	if s.DeferWhenUnavailable {
		d.Defer = keeper(quarantine.DeferredPrefix)
	}
	if s.RedriveQueueURL != "" {
		d.Redrive.Queue, d.Redrive.QueueURL = sqs.NewFromConfig(awsCfg), s.RedriveQueueURL
	}
	return New(webhook, steps, d)
}
