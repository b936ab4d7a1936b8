// Command amazon-pay-ipn is the Lambda that receives Amazon Pay Instant Payment Notifications
// (Amazon SNS HTTP(S) messages). It reads its configuration, wires the packages and starts.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpay"
	"github.com/amazon-webhook-gateway/gateway/shared/awsconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/delivery"
	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
)

// noTopic matches no SNS topic ARN.
const noTopic = "none"

func main() {
	log := envconfig.Logger()
	h, err := build(context.Background(), log)
	if err != nil {
		log.Error("configuration error", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// maxMessageAge refuses replayed IPNs: SNS retries within minutes, and the idempotency store
// remembers a MessageId and a signed text for 48 h, so a captured message is a duplicate until it
// is refused.
const maxMessageAge = 24 * time.Hour

func build(ctx context.Context, log *slog.Logger) (quarantine.LambdaHandler, error) {
	awsCfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	deps, err := delivery.FromEnv(awsCfg)
	if err != nil {
		return nil, err
	}
	topics := envconfig.List("IPN_TOPIC_ARNS")
	discovery, err := envconfig.Bool("IPN_TOPIC_DISCOVERY", false)
	if err != nil {
		return nil, err
	}
	setUp := false
	switch {
	case len(topics) > 0 && discovery:
		// Set-up is over once a topic is allowed: never verify other topics' messages again.
		log.Warn("IPN_TOPIC_DISCOVERY is ignored: IPN_TOPIC_ARNS is set")
	case len(topics) == 0 && discovery:
		// Amazon Pay's topic ARN is first seen in its SubscriptionConfirmation: in set-up mode a
		// verified one is logged (never confirmed) and every message is refused.
		log.Warn("set-up mode: every message is refused; verified SubscriptionConfirmations are logged with their topic, never confirmed")
		setUp = true
	case len(topics) == 0:
		log.Warn("IPN_TOPIC_ARNS is empty: every message is refused until its topic is allowed (see IPN_TOPIC_DISCOVERY)")
		topics = []string{noTopic}
	}
	maxBody, err := envconfig.PositiveInt("MAX_BODY_BYTES", amazonpay.DefaultMaxBodyBytes)
	if err != nil {
		return nil, err
	}
	sns, err := snsverify.NewVerifier(snsverify.Config{TopicARNs: topics, SetUp: setUp, MaxAge: maxMessageAge})
	if err != nil {
		return nil, fmt.Errorf("IPN_TOPIC_ARNS: %w", err)
	}
	log.Info("Amazon Pay IPN configured", "topics", len(topics), "setUp", setUp)
	h := &amazonpay.Handler{
		SNS:          sns,
		Idempotency:  deps.Once,
		Events:       deps.Events,
		Quarantine:   &quarantine.Keeper{Store: deps.Quarantine, Webhook: amazonpay.Webhook, Function: os.Getenv("AWS_LAMBDA_FUNCTION_NAME")},
		MaxBodyBytes: maxBody,
		Log:          log,
	}
	return quarantine.Entry(deps.Quarantine, amazonpay.Webhook, log, h.Handle), nil
}
