package delivery

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
)

// keepCompleted outlasts every sender's retries (Amazon Shipping: 24 h; SNS and APS: minutes).
const keepCompleted = 48 * time.Hour

// FromEnv builds what every webhook function runs a delivery through after authentication: the
// idempotency store (IDEMPOTENCY_TABLE_NAME) and the event publisher (EVENT_BUS_NAME).
func FromEnv(awsCfg aws.Config) (*idempotency.Store, *eventbus.Publisher, error) {
	table, err := envconfig.Required("IDEMPOTENCY_TABLE_NAME")
	if err != nil {
		return nil, nil, err
	}
	bus, err := envconfig.Required("EVENT_BUS_NAME")
	if err != nil {
		return nil, nil, err
	}
	// Four attempts with 100 ms jittered backoff stay well inside the 4 s function timeout.
	return idempotency.New(dynamodb.NewFromConfig(awsCfg), table, keepCompleted, nil),
		eventbus.New(eventbridge.NewFromConfig(awsCfg), bus, 4, 100*time.Millisecond), nil
}
