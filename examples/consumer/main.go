// Command consumer is the example consumer's Lambda (template.yaml beside it): it reads the
// gateway's events from its SQS queue, once per idempotency key, and acts on them.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/amazon-webhook-gateway/gateway/examples/consumer/consumer"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("loading the AWS configuration", "error", err)
		os.Exit(1)
	}
	h := &consumer.Handler{
		DB: dynamodb.NewFromConfig(cfg), Table: os.Getenv("DEDUPE_TABLE_NAME"),
		Remember: 72 * time.Hour, InProgressFor: time.Minute, // the queue's visibility timeout
		Actions: consumer.Actions{
			// Replace these with what your team does. Never log the code itself.
			OTPGenerated: func(ctx context.Context, e consumer.Event[consumer.OTPGenerated]) error {
				log.Info("OTP to hand to the courier", "trackingId", e.Detail.Data.TrackingID, "codeIncluded", e.Detail.Data.VerificationCodeIncluded)
				return nil
			},
			ChargeChanged: func(ctx context.Context, e consumer.Event[consumer.ChargeChanged]) error {
				log.Info("charge changed", "chargeId", e.Detail.Data.ObjectID, "enrichment", e.Detail.Data.Enrichment.Status)
				return nil
			},
		},
		Log: log, Now: time.Now,
	}
	lambda.Start(h.Handle)
}
