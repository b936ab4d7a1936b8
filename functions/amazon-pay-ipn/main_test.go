package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }

func deployEnv(t *testing.T) {
	t.Helper()
	harness.MotoStack(t).SetFunctionEnv(t, "AmazonPayIpnFunction", map[string]string{
		"IPN_TOPIC_ARNS": "arn:aws:sns:eu-west-1:123456789012:amazon-pay-ipn", "IPN_TOPIC_DISCOVERY": "false", "MAX_BODY_BYTES": "327680",
		"AMAZON_PAY_API_KEY_SECRET_ARN": "", "AMAZON_PAY_INCLUDE_BUYER_DATA": "false", "SECRET_REFRESH_INTERVAL": "5m",
		"IPN_MERCHANT_IDS": "", "PUBLISH_DEPRECATED_DETAIL_TYPES": "true",
	})
}

func TestBuildFromTemplateEnvironment(t *testing.T) {
	deployEnv(t)
	var logs bytes.Buffer
	h := harness.Built(t, build, slog.New(slog.NewJSONHandler(&logs, nil)))
	// A message from a topic not on the list is refused before any network call.
	req := events.APIGatewayV2HTTPRequest{Headers: map[string]string{"content-type": "text/plain"},
		Body: message("Notification", "arn:aws:sns:eu-west-1:999999999999:other", "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem")}
	if resp, _ := h.Handle(context.Background(), req); resp.StatusCode != 403 {
		t.Fatalf("foreign topic: %d %s", resp.StatusCode, resp.Body)
	}
	// Named as the sender's claim, not as a fact: nothing unverified is logged as fact.
	if !strings.Contains(logs.String(), `"claimedTopicArn":"arn:aws:sns:eu-west-1:999999999999:other","verified":false`) ||
		strings.Contains(logs.String(), `"topicArn":"arn:aws:sns:eu-west-1:999999999999:other"`) {
		t.Errorf("the refused topic is not logged as an unverified claim: %s", logs.String())
	}
}

// message is an unsigned SNS message body of typ from topic, its certificate at certURL.
func message(typ, topic, certURL string) string {
	extra := ""
	if typ == "SubscriptionConfirmation" {
		extra = `"Token":"t","SubscribeURL":"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription",`
	}
	return `{"Type":"` + typ + `","MessageId":"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324","TopicArn":"` + topic + `","Message":"{}",` + extra +
		`"Timestamp":"` + time.Now().UTC().Format(time.RFC3339) + `","SignatureVersion":"2","Signature":"AAAA","SigningCertURL":"` + certURL + `"}`
}

// Set-up mode (topic discovery) is explicit and only while no topic is allowed. These
// messages are built to be refused before any network call whichever mode is on: a
// SubscriptionConfirmation whose certificate URL is in another region than its topic is 401 if
// set-up mode verified it, 403 if the topic check refused it first.
func TestSetUpModeOnlyWhileNoTopicIsAllowed(t *testing.T) {
	const foreign = "arn:aws:sns:eu-west-1:999999999999:other"
	wrongRegion := "https://sns.ap-south-1.amazonaws.com/SimpleNotificationService-abc.pem"
	for _, tc := range []struct {
		name, topics, discovery string
		typ                     string
		want                    int
		log                     string
	}{
		{"set-up mode verifies a confirmation", "", "true", "SubscriptionConfirmation", 401, `"msg":"authentication failed"`},
		{"set-up mode refuses a notification", "", "true", "Notification", 403, `"msg":"topic not allowed"`},
		{"no topic, no set-up: refused", "", "false", "SubscriptionConfirmation", 403, `"msg":"topic not allowed"`},
		{"set-up ignored once a topic is allowed", "arn:aws:sns:eu-west-1:123456789012:amazon-pay-ipn", "true", "SubscriptionConfirmation", 403, `"msg":"IPN_TOPIC_DISCOVERY is ignored`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			deployEnv(t)
			t.Setenv("IPN_TOPIC_ARNS", tc.topics)
			t.Setenv("IPN_TOPIC_DISCOVERY", tc.discovery)
			var logs bytes.Buffer
			h := harness.Built(t, build, slog.New(slog.NewJSONHandler(&logs, nil)))
			req := events.APIGatewayV2HTTPRequest{Headers: map[string]string{"content-type": "text/plain"}, Body: message(tc.typ, foreign, wrongRegion)}
			if resp, _ := h.Handle(context.Background(), req); resp.StatusCode != tc.want {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, resp.Body, tc.want)
			}
			if !strings.Contains(logs.String(), tc.log) || !strings.Contains(logs.String(), `"claimedTopicArn":"`+foreign+`","verified":false`) {
				t.Errorf("log lacks %s or the unverified claim:\n%s", tc.log, logs.String())
			}
		})
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
		Body: message("Notification", "arn:aws:sns:eu-west-1:123456789012:amazon-pay-ipn", "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem")}
	if resp, _ := h.Handle(context.Background(), req); resp.StatusCode != 403 {
		t.Fatalf("with no topic configured: %d %s, want 403", resp.StatusCode, resp.Body)
	}
}

func TestBuildRejectsBadConfiguration(t *testing.T) {
	for _, tc := range []struct{ key, value string }{
		{"IDEMPOTENCY_TABLE_NAME", ""}, {"EVENT_BUS_NAME", ""}, {"PAYLOAD_BUCKET", ""}, {"MAX_BODY_BYTES", "0"},
		{"IPN_TOPIC_DISCOVERY", "yes please"}, {"AMAZON_PAY_INCLUDE_BUYER_DATA", "maybe"}, {"PUBLISH_DEPRECATED_DETAIL_TYPES", "no"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			deployEnv(t)
			t.Setenv(tc.key, tc.value)
			harness.BuildFails(t, build, tc.key)
		})
	}
}
