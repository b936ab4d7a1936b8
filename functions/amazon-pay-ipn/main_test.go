package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }

func deployEnv(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	cfg, err := testenv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := testenv.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	idem, err := testenv.CreateTable(ctx, cfg, tmpl, "IdempotencyTable")
	if err != nil {
		t.Fatal(err)
	}
	bus, _ := testenv.CreateBus(ctx, cfg)
	bucket, _ := testenv.CreateBucket(ctx, cfg)
	values := map[string]string{
		"LOG_LEVEL": "INFO", "EVENT_BUS_NAME": bus, "IDEMPOTENCY_TABLE_NAME": idem, "PAYLOAD_BUCKET": bucket,
		"IPN_TOPIC_ARNS": "arn:aws:sns:eu-west-1:123456789012:amazon-pay-ipn", "MAX_BODY_BYTES": "327680",
	}
	testenv.SetFunctionEnv(t, "AmazonPayIpnFunction", values)
}

func TestBuildFromTemplateEnvironment(t *testing.T) {
	deployEnv(t)
	var logs bytes.Buffer
	h, err := build(context.Background(), slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// A message from a topic not on the list is refused before any network call.
	req := events.APIGatewayV2HTTPRequest{Headers: map[string]string{"content-type": "text/plain"},
		Body: `{"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:eu-west-1:999999999999:other","Message":"{}",
"Timestamp":"2026-11-23T10:00:00.000Z","SignatureVersion":"2","Signature":"AAAA","SigningCertURL":"https://sns.eu-west-1.amazonaws.com/x.pem"}`}
	if resp, _ := h.Handle(context.Background(), req); resp.StatusCode != 403 {
		t.Fatalf("foreign topic: %d %s", resp.StatusCode, resp.Body)
	}
	if !strings.Contains(logs.String(), "arn:aws:sns:eu-west-1:999999999999:other") {
		t.Error("the refused topic is not named in the log; the operator could not learn Amazon Pay's topic ARN")
	}
}

func TestEmptyTopicListRefusesEverything(t *testing.T) {
	deployEnv(t)
	t.Setenv("IPN_TOPIC_ARNS", "")
	h, err := build(context.Background(), slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)))
	if err != nil {
		t.Fatalf("an empty list must start (and refuse), so the topic can be learned from the log: %v", err)
	}
	req := events.APIGatewayV2HTTPRequest{Headers: map[string]string{"content-type": "text/plain"},
		Body: `{"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:eu-west-1:123456789012:amazon-pay-ipn","Message":"{}",
"Timestamp":"2026-11-23T10:00:00.000Z","SignatureVersion":"2","Signature":"AAAA","SigningCertURL":"https://sns.eu-west-1.amazonaws.com/x.pem"}`}
	if resp, _ := h.Handle(context.Background(), req); resp.StatusCode != 403 {
		t.Fatalf("with no topic configured: %d %s, want 403", resp.StatusCode, resp.Body)
	}
}

func TestBuildRejectsBadConfiguration(t *testing.T) {
	for _, tc := range []struct{ key, value string }{
		{"IDEMPOTENCY_TABLE_NAME", ""}, {"EVENT_BUS_NAME", ""}, {"PAYLOAD_BUCKET", ""}, {"MAX_BODY_BYTES", "0"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			deployEnv(t)
			t.Setenv(tc.key, tc.value)
			if _, err := build(context.Background(), slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil))); err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("err = %v, want one naming %s", err, tc.key)
			}
		})
	}
}
