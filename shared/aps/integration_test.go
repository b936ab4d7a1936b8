package aps_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/amazon-webhook-gateway/gateway/shared/aps"
	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// The rule a consumer of APS events writes (docs/aps.md, "Consumer rule").
const apsRulePattern = `{"source":["amazon-webhook-gateway.aps"]}`

const devPhrase = "dev-response-phrase-0123456789"

var (
	local   *testenv.Local
	awsCfg  aws.Config
	tmpl    *localaws.Template
	faults  *localaws.EventBridgeFaults
	logSink = &testenv.LogBuffer{}
	devDoc  []byte
)

// Card data, PII and secrets never reach a log.
func TestMain(m *testing.M) {
	devDoc, _ = os.ReadFile(filepath.Join(localaws.RepoRoot(), "events", "dev", "aps-merchant.json"))
	os.Exit(harness.RunSuite(m, func(l *testenv.Local) { local, awsCfg, tmpl, faults = l, l.Config, l.Template, l.Faults }, logSink,
		"400555", "Test Holder", "test@example.com", devPhrase, "SILgpo7pWbmzuURp2qri", `"2105"`, harness.ApplePayPhrase, harness.ApplePayAccessCode))
}

type env struct {
	handler    pipeline.LambdaHandler
	queueURL   string
	quarantine *quarantine.Store
}

type envConfig struct {
	secret      string
	includeCard bool
	alg         apssignature.Algorithm
}

func newEnv(t *testing.T, opts ...func(*envConfig)) *env {
	t.Helper()
	ctx := context.Background()
	cfg := envConfig{secret: string(devDoc), alg: apssignature.SHA256}
	for _, o := range opts {
		o(&cfg)
	}
	d := harness.Deploy(t, local, aps.Webhook, aps.DefaultMaxBodyBytes, apsRulePattern, logSink)
	arn, err := localaws.CreateSecret(ctx, awsCfg, cfg.secret)
	if err != nil {
		t.Fatal(err)
	}
	return &env{
		queueURL:   d.Queue,
		quarantine: d.Quarantine,
		handler: pipeline.New(aps.Webhook, &aps.Steps{
			Merchant:          secrets.NewCache(secretsmanager.NewFromConfig(awsCfg), arn, time.Minute, aps.MerchantParser(cfg.alg)),
			IncludeCardFields: cfg.includeCard,
		}, d.Deps),
	}
}

func (e *env) post(t *testing.T, req events.APIGatewayV2HTTPRequest) (int, map[string]any) {
	t.Helper()
	resp, body := harness.Post(t, e.handler, req)
	return resp.StatusCode, body
}

type consumed struct {
	Source     string     `json:"source"`
	DetailType string     `json:"detail-type"`
	Detail     aps.Detail `json:"detail"`
}

func (e *env) consumed(t *testing.T) []consumed {
	t.Helper()
	return testenv.Consume[consumed](t, awsCfg, e.queueURL, 50)
}

// message builds a request for route with params signed by phrase (no signature when phrase is "").
func message(route string, params map[string]string, phrase string, form bool) events.APIGatewayV2HTTPRequest {
	p := map[string]string{}
	for k, v := range params {
		p[k] = v
	}
	if phrase != "" {
		s, _ := apssignature.NewSigner(apssignature.SHA256, phrase)
		p["signature"] = s.Sign(p)
	}
	req := events.APIGatewayV2HTTPRequest{RouteKey: "POST " + route, RawPath: route}
	req.RequestContext.HTTP.Method = "POST"
	if form {
		v := url.Values{}
		for k, x := range p {
			v.Set(k, x)
		}
		req.Headers = map[string]string{"content-type": "application/x-www-form-urlencoded"}
		req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(v.Encode())), true
	} else {
		b, _ := json.Marshal(p)
		req.Headers = map[string]string{"content-type": "application/json"}
		req.Body = string(b)
	}
	return req
}

func purchase() map[string]string {
	return map[string]string{
		"access_code": "SILgpo7pWbmzuURp2qri", "merchant_identifier": "MxvOupuG", "merchant_reference": "ORDER-9",
		"command": "PURCHASE", "amount": "10000", "currency": "AED", "fort_id": "1", "status": "14", "response_code": "14000",
		"response_message": "Success", "card_number": "400555******0001", "card_holder_name": "Test Holder", "expiry_date": "2105",
	}
}

func TestEventFiles(t *testing.T) {
	want := map[string]struct {
		status     int
		detailType string
		feedback   aps.Feedback
	}{
		"aps-transaction-feedback-json.json":  {200, "APS Purchase Succeeded", aps.TransactionFeedback},
		"aps-transaction-feedback-form.json":  {200, "APS Purchase Succeeded", aps.TransactionFeedback},
		"aps-notification-feedback-json.json": {200, "APS Refund Succeeded", aps.NotificationFeedback},
		"aps-notification-feedback-form.json": {200, "APS Refund Succeeded", aps.NotificationFeedback},
		"aps-bad-signature.json":              {401, "", ""},
		"aps-malformed.json":                  {202, "", ""}, // authenticated: quarantined
	}
	// Every other sample, and these, are delivered as docs/aps.md documents them by
	// tests/harness TestEveryAPSSamplePublishesItsDocumentedDetailType.
	for _, name := range slices.Sorted(maps.Keys(want)) {
		t.Run(name, func(t *testing.T) {
			w := want[name]
			e := newEnv(t)
			status, body := e.post(t, testenv.LoadEvent(t, name))
			if status != w.status {
				t.Fatalf("got %d %v, want %d", status, body, w.status)
			}
			evs := e.consumed(t)
			if w.status != 200 {
				if len(evs) != 0 {
					t.Errorf("a rejected message produced %d events", len(evs))
				}
				return
			}
			if len(evs) != 1 || evs[0].DetailType != w.detailType || evs[0].Detail.Metadata.Feedback != w.feedback || evs[0].Source != aps.EventSource {
				t.Fatalf("events = %+v", evs)
			}
		})
	}
}

func TestPurchaseEventContract(t *testing.T) {
	e := newEnv(t)
	if status, body := e.post(t, testenv.LoadEvent(t, "aps-transaction-feedback-json.json")); status != 200 || body["status"] != "accepted" {
		t.Fatalf("got %d %v", status, body)
	}
	evs := e.consumed(t)
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	d := evs[0].Detail
	if d.Data.Status != "14" || d.Data.ResponseCode != "14000" || d.Data.MerchantReference != "ORDER-1001" ||
		d.Data.FortID != "169996200000123456" || d.Data.Command != "PURCHASE" || d.Data.PaymentOption != "VISA" {
		t.Errorf("data = %+v", d.Data)
	}
	if a := d.Data.Amount; a == nil || a.MinorUnits != 10000 || a.Value != "100.00" || a.Currency != "AED" || a.Exponent != 2 {
		t.Errorf("amount = %+v", d.Data.Amount)
	}
	for _, f := range []string{"card_number", "card_holder_name", "expiry_date", "signature"} {
		if _, ok := d.Data.Fields[f]; ok {
			t.Errorf("field %s reached the event", f)
		}
	}
	if d.Data.CardFieldsIncluded || d.Data.Fields["customer_email"] != "test@example.com" {
		t.Errorf("fields = %v", d.Data.Fields)
	}
	if !strings.HasPrefix(d.Metadata.IdempotencyKey, "aps:") || d.Metadata.SchemaVersion != "1" || d.Metadata.ReceivedAt.IsZero() {
		t.Errorf("metadata = %+v", d.Metadata)
	}
}

func TestCardFieldsWhenConfigured(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.includeCard = true })
	if status, _ := e.post(t, message("/aps/transaction-feedback", purchase(), devPhrase, false)); status != 200 {
		t.Fatal(status)
	}
	evs := e.consumed(t)
	if len(evs) != 1 || evs[0].Detail.Data.Fields["card_number"] != "400555******0001" || !evs[0].Detail.Data.CardFieldsIncluded {
		t.Fatalf("events = %+v", evs)
	}
}

func TestThreeDecimalCurrency(t *testing.T) {
	e := newEnv(t)
	if status, _ := e.post(t, testenv.LoadEvent(t, "aps-notification-feedback-form.json")); status != 200 {
		t.Fatal(status)
	}
	evs := e.consumed(t)
	if a := evs[0].Detail.Data.Amount; a == nil || a.Value != "2.500" || a.Exponent != 3 || a.MinorUnits != 2500 {
		t.Errorf("amount = %+v", a)
	}
}

func TestRedeliveryEmitsOnce(t *testing.T) {
	e := newEnv(t)
	// The same message in both encodings is the same message: one event.
	for i, name := range []string{"aps-transaction-feedback-json.json", "aps-transaction-feedback-json.json", "aps-transaction-feedback-form.json"} {
		status, body := e.post(t, testenv.LoadEvent(t, name))
		want := "duplicate"
		if i == 0 {
			want = "accepted"
		}
		if status != 200 || body["status"] != want {
			t.Fatalf("delivery %d: %d %v, want %s", i, status, body, want)
		}
	}
	// The same parameters on the other webhook are the same message: the signed text is the identity.
	other := testenv.LoadEvent(t, "aps-transaction-feedback-json.json")
	other.RouteKey, other.RawPath = "POST /aps/notification-feedback", "/aps/notification-feedback"
	if status, body := e.post(t, other); status != 200 || body["status"] != "duplicate" {
		t.Fatalf("other route: %d %v", status, body)
	}
	if evs := e.consumed(t); len(evs) != 1 {
		t.Errorf("%d events, want 1", len(evs))
	}
	// A later status for the same order is a new message.
	p := purchase()
	p["status"], p["response_code"], p["command"] = "06", "06000", "REFUND"
	if status, body := e.post(t, message("/aps/notification-feedback", p, devPhrase, true)); status != 200 || body["status"] != "accepted" {
		t.Fatalf("refund: %d %v", status, body)
	}
}

func TestRejections(t *testing.T) {
	e := newEnv(t)
	good := testenv.LoadEvent(t, "aps-transaction-feedback-json.json")
	foreign := purchase()
	foreign["merchant_identifier"] = "SomeoneElse"
	foreignCode := purchase()
	foreignCode["access_code"] = "other-access-code"
	get := good
	get.RequestContext.HTTP.Method = "GET"
	text := good
	text.Headers = map[string]string{"content-type": "text/plain"}
	noType := good
	noType.Headers = map[string]string{}
	xml := good
	xml.Headers = map[string]string{"content-type": "application/xml"}
	unknownRoute := good
	unknownRoute.RouteKey, unknownRoute.RawPath = "POST /aps/other", "/aps/other"
	big := good
	big.Body = `{"x":"` + strings.Repeat("a", aps.DefaultMaxBodyBytes) + `"}`
	broken := good
	broken.Body = `{"status": "14",`
	nested := good
	nested.Body = `{"status": {"a": 1}}`
	dup := message("/aps/transaction-feedback", purchase(), devPhrase, true)
	raw, _ := base64.StdEncoding.DecodeString(dup.Body)
	dup.Body = base64.StdEncoding.EncodeToString(append(raw, []byte("&status=02")...))
	noStatus := purchase()
	delete(noStatus, "status")
	delete(noStatus, "response_code")
	mismatch := purchase()
	mismatch["response_code"] = "02000"

	tests := []struct {
		name      string
		req       events.APIGatewayV2HTTPRequest
		want      int
		wantField string
	}{
		{"wrong method", get, 405, ""},
		{"unknown route", unknownRoute, 404, ""},
		{"too large", big, 413, ""},
		{"text/plain", text, 415, ""},
		{"no content type", noType, 415, ""},
		{"xml", xml, 415, ""},
		{"broken JSON", broken, 400, "body"},
		{"nested JSON value", nested, 400, "status"},
		{"repeated form field", dup, 400, "status"},
		{"bad signature", testenv.LoadEvent(t, "aps-bad-signature.json"), 401, ""},
		{"no signature", message("/aps/transaction-feedback", purchase(), "", false), 401, ""},
		{"signed with another phrase", message("/aps/transaction-feedback", purchase(), "not-our-phrase", false), 401, ""},
		// These select no phrase set, and the answer says so (its own body).
		{"another merchant", message("/aps/transaction-feedback", foreign, devPhrase, false), 401, "access_code"},
		{"another access code", message("/aps/transaction-feedback", foreignCode, devPhrase, true), 401, "access_code"},
		// Signed by APS but not processable: quarantined, and 202 stops APS's retries.
		{"malformed currency", testenv.LoadEvent(t, "aps-malformed.json"), 202, "currency"},
		{"no status", message("/aps/transaction-feedback", noStatus, devPhrase, false), 202, "status"},
		{"status and response code disagree", message("/aps/transaction-feedback", mismatch, devPhrase, false), 202, "response_code"},
	}
	var unauthorized string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.post(t, tc.req)
			if status != tc.want {
				t.Fatalf("got %d %v, want %d", status, body, tc.want)
			}
			if tc.wantField != "" && body["field"] != tc.wantField {
				t.Errorf("field = %v, want %s", body["field"], tc.wantField)
			}
			if status == 202 {
				key, _ := body["quarantineKey"].(string)
				r, err := e.quarantine.Get(context.Background(), key)
				if err != nil || r.Field != tc.wantField || r.Request.Body != tc.req.Body || r.Webhook != aps.Webhook {
					t.Errorf("quarantine record %q: %+v, %v", key, r, err)
				}
			}
			if status == 401 && tc.wantField == "" {
				b, _ := json.Marshal(body)
				if unauthorized == "" {
					unauthorized = string(b)
				} else if string(b) != unauthorized {
					t.Errorf("401 bodies differ: %s vs %s", b, unauthorized)
				}
			}
		})
	}
	if evs := e.consumed(t); len(evs) != 0 {
		t.Errorf("rejected messages produced %d events", len(evs))
	}
}

func TestPhraseRotationAndAlgorithms(t *testing.T) {
	rotating := `{"shaResponsePhrase":"new-phrase","previousShaResponsePhrase":"` + devPhrase + `","merchantIdentifier":"MxvOupuG","accessCode":"SILgpo7pWbmzuURp2qri"}`
	e := newEnv(t, func(c *envConfig) { c.secret = rotating })
	for i, phrase := range []string{devPhrase, "new-phrase"} {
		p := purchase()
		p["merchant_reference"] = fmt.Sprint("ROT-", i)
		if status, body := e.post(t, message("/aps/transaction-feedback", p, phrase, false)); status != 200 {
			t.Errorf("phrase %d: %d %v", i, status, body)
		}
	}

	for _, alg := range []apssignature.Algorithm{apssignature.SHA512, apssignature.HMACSHA256, apssignature.HMACSHA512} {
		t.Run(string(alg), func(t *testing.T) {
			e := newEnv(t, func(c *envConfig) { c.alg = alg })
			s, _ := apssignature.NewSigner(alg, devPhrase)
			p := purchase()
			p["signature"] = s.Sign(p)
			if status, body := e.post(t, message("/aps/transaction-feedback", p, "", false)); status != 200 {
				t.Errorf("%d %v", status, body)
			}
			// A SHA-256 signature is not accepted by a deployment set to another algorithm.
			if status, _ := e.post(t, testenv.LoadEvent(t, "aps-transaction-feedback-json.json")); status != 401 {
				t.Errorf("SHA-256 message under %s: %d", alg, status)
			}
		})
	}
}

func TestUnfilledMerchantSecretFailsClosed(t *testing.T) {
	e := newEnv(t, func(c *envConfig) {
		c.secret = `{"shaResponsePhrase":"generated","merchantIdentifier":"","accessCode":""}`
	})
	status, body := e.post(t, testenv.LoadEvent(t, "aps-transaction-feedback-json.json"))
	if status != 503 {
		t.Fatalf("got %d %v, want 503 until the operator fills the secret", status, body)
	}
}

func TestPublishFailureThenRetry(t *testing.T) {
	e := newEnv(t)
	faults.Set(func(int, string, string) bool { return true })
	status, body := e.post(t, testenv.LoadEvent(t, "aps-notification-feedback-json.json"))
	if status != 503 {
		t.Fatalf("got %d %v, want 503", status, body)
	}
	faults.Set(nil)
	if status, body := e.post(t, testenv.LoadEvent(t, "aps-notification-feedback-json.json")); status != 200 || body["status"] != "accepted" {
		t.Fatalf("retry: %d %v", status, body)
	}
	if evs := e.consumed(t); len(evs) != 1 {
		t.Errorf("%d events after the retry, want 1", len(evs))
	}
}
