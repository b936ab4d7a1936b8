package delivery

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
)

// keepCompleted outlasts every sender's retries (Amazon Shipping: 24 h; SNS and APS: minutes).
const keepCompleted = 48 * time.Hour

// Deps is what every webhook function runs a delivery through after authentication.
type Deps struct {
	Once       *idempotency.Store
	Events     *eventbus.Publisher
	Quarantine *quarantine.Store
}

// FromEnv builds Deps from IDEMPOTENCY_TABLE_NAME, EVENT_BUS_NAME and PAYLOAD_BUCKET (quarantined
// deliveries and the full detail of oversized events).
func FromEnv(awsCfg aws.Config) (Deps, error) {
	var d Deps
	table, err := envconfig.Required("IDEMPOTENCY_TABLE_NAME")
	if err != nil {
		return d, err
	}
	bus, err := envconfig.Required("EVENT_BUS_NAME")
	if err != nil {
		return d, err
	}
	bucket, err := envconfig.Required("PAYLOAD_BUCKET")
	if err != nil {
		return d, err
	}
	// Path-style addressing works for the bucket's name (no dots) in AWS and in local emulators.
	objects := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
	d.Once = idempotency.New(dynamodb.NewFromConfig(awsCfg), table, keepCompleted, nil)
	// Four attempts with 100 ms jittered backoff stay well inside the 4 s function timeout.
	d.Events = eventbus.New(eventbridge.NewFromConfig(awsCfg), bus, 4, 100*time.Millisecond).
		OffloadTo(eventbus.S3Payloads{Client: objects, Bucket: bucket})
	d.Quarantine = quarantine.New(objects, bucket)
	return d, nil
}
