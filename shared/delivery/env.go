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

// KeepCompleted outlasts every sender's retries (Amazon Shipping: 24 h; SNS and APS: minutes); a
// function that defers keeps its records longer (pipeline.KeepCompleted).
const KeepCompleted = 48 * time.Hour

// Deps is what every webhook function runs a delivery through after authentication.
type Deps struct {
	Once       *idempotency.Store
	Events     *eventbus.Publisher
	Quarantine *quarantine.Store
}

// Resources names what Deps are built on.
type Resources struct {
	IdempotencyTable string
	EventBus         string
	// PayloadBucket holds quarantined deliveries and the full detail of oversized events.
	PayloadBucket string
}

// ReadResources reads IDEMPOTENCY_TABLE_NAME, EVENT_BUS_NAME and PAYLOAD_BUCKET.
func ReadResources() (Resources, error) {
	var r Resources
	var err error
	if r.IdempotencyTable, err = envconfig.Required("IDEMPOTENCY_TABLE_NAME"); err != nil {
		return Resources{}, err
	}
	if r.EventBus, err = envconfig.Required("EVENT_BUS_NAME"); err != nil {
		return Resources{}, err
	}
	if r.PayloadBucket, err = envconfig.Required("PAYLOAD_BUCKET"); err != nil {
		return Resources{}, err
	}
	return r, nil
}

// New builds Deps on r.
func New(awsCfg aws.Config, r Resources) Deps {
	objects := Objects(awsCfg)
	return Deps{
		Once: idempotency.New(dynamodb.NewFromConfig(awsCfg), r.IdempotencyTable, KeepCompleted, nil),
		// Four attempts with 100 ms jittered backoff stay well inside the 4 s function timeout.
		Events: eventbus.New(eventbridge.NewFromConfig(awsCfg), r.EventBus, 4, 100*time.Millisecond).
			OffloadTo(eventbus.S3Payloads{Client: objects, Bucket: r.PayloadBucket}),
		Quarantine: quarantine.New(objects, r.PayloadBucket),
	}
}

// Objects is the S3 client for the payload bucket (quarantine.Objects).
func Objects(awsCfg aws.Config, optFns ...func(*s3.Options)) *s3.Client {
	return quarantine.Objects(awsCfg, optFns...)
}
