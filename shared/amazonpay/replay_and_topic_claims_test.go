package amazonpay_test

// Attacks on the Amazon Pay IPN handler: a replay re-split around the same signed text, and a
// topic the sender only claims.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpay"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
)

// SNS's string to sign is "Name\nvalue\n" pairs; moving "\nSubject\n<subject>" into
// MessageId and dropping Subject kept the signature and changed the dedupe key, so the same IPN
// was announced twice. Now the copy is refused, and the signed text itself is claimed.
func TestAReplayedIPNIsNeverAnnouncedTwice(t *testing.T) {
	e := newEnv(t)
	genuine := e.notification("replay-genuine", chargeIndia)
	shifted := *genuine
	shifted.MessageID = genuine.MessageID + "\nSubject\n" + genuine.Subject
	shifted.Subject = ""
	if a, b := amazonpay.SignedTextKey(genuine), amazonpay.SignedTextKey(&shifted); a != b {
		t.Fatal("the shifted copy no longer has the genuine message's signed text: the test proves nothing")
	}
	steps := []struct {
		name   string
		m      *snsverify.Message
		status int
		answer string
	}{
		{"genuine", genuine, 200, "accepted"},
		{"same again", genuine, 200, "duplicate"},
		{"shifted copy", &shifted, 400, "invalid_payload"},
	}
	for _, st := range steps {
		status, body := e.deliver(t, st.m)
		got, _ := body["status"].(string)
		if got == "" {
			got, _ = body["error"].(string)
		}
		if status != st.status || got != st.answer {
			t.Errorf("%s: %d %v, want %d %s", st.name, status, body, st.status, st.answer)
		}
		if msg, _ := body["message"].(string); st.status == 400 && !strings.Contains(msg, "MessageId") {
			t.Errorf("%s: the answer does not name MessageId: %v", st.name, body)
		}
	}
	if evs := e.consumed(t); len(evs) != 1 || evs[0].Detail.Metadata.IdempotencyKey != "amazonpay:"+genuine.MessageID {
		t.Fatalf("events = %+v, want one, keyed amazonpay:<MessageId>", evs)
	}

	// One claim, over the signed text (which contains the MessageId), noting the MessageId: no
	// record keyed by the MessageId, whose claim would cost write units and catch nothing more.
	ctx := context.Background()
	db := dynamodb.NewFromConfig(awsCfg)
	get := func(key string) map[string]ddbtypes.AttributeValue {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(e.table), Key: map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: key}}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item
	}
	rec := get(amazonpay.SignedTextKey(genuine))
	if note, _ := rec["note"].(*ddbtypes.AttributeValueMemberS); note == nil || note.Value != genuine.MessageID {
		t.Errorf("signed-text record %v does not note the MessageId %s", rec, genuine.MessageID)
	}
	if rec := get("amazonpay:" + genuine.MessageID); rec != nil {
		t.Errorf("a record keyed by the MessageId: %v, want the signed-text claim alone", rec)
	}
}

// logRecords are the JSON log lines in buf.
func logRecords(t *testing.T, buf *testenv.LogBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line not JSON: %q", line)
		}
		out = append(out, r)
	}
	return out
}

// withLog sends e's handler log to a buffer of its own too (the shared sink is where the run's
// token check looks).
func (e *env) withLog() *testenv.LogBuffer {
	buf := &testenv.LogBuffer{}
	e.deps.Log = slog.New(slog.NewJSONHandler(io.MultiWriter(buf, logSink), &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.handler = pipeline.New(amazonpay.Webhook, e.steps, e.deps)
	return buf
}

const intruder = "arn:aws:sns:eu-west-1:210987654321:not-amazon-pay"

// intruderConfirmation is a SubscriptionConfirmation SNS really signed, from a topic in someone
// else's account (anyone can subscribe the URL to a topic of their own).
func (e *env) intruderConfirmation(token string) *snsverify.Message {
	m := e.confirmation("intruder-"+token, token)
	m.TopicARN = intruder
	e.sns.Sign(m)
	return m
}

// The unknown-topic rejection once logged the sender's TopicArn as if it were a fact, and the
// set-up advice was to copy it into the allow-list. Outside set-up the claim is refused before any
// network call and logged as unverified; set-up mode verifies, logs and never confirms.
func TestAnUnknownTopicIsRefusedAndLoggedAsAnUnverifiedClaim(t *testing.T) {
	e := newEnv(t)
	logs := e.withLog()
	notification := e.notification("intruder-n", chargeIndia)
	notification.TopicARN = intruder
	e.sns.Sign(notification)
	for _, m := range []*snsverify.Message{e.intruderConfirmation("confirm-token-intrudera"), notification} {
		if status, body := e.deliver(t, m); status != 403 || body["error"] != "forbidden" {
			t.Errorf("%s: %d %v, want 403", m.Type, status, body)
		}
	}
	if e.sns.Dials() != 0 || len(e.sns.Confirmations()) != 0 {
		t.Errorf("a refused topic cost %d connections and %d confirmations", e.sns.Dials(), len(e.sns.Confirmations()))
	}
	refusals := 0
	for _, r := range logRecords(t, logs) {
		if r["topicArn"] == intruder || r["messageId"] != nil || r["snsType"] != nil {
			t.Errorf("an unverified value is logged as a fact: %v", r)
		}
		if r["claimedTopicArn"] == intruder {
			refusals++
			if r["verified"] != false || r["msg"] != "topic not allowed" {
				t.Errorf("claim not marked unverified: %v", r)
			}
		}
	}
	if refusals != 2 {
		t.Errorf("%d refusals logged with claimedTopicArn, want 2", refusals)
	}
	if n := len(e.consumed(t)); n != 0 {
		t.Errorf("%d events", n)
	}
}

func TestSetUpModeVerifiesAndNeverConfirms(t *testing.T) {
	e := newEnvWith(t, snsverify.Config{SetUp: true})
	logs := e.withLog()

	// Notifications are refused before any network call, whatever their topic.
	n := e.notification("setup-n", chargeIndia)
	if status, body := e.deliver(t, n); status != 403 {
		t.Fatalf("notification in set-up mode: %d %v", status, body)
	}
	if e.sns.Dials() != 0 {
		t.Fatal("a notification in set-up mode caused a network call")
	}

	forged := e.intruderConfirmation("confirm-token-intruderb")
	forged.Token = "confirm-token-intruder-forged"
	genuine := e.intruderConfirmation("confirm-token-intruderc")
	for _, st := range []struct {
		name   string
		m      *snsverify.Message
		status int
		code   string
	}{
		{"forged confirmation", forged, 401, "unauthorized"},
		{"verified confirmation", genuine, 403, "forbidden"},
		{"verified confirmation again", genuine, 403, "forbidden"},
	} {
		if status, body := e.deliver(t, st.m); status != st.status || body["error"] != st.code {
			t.Errorf("%s: %d %v, want %d %s", st.name, status, body, st.status, st.code)
		}
	}
	if got := e.sns.Confirmations(); len(got) != 0 {
		t.Errorf("set-up mode confirmed %v", got)
	}
	if n := len(e.consumed(t)); n != 0 {
		t.Errorf("%d events in set-up mode", n)
	}
	verified := 0
	for _, r := range logRecords(t, logs) {
		switch {
		case r["verified"] == true:
			verified++
			if r["topicArn"] != intruder || r["topicAccount"] != "210987654321" || r["region"] != "eu-west-1" || r["messageId"] != genuine.MessageID {
				t.Errorf("verified set-up record = %v", r)
			}
		case r["claimedTopicArn"] != nil:
			if r["verified"] != false || r["topicArn"] != nil {
				t.Errorf("refusal = %v", r)
			}
		}
	}
	if verified != 2 {
		t.Errorf("%d verified set-up records, want 2 (one per verified delivery)", verified)
	}
}
