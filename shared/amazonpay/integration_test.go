package amazonpay_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpay"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/snstest"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

const (
	topic       = "arn:aws:sns:eu-west-1:123456789012:amazon-pay-ipn"
	rulePattern = `{"source":["amazon-webhook-gateway.amazon-pay"]}`
)

var (
	local   *testenv.Local
	awsCfg  aws.Config
	tmpl    *localaws.Template
	faults  *localaws.EventBridgeFaults
	logSink = &testenv.LogBuffer{}
)

// The confirmation token and the SubscribeURL's query never reach a log.
func TestMain(m *testing.M) {
	os.Exit(harness.RunSuite(m, func(l *testenv.Local) { local, awsCfg, tmpl, faults = l, l.Config, l.Template, l.Faults }, logSink, "confirm-token-", "Token="))
}

type env struct {
	handler    pipeline.LambdaHandler
	steps      *amazonpay.Steps
	deps       pipeline.Deps
	sns        *snstest.Server
	queue      string
	table      string // the idempotency table
	quarantine *quarantine.Store
}

func newEnv(t *testing.T) *env { return newEnvWithTopic(t, topic) }

func newEnvWithTopic(t *testing.T, allowed string) *env {
	t.Helper()
	return newEnvWith(t, snsverify.Config{TopicARNs: []string{allowed}})
}

// newEnvWith wires the handler with a verifier configured as cfg (its HTTP client is the SNS
// look-alike's).
func newEnvWith(t *testing.T, cfg snsverify.Config) *env {
	t.Helper()
	d := harness.Deploy(t, local, amazonpay.Webhook, amazonpay.DefaultMaxBodyBytes, rulePattern, logSink)
	sns := snstest.NewServer(t)
	cfg.HTTPClient = sns.Client()
	v, err := snsverify.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{sns: sns, queue: d.Queue, table: d.IdempotencyTable, quarantine: d.Quarantine, steps: &amazonpay.Steps{SNS: v}, deps: d.Deps}
	e.handler = pipeline.New(amazonpay.Webhook, e.steps, e.deps)
	return e
}

// deliver posts m as SNS does: text/plain, the JSON message as the body.
func (e *env) deliver(t *testing.T, m *snsverify.Message) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(m)
	req := events.APIGatewayV2HTTPRequest{
		RouteKey: "POST /amazon-pay/ipn", RawPath: "/amazon-pay/ipn", Body: string(b),
		Headers: map[string]string{"content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": m.Type, "x-amz-sns-message-id": m.MessageID},
	}
	req.RequestContext.HTTP.Method = "POST"
	resp, body := harness.Post(t, e.handler, req)
	return resp.StatusCode, body
}

type consumed struct {
	DetailType string           `json:"detail-type"`
	Source     string           `json:"source"`
	Resources  []string         `json:"resources"`
	Detail     amazonpay.Detail `json:"detail"`
}

func (e *env) consumed(t *testing.T) []consumed {
	t.Helper()
	return testenv.Consume[consumed](t, awsCfg, e.queue, 50)
}

func (e *env) notification(id, message string) *snsverify.Message {
	m := &snsverify.Message{
		Type: snsverify.TypeNotification, MessageID: id, TopicARN: topic, Subject: "Amazon Pay IPN",
		Message: message, Timestamp: "2026-11-23T10:00:00.000Z", SignatureVersion: "2",
		UnsubscribeURL: "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
	}
	e.sns.Sign(m)
	return m
}

func (e *env) confirmation(id, token string) *snsverify.Message {
	m := &snsverify.Message{
		Type: snsverify.TypeSubscriptionConfirmation, MessageID: id, TopicARN: topic, Token: token,
		Message:      "You have chosen to subscribe to the topic " + topic + ". To confirm the subscription, visit the SubscribeURL included in this message.",
		SubscribeURL: e.sns.SubscribeURL(token), Timestamp: "2026-11-23T09:00:00.000Z", SignatureVersion: "1",
	}
	e.sns.Sign(m)
	return m
}

const (
	chargeIndia = `{"NotificationType":"ChargeNotification","amazonOrderId":"S04-1234567-1234567","merchantOrderId":"ORDER-1","amount":"100.00","currencyCode":"INR","status":"SUCCESS"}`
	refundIndia = `{"NotificationType":"RefundNotification","amazonRefundId":"R04-1","amazonOrderId":"S04-1234567-1234567","amount":"25.00","currencyCode":"INR"}`
	chargeV2    = `{"MerchantID":"A3EXAMPLE","ObjectType":"CHARGE","ObjectId":"S02-0000000-0000000-C000001","ChargePermissionId":"S02-0000000-0000000","NotificationType":"STATE_CHANGE","NotificationId":"11111111-2222-3333-4444-555555555555","NotificationVersion":"V1"}`
	refundV2    = `{"MerchantID":"A3EXAMPLE","ObjectType":"REFUND","ObjectId":"S02-0000000-0000000-R000001","ChargePermissionId":"S02-0000000-0000000","NotificationType":"STATE_CHANGE","NotificationId":"66666666-2222-3333-4444-555555555555","NotificationVersion":"V1"}`
)

func TestSubscriptionChargeRefundBecomeEvents(t *testing.T) {
	e := newEnv(t)
	steps := []struct {
		msg        *snsverify.Message
		detailType string
		kind       string
	}{
		{e.confirmation("m-confirm", "confirm-token-1"), amazonpay.DetailTypeSubscribed, "subscription"},
		{e.notification("m-charge", chargeIndia), amazonpay.DetailTypeCharge, "charge"},
		{e.notification("m-refund", refundIndia), amazonpay.DetailTypeRefund, "refund"},
		{e.notification("m-charge-v2", chargeV2), amazonpay.DetailTypeCharge, "charge"},
		{e.notification("m-refund-v2", refundV2), amazonpay.DetailTypeRefund, "refund"},
		{e.notification("m-other", `{"NotificationType":"PaymentAuthorization","x":1}`), amazonpay.DetailTypeIPN, "other"},
		{e.notification("m-text", "plain text, not JSON"), amazonpay.DetailTypeIPN, "other"},
	}
	for _, st := range steps {
		if status, body := e.deliver(t, st.msg); status != 200 || body["status"] != "accepted" {
			t.Fatalf("%s: %d %v", st.msg.MessageID, status, body)
		}
	}
	if got := e.sns.Confirmations(); len(got) != 1 || got[0] != "confirm-token-1" {
		t.Errorf("SubscribeURL calls = %v, want the one token", got)
	}
	// An Amazon Pay API v2 message has its own event (amazonpay:v2:<MessageId>) beside the
	// deprecated one it had before, kept for one release.
	v2 := map[string]string{snstest.MessageID("m-charge-v2"): amazonpay.DetailTypeChargeChanged, snstest.MessageID("m-refund-v2"): amazonpay.DetailTypeRefundChanged}
	evs := e.consumed(t)
	if len(evs) != len(steps)+len(v2) {
		t.Fatalf("%d events, want %d", len(evs), len(steps)+len(v2))
	}
	byKey := map[string]consumed{}
	for _, ev := range evs {
		byKey[ev.Detail.Metadata.IdempotencyKey] = ev
	}
	for _, st := range steps {
		ev, ok := byKey["amazonpay:"+st.msg.MessageID]
		if !ok {
			t.Errorf("no event for %s", st.msg.MessageID)
			continue
		}
		if ev.DetailType != st.detailType || ev.Detail.Data.Kind != st.kind || ev.Source != amazonpay.EventSource ||
			ev.Detail.Metadata.MessageID != st.msg.MessageID || ev.Detail.Metadata.TopicARN != topic ||
			len(ev.Resources) != 1 || ev.Resources[0] != topic {
			t.Errorf("%s: %+v", st.msg.MessageID, ev)
		}
		if own, ok := v2[st.msg.MessageID]; ok {
			if ev2 := byKey["amazonpay:v2:"+st.msg.MessageID]; ev2.DetailType != own || ev2.Detail.Data.Enrichment == nil || ev2.Detail.Data.Enrichment.Status != amazonpay.EnrichmentDisabled {
				t.Errorf("%s: v2 event %+v", st.msg.MessageID, ev2)
			}
		}
	}
	byID := func(id string) consumed { return byKey["amazonpay:"+snstest.MessageID(id)] }
	// The whole parsed message is kept, and the v2 fields are lifted out.
	v2data := byID("m-charge-v2").Detail.Data
	if v2data.ObjectID != "S02-0000000-0000000-C000001" || v2data.ChargePermissionID != "S02-0000000-0000000" || v2data.MerchantID != "A3EXAMPLE" || v2data.NotificationType != "STATE_CHANGE" {
		t.Errorf("v2 charge data = %+v", v2data)
	}
	var india map[string]any
	charge := byID("m-charge").Detail.Data.Message
	if err := json.Unmarshal(charge, &india); err != nil || india["amazonOrderId"] != "S04-1234567-1234567" {
		t.Errorf("charge message not kept whole: %s", charge)
	}
	var text string
	if msg := byID("m-text").Detail.Data.Message; json.Unmarshal(msg, &text) != nil || text != "plain text, not JSON" {
		t.Errorf("text message = %s", msg)
	}
}

// Through moto, as a consumer's rule on every Amazon Pay event receives them: once the
// deprecated copies are switched off (PublishDeprecatedDetailTypes=false) a v2 charge and refund
// reach it under their own detail-types only, and an India charge as always.
func TestAConsumerReceivesNoDeprecatedCopyOnceTheCopiesAreSwitchedOff(t *testing.T) {
	e := newEnv(t)
	e.steps.OmitDeprecatedCopies = true
	want := map[string]string{}
	for _, m := range []struct{ id, message, detailType, key string }{
		{"m-charge-v2", chargeV2, amazonpay.DetailTypeChargeChanged, "amazonpay:v2:"},
		{"m-refund-v2", refundV2, amazonpay.DetailTypeRefundChanged, "amazonpay:v2:"},
		{"m-charge", chargeIndia, amazonpay.DetailTypeCharge, "amazonpay:"},
	} {
		msg := e.notification(m.id, m.message)
		if status, body := e.deliver(t, msg); status != 200 || body["status"] != "accepted" {
			t.Fatalf("%s: %d %v", m.id, status, body)
		}
		want[m.key+msg.MessageID] = m.detailType
	}
	got := map[string]string{}
	for _, ev := range e.consumed(t) {
		got[ev.Detail.Metadata.IdempotencyKey] = ev.DetailType
	}
	if !maps.Equal(got, want) {
		t.Errorf("the consumer received %v, want %v", got, want)
	}
}

func TestRedeliveryEmitsNothingNew(t *testing.T) {
	e := newEnv(t)
	charge := e.notification("m-1", chargeIndia)
	confirm := e.confirmation("m-2", "confirm-token-2")
	for i := 0; i < 3; i++ {
		for _, m := range []*snsverify.Message{charge, confirm} {
			status, body := e.deliver(t, m)
			want := "duplicate"
			if i == 0 {
				want = "accepted"
			}
			if status != 200 || body["status"] != want {
				t.Fatalf("round %d %s: %d %v", i, m.MessageID, status, body)
			}
		}
	}
	if n := len(e.consumed(t)); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
	if n := len(e.sns.Confirmations()); n != 1 {
		t.Errorf("subscription confirmed %d times, want 1", n)
	}
}

func TestUnsubscribeConfirmation(t *testing.T) {
	e := newEnv(t)
	m := &snsverify.Message{
		Type: snsverify.TypeUnsubscribeConfirmation, MessageID: "m-unsub", TopicARN: topic, Token: "confirm-token-3",
		Message: "You have chosen to deactivate subscription", SubscribeURL: e.sns.SubscribeURL("confirm-token-3"),
		Timestamp: "2026-11-23T11:00:00.000Z", SignatureVersion: "2",
	}
	e.sns.Sign(m)
	if status, body := e.deliver(t, m); status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	if n := len(e.sns.Confirmations()); n != 0 {
		t.Errorf("resubscribed after an unsubscribe confirmation")
	}
	evs := e.consumed(t)
	if len(evs) != 1 || evs[0].DetailType != amazonpay.DetailTypeUnsubscribed {
		t.Errorf("events = %+v", evs)
	}
}

func TestRejectionsStoreNothing(t *testing.T) {
	e := newEnv(t)
	tampered := e.notification("m-t", chargeIndia)
	tampered.Message = strings.Replace(tampered.Message, "100.00", "1.00", 1)
	otherTopic := &snsverify.Message{
		Type: snsverify.TypeNotification, MessageID: "m-o", TopicARN: "arn:aws:sns:eu-west-1:999999999999:intruder",
		Message: chargeIndia, Timestamp: "2026-11-23T10:00:00.000Z", SignatureVersion: "2",
	}
	e.sns.Sign(otherTopic)
	httpCert := e.notification("m-h", chargeIndia)
	httpCert.SigningCertURL = strings.Replace(httpCert.SigningCertURL, "https://", "http://", 1)
	v3 := e.notification("m-v", chargeIndia)
	v3.SignatureVersion = "3"

	tests := []struct {
		name string
		m    *snsverify.Message
		want int
	}{
		{"tampered message", tampered, 401},
		{"topic not allowed", otherTopic, 403},
		{"http certificate URL", httpCert, 401},
		{"signature version 3", v3, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := e.deliver(t, tc.m); status != tc.want {
				t.Fatalf("got %d %v, want %d", status, body, tc.want)
			}
		})
	}
	// A bad delivery must not burn the message id: the genuine message still goes through.
	genuine := e.notification("m-t", chargeIndia)
	if status, body := e.deliver(t, genuine); status != 200 || body["status"] != "accepted" {
		t.Errorf("genuine message after a tampered one with its id: %d %v", status, body)
	}
	if n := len(e.consumed(t)); n != 1 {
		t.Errorf("%d events, want only the genuine one", n)
	}
}

func TestTransportRejections(t *testing.T) {
	e := newEnv(t)
	base := events.APIGatewayV2HTTPRequest{RouteKey: "POST /amazon-pay/ipn", Headers: map[string]string{"content-type": "text/plain"}, Body: "{}"}
	base.RequestContext.HTTP.Method = "POST"
	get := base
	get.RequestContext.HTTP.Method = "GET"
	form := base
	form.Headers = map[string]string{"content-type": "application/x-www-form-urlencoded"}
	big := base
	big.Body = strings.Repeat("a", amazonpay.DefaultMaxBodyBytes+1)
	notJSON := base
	notJSON.Body = "hello"
	for _, tc := range []struct {
		name string
		req  events.APIGatewayV2HTTPRequest
		want int
	}{{"GET", get, 405}, {"form", form, 415}, {"too large", big, 413}, {"not JSON", notJSON, 400}, {"missing fields", base, 400}} {
		resp, _ := e.handler.Handle(context.Background(), tc.req)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d (%s)", tc.name, resp.StatusCode, tc.want, resp.Body)
		}
	}
}

func TestPublishFailureIsRetried(t *testing.T) {
	e := newEnv(t)
	m := e.notification("m-f", refundIndia)
	faults.Set(func(int, string, string) bool { return true })
	if status, _ := e.deliver(t, m); status != 503 {
		t.Fatalf("got %d, want 503 so SNS retries", status)
	}
	faults.Set(nil)
	if status, body := e.deliver(t, m); status != 200 || body["status"] != "accepted" {
		t.Fatalf("retry: %d %v", status, body)
	}
	if n := len(e.consumed(t)); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

// TestEventFiles feeds every events/amazon-pay-ipn-*.json to the handler. Genuine SNS signatures
// cannot be committed (only Amazon holds the key), so the test signs each message with the local
// SNS stand-in, as SNS would, except the bad-signature sample, which keeps its forged signature.
func TestEventFiles(t *testing.T) {
	want := map[string]struct {
		status     int
		detailType string
		v2         string // an Amazon Pay API v2 message's own detail-type, beside the deprecated one
	}{
		"amazon-pay-ipn-subscription-confirmation.json": {200, amazonpay.DetailTypeSubscribed, ""},
		"amazon-pay-ipn-charge.json":                    {200, amazonpay.DetailTypeCharge, ""},
		"amazon-pay-ipn-refund.json":                    {200, amazonpay.DetailTypeRefund, ""},
		"amazon-pay-ipn-charge-v2.json":                 {200, amazonpay.DetailTypeCharge, amazonpay.DetailTypeChargeChanged},
		"amazon-pay-ipn-refund-v2.json":                 {200, amazonpay.DetailTypeRefund, amazonpay.DetailTypeRefundChanged},
		"amazon-pay-ipn-charge-permission-v2.json":      {200, amazonpay.DetailTypeIPN, amazonpay.DetailTypeChargePermissionChanged},
		"amazon-pay-ipn-chargeback-v2.json":             {200, amazonpay.DetailTypeIPN, amazonpay.DetailTypeChargebackChanged},
		"amazon-pay-ipn-bad-signature.json":             {401, "", ""},
	}
	for _, name := range testenv.EventFiles(t, "amazon-pay-ipn-*.json", want) {
		t.Run(name, func(t *testing.T) {
			w := want[name]
			req := testenv.LoadEvent(t, name)
			m, err := snsverify.Parse([]byte(req.Body))
			if err != nil {
				t.Fatal(err)
			}
			e := newEnvWithTopic(t, m.TopicARN)
			m.SigningCertURL = e.sns.CertURL()
			if m.SubscribeURL != "" {
				m.SubscribeURL = e.sns.SubscribeURL(m.Token)
			}
			if !strings.Contains(name, "bad-signature") {
				e.sns.Sign(m)
			}
			body, _ := json.Marshal(m)
			req.Body = string(body)
			resp, err := e.handler.Handle(context.Background(), req)
			if err != nil || resp.StatusCode != w.status {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, resp.Body, w.status)
			}
			evs := e.consumed(t)
			if w.v2 != "" {
				// Its own detail-type, and the deprecated one (kept for one release).
				got := []string{}
				for _, ev := range evs {
					got = append(got, ev.DetailType)
				}
				slices.Sort(got)
				if wantTypes := slices.Sorted(slices.Values([]string{w.v2, w.detailType})); !slices.Equal(got, wantTypes) {
					t.Errorf("events %v, want %v", got, wantTypes)
				}
			} else if w.status == 200 && (len(evs) != 1 || evs[0].DetailType != w.detailType) {
				t.Errorf("events = %+v, want one %s", evs, w.detailType)
			}
			if w.status != 200 && len(evs) != 0 {
				t.Errorf("a rejected message produced %d events", len(evs))
			}
		})
	}
}
