package pipeline

import (
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/amazon-webhook-gateway/gateway/shared/delivery"
	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
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
	// Metrics receives one EMF line per delivery: the function's stdout, beside its log lines,
	// where CloudWatch Logs extracts the metrics. nil writes none.
	Metrics io.Writer
}

// ReadSettings reads IDEMPOTENCY_TABLE_NAME, EVENT_BUS_NAME, PAYLOAD_BUCKET, MAX_BODY_BYTES
// (maxBody when unset) and AWS_LAMBDA_FUNCTION_NAME; metrics go to stdout.
func ReadSettings(maxBody int) (Settings, error) {
	r, err := delivery.ReadResources()
	if err != nil {
		return Settings{}, err
	}
	s := Settings{Resources: r, Function: os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), Metrics: os.Stdout}
	if s.MaxBodyBytes, err = envconfig.PositiveInt("MAX_BODY_BYTES", maxBody); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// Build returns webhook's Lambda handler on the AWS resources s names.
func Build[M any](awsCfg aws.Config, s Settings, webhook string, steps Webhook[M], log *slog.Logger) LambdaHandler {
	deps := delivery.New(awsCfg, s.Resources)
	once := deps.Once
	if s.KeepCompleted > 0 {
		once = once.Keeping(s.KeepCompleted)
	}
	return New(webhook, steps, Deps{
		Once:   once,
		Events: deps.Events,
		Quarantine: &quarantine.Keeper{
			Store: deps.Quarantine, Webhook: webhook, Function: s.Function,
			SecretHeaders: s.SecretHeaders, SecretQuery: s.SecretQuery,
		},
		Records:      deps.Quarantine,
		MaxBodyBytes: s.MaxBodyBytes,
		Log:          log,
		Metrics:      s.Metrics,
	})
}
