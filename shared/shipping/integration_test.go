package shipping_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/amazon-webhook-gateway/gateway/shared/auth"
	"github.com/amazon-webhook-gateway/gateway/shared/oauth"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// The rule consumers are told to write in docs/shipping.md ("Consumer rule").
const otpRulePattern = `{"source":["amazon-webhook-gateway.shipping"],"detail-type":["Shipping OTP Generated"]}`

// allShippingPattern matches every event of the webhook.
const allShippingPattern = `{"source":["amazon-webhook-gateway.shipping"]}`

const devIssuer = "https://dev-issuer.invalid/amazon-webhook-gateway"

var (
	local    *testenv.Local
	awsCfg   aws.Config
	tmpl     *localaws.Template
	jwksURL  string
	faults   *localaws.EventBridgeFaults
	logSink  = &testenv.LogBuffer{}
	devCreds []byte
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	jwks, _ := os.ReadFile(filepath.Join(localaws.RepoRoot(), "events", "dev", "jwks.json"))
	devCreds, _ = os.ReadFile(filepath.Join(localaws.RepoRoot(), "events", "dev", "credentials.json"))
	jwksServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}))
	defer jwksServer.Close()
	jwksURL = jwksServer.URL + "/.well-known/jwks.json"
	// Secrets and OTPs never reach a log.
	return harness.RunSuite(m, func(l *testenv.Local) { local, awsCfg, tmpl, faults = l, l.Config, l.Template, l.Faults }, logSink,
		"938492", "417305", "551203", "774019", "222222", "111111", "333333", "444444", "Bearer ", "dev-api-key", "dev-query-key", "dev-password", "new-key-0", "old-key-0")
}

// env is one isolated deployment: its own tables, bus, secret and consumer queue.
type env struct {
	handler  pipeline.LambdaHandler
	store    *otpstore.Store
	otpTable string
	queueURL string
	secret   string
	now      time.Time
	// received, when set, is the function's clock: the receipt of every delivery (the OTP TTL
	// bound and expiry on arrival are judged at it). Zero: the real clock.
	received   time.Time
	quarantine *quarantine.Store
}

// sampleReceipt receives the samples whose OTPs, as Amazon's documented example, are valid until
// 2099-12-31T23:59:59Z: a few days before, within the TTL bound. Sent now they are quarantined.
var sampleReceipt = time.Date(2099, 12, 28, 12, 0, 0, 0, time.UTC)

type envOption func(*envConfig)

type envConfig struct {
	modes      []auth.Mode
	includeOTP bool
	secretARN  string
	rule       string // the consumer's rule pattern
	omitCopies bool   // PublishDeprecatedDetailTypes=false
}

func withModes(m ...auth.Mode) envOption { return func(c *envConfig) { c.modes = m } }
func withoutOTPInEvents() envOption      { return func(c *envConfig) { c.includeOTP = false } }
func withSecretARN(arn string) envOption { return func(c *envConfig) { c.secretARN = arn } }
func withRule(pattern string) envOption  { return func(c *envConfig) { c.rule = pattern } }
func withoutDeprecatedCopies() envOption { return func(c *envConfig) { c.omitCopies = true } }

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	cfg := envConfig{modes: []auth.Mode{auth.ModeAPIKey, auth.ModeQuery, auth.ModeBasic, auth.ModeOAuth}, includeOTP: true, rule: otpRulePattern}
	for _, o := range opts {
		o(&cfg)
	}
	d := harness.Deploy(t, local, shipping.Webhook, shipping.DefaultMaxBodyBytes, cfg.rule, logSink)
	otpTable := d.Table(t, "OtpTable")
	secret := cfg.secretARN
	if secret == "" {
		secret = must[string](t)(localaws.CreateSecret(ctx, awsCfg, string(devCreds)))
	}
	verifier, err := oauth.NewVerifier(oauth.Config{
		Issuer: devIssuer, JWKSURL: jwksURL,
		Audiences: []string{"dev-amazon-shipping-client"}, RequiredScope: "amazon-shipping-webhook/otp.write",
		MaxLifetime: 876000 * time.Hour, // the sample's development token is valid until 2100, as events/env.json allows
	})
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(auth.Config{
		Modes:       cfg.modes,
		Credentials: secrets.NewCache(secretsmanager.NewFromConfig(awsCfg), secret, time.Minute, auth.ParseCredentials),
		Tokens:      verifier,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{otpTable: otpTable, queueURL: d.Queue, secret: secret, quarantine: d.Quarantine}
	e.store = otpstore.New(dynamodb.NewFromConfig(awsCfg), otpTable, func() time.Time { return e.now })
	clock := func() time.Time {
		if !e.received.IsZero() {
			return e.received
		}
		return time.Now()
	}
	e.handler = pipeline.New(shipping.Webhook, &shipping.Steps{Auth: authn, OTPs: e.store, IncludeOTP: cfg.includeOTP, Now: clock, OmitDeprecatedCopies: cfg.omitCopies}, d.Deps)
	return e
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func (e *env) post(t *testing.T, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, map[string]any) {
	t.Helper()
	return harness.Post(t, e.handler, req)
}

// consumed reads back what a consumer's rule delivered to its queue.
func (e *env) consumed(t *testing.T) []consumedEvent {
	t.Helper()
	return testenv.Consume[consumedEvent](t, awsCfg, e.queueURL, 100)
}

type consumedEvent struct {
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
	Detail     struct {
		Metadata shipping.Metadata `json:"metadata"`
		Data     shipping.OTPData  `json:"data"`
	} `json:"detail"`
}

func withBody(req events.APIGatewayV2HTTPRequest, body string) events.APIGatewayV2HTTPRequest {
	req.Body = body
	return req
}

// otpBody is a PN Event for one tracking ID.
func otpBody(id, trackingID, alt, code string, ttlMillis int64, at string) string {
	return fmt.Sprintf(`{"version":"0","id":%q,"detail-type":"PN Event","source":"AmazonShipping","account":"474668380910",
"time":%q,"region":"eu-west-1","resources":[],"detail":{"verificationCode":%q,"verificationCodeTTL":%d,
"trackingId":%q,"alternateLegTrackingId":%q,"shipmentType":"REVERSE","eventCode":"PIN_GENERATED","appId":"amzn1.aaa.app.x"}}`,
		id, at, code, ttlMillis, trackingID, alt)
}

// The seed sample's OTP expired on arrival (expired_test.go); this sample is the same with a TTL
// of 2099-12-31T23:59:59Z.
func TestValidSampleIsStoredAndEmitted(t *testing.T) {
	e := newEnv(t)
	e.received = sampleReceipt
	resp, body := e.post(t, testenv.LoadEvent(t, "shipping-otp-valid.json"))
	if resp.StatusCode != 200 || body["status"] != "accepted" {
		t.Fatalf("got %d %v", resp.StatusCode, body)
	}

	// The raw item: TTL attribute in epoch seconds, the payload's milliseconds kept alongside.
	out, err := dynamodb.NewFromConfig(awsCfg).GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: &e.otpTable, Key: map[string]types.AttributeValue{"trackingId": &types.AttributeValueMemberS{Value: "1709913037960"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Item[otpstore.TTLAttribute].(*types.AttributeValueMemberN).Value; got != "4102444799" {
		t.Errorf("TTL attribute = %s, want 4102444799", got)
	}
	if got := out.Item["verificationCodeTTL"].(*types.AttributeValueMemberN).Value; got != "4102444799000" {
		t.Errorf("verificationCodeTTL = %s", got)
	}

	// Both lookups find it while it is valid, and neither does once it has expired, although
	// the item is still in the table (DynamoDB deletes expired items days late).
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		now  time.Time
		want error
	}{
		{"before expiry", time.Date(2099, 12, 31, 12, 0, 0, 0, time.UTC), nil},
		{"last millisecond", time.UnixMilli(4102444799000 - 1), nil},
		{"at expiry", time.UnixMilli(4102444799000), otpstore.ErrNotFound},
		{"days later", time.Date(2100, 1, 3, 0, 0, 0, 0, time.UTC), otpstore.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.now = tc.now
			for name, lookup := range map[string]func() (otpstore.OTP, error){
				"forward": func() (otpstore.OTP, error) { return e.store.ByTrackingID(ctx, "1709913037960") },
				"reverse": func() (otpstore.OTP, error) { return e.store.ByAlternateLegTrackingID(ctx, "1709912326420") },
			} {
				o, err := lookup()
				if err != tc.want {
					t.Fatalf("%s lookup: err = %v, want %v", name, err, tc.want)
				}
				if err == nil && (o.Code != "417305" || o.TrackingID != "1709913037960" || o.AlternateLegTrackingID != "1709912326420") {
					t.Errorf("%s lookup returned %+v", name, o)
				}
			}
		})
	}

	evs := e.consumed(t)
	if len(evs) != 1 {
		t.Fatalf("consumer received %d events, want 1", len(evs))
	}
	ev := evs[0]
	if ev.Source != shipping.EventSource || ev.DetailType != shipping.DetailTypeOTP {
		t.Errorf("source/detail-type = %q/%q", ev.Source, ev.DetailType)
	}
	md, d := ev.Detail.Metadata, ev.Detail.Data
	if md.DeliveryID != "5a7d3c9e-2f14-4b8a-9c60-1e2d3f4a5b6c" ||
		md.IdempotencyKey != "shipping:5a7d3c9e-2f14-4b8a-9c60-1e2d3f4a5b6c:1709913037960" ||
		md.SchemaVersion != "1" || md.ReceivedAt.IsZero() || md.Origin.Account != "474668380910" ||
		md.Origin.DetailType != "PN Event" {
		t.Errorf("metadata = %+v", md)
	}
	if d.TrackingID != "1709913037960" || d.AlternateLegTrackingID != "1709912326420" || d.VerificationCode != "417305" ||
		!d.VerificationCodeIncluded || d.VerificationCodeTTL != 4102444799000 ||
		!d.VerificationCodeExpiresAt.Equal(time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC)) || d.ShipmentType != "REVERSE" {
		t.Errorf("data = %+v", d)
	}
}

func TestOTPLeftOutOfEventsWhenConfigured(t *testing.T) {
	e := newEnv(t, withoutOTPInEvents())
	e.received = sampleReceipt
	if resp, body := e.post(t, testenv.LoadEvent(t, "shipping-otp-valid.json")); resp.StatusCode != 200 {
		t.Fatalf("got %d %v", resp.StatusCode, body)
	}
	evs := e.consumed(t)
	if len(evs) != 1 {
		t.Fatalf("got %d events", len(evs))
	}
	if evs[0].Detail.Data.VerificationCode != "" || evs[0].Detail.Data.VerificationCodeIncluded {
		t.Errorf("event carries the OTP: %+v", evs[0].Detail.Data)
	}
	e.now = time.Date(2024, 1, 13, 0, 0, 0, 0, time.UTC)
	if o, err := e.store.ByTrackingID(context.Background(), "1709913037960"); err != nil || o.Code != "417305" {
		t.Errorf("OTP not stored: %v", err)
	}
}

func TestOutOfOrderDeliveriesKeepTheNewestOTP(t *testing.T) {
	day1 := time.Date(2030, 3, 1, 23, 59, 59, 0, time.UTC).UnixMilli()
	day2 := time.Date(2030, 3, 2, 23, 59, 59, 0, time.UTC).UnixMilli()
	req := testenv.LoadEvent(t, "shipping-otp-api-key.json")
	tests := []struct {
		name       string
		deliveries []string // in arrival order
		wantCode   string
		wantEvents []string // codes, in order
	}{
		{
			name: "older TTL arrives second",
			deliveries: []string{
				otpBody("d-new", "T1", "R1", "222222", day2, "2030-03-02T08:00:00Z"),
				otpBody("d-old", "T1", "R1", "111111", day1, "2030-03-01T08:00:00Z"),
			},
			wantCode: "222222", wantEvents: []string{"222222"},
		},
		{
			name: "older TTL arrives first",
			deliveries: []string{
				otpBody("d-old", "T1", "R1", "111111", day1, "2030-03-01T08:00:00Z"),
				otpBody("d-new", "T1", "R1", "222222", day2, "2030-03-02T08:00:00Z"),
			},
			wantCode: "222222", wantEvents: []string{"111111", "222222"},
		},
		{
			name: "same day, regenerated OTP arrives before the first",
			deliveries: []string{
				otpBody("d-second", "T1", "R1", "444444", day1, "2030-03-01T15:00:00Z"),
				otpBody("d-first", "T1", "R1", "333333", day1, "2030-03-01T09:00:00Z"),
			},
			wantCode: "444444", wantEvents: []string{"444444"},
		},
		{
			name: "same day, regenerated OTP arrives after the first",
			deliveries: []string{
				otpBody("d-first", "T1", "R1", "333333", day1, "2030-03-01T09:00:00Z"),
				otpBody("d-second", "T1", "R1", "444444", day1, "2030-03-01T15:00:00Z"),
			},
			wantCode: "444444", wantEvents: []string{"333333", "444444"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.received = time.Date(2030, 3, 1, 8, 0, 0, 0, time.UTC)
			for _, b := range tc.deliveries {
				if resp, body := e.post(t, withBody(req, b)); resp.StatusCode != 200 {
					t.Fatalf("got %d %v", resp.StatusCode, body)
				}
			}
			e.now = time.Date(2030, 3, 1, 0, 0, 0, 0, time.UTC)
			for name, lookup := range map[string]func() (otpstore.OTP, error){
				"forward": func() (otpstore.OTP, error) { return e.store.ByTrackingID(context.Background(), "T1") },
				"reverse": func() (otpstore.OTP, error) { return e.store.ByAlternateLegTrackingID(context.Background(), "R1") },
			} {
				o, err := lookup()
				if err != nil || o.Code != tc.wantCode {
					t.Errorf("%s lookup: code %q err %v, want %q", name, o.Code, err, tc.wantCode)
				}
			}
			var got []string
			for _, ev := range e.consumed(t) {
				got = append(got, ev.Detail.Data.VerificationCode)
			}
			if strings.Join(got, ",") != strings.Join(tc.wantEvents, ",") {
				t.Errorf("events carried %v, want %v", got, tc.wantEvents)
			}
		})
	}
}

func TestRedeliveryAfterSuccessEmitsNothing(t *testing.T) {
	e := newEnv(t)
	e.received = sampleReceipt
	req := testenv.LoadEvent(t, "shipping-otp-accumulated.json")
	if resp, body := e.post(t, req); resp.StatusCode != 200 || body["status"] != "accepted" {
		t.Fatalf("first delivery: %d %v", resp.StatusCode, body)
	}
	for i := 0; i < 3; i++ {
		resp, body := e.post(t, req)
		if resp.StatusCode != 200 || body["status"] != "duplicate" {
			t.Fatalf("redelivery %d: %d %v", i, resp.StatusCode, body)
		}
	}
	if evs := e.consumed(t); len(evs) != 2 {
		t.Errorf("consumer received %d events, want 2 (one per tracking ID)", len(evs))
	}
}

func TestPublishFailures(t *testing.T) {
	req := testenv.LoadEvent(t, "shipping-otp-accumulated.json")
	failSecond := func(_ int, _, detail string) bool { return strings.Contains(detail, `"trackingId":"1709913037951"`) }

	t.Run("a failure the retries absorb answers 200", func(t *testing.T) {
		e := newEnv(t)
		e.received = sampleReceipt
		faults.Set(func(call int, _, _ string) bool { return call == 1 })
		if resp, body := e.post(t, req); resp.StatusCode != 200 {
			t.Fatalf("got %d %v", resp.StatusCode, body)
		}
		if faults.Calls() != 2 {
			t.Errorf("PutEvents calls = %d, want 2 (one retry of the failed entries)", faults.Calls())
		}
		if evs := e.consumed(t); len(evs) != 2 {
			t.Errorf("consumer received %d events, want 2", len(evs))
		}
	})

	t.Run("persistent partial failure answers 503 and the redelivery finishes the work", func(t *testing.T) {
		e := newEnv(t)
		e.received = sampleReceipt
		faults.Set(failSecond)
		resp, body := e.post(t, req)
		if resp.StatusCode != 503 || resp.Headers["Retry-After"] == "" {
			t.Fatalf("got %d %v, want 503 with Retry-After", resp.StatusCode, body)
		}
		if strings.Contains(resp.Body, "Throttling") || strings.Contains(resp.Body, "arn:") {
			t.Errorf("response leaks the AWS error: %s", resp.Body)
		}
		if faults.Calls() != 3 {
			t.Errorf("PutEvents calls = %d, want 3 attempts", faults.Calls())
		}
		first := e.consumed(t)
		if len(first) != 1 || first[0].Detail.Data.TrackingID != "1709913037950" {
			t.Fatalf("after the failure the consumer has %d events, want the one that went through", len(first))
		}

		faults.Set(nil)
		resp, body = e.post(t, req)
		if resp.StatusCode != 200 || body["status"] != "accepted" {
			t.Fatalf("redelivery: %d %v", resp.StatusCode, body)
		}
		second := e.consumed(t)
		if len(second) != 2 {
			t.Fatalf("redelivery emitted %d events, want 2", len(second))
		}
		keys := map[string]bool{}
		for _, ev := range second {
			keys[ev.Detail.Metadata.IdempotencyKey] = true
		}
		if !keys[first[0].Detail.Metadata.IdempotencyKey] {
			t.Errorf("the re-emitted event has a new idempotency key; consumers could not dedupe")
		}
		e.now = time.Date(2024, 1, 13, 0, 0, 0, 0, time.UTC)
		for _, id := range []string{"1709913037950", "1709913037951"} {
			if _, err := e.store.ByTrackingID(context.Background(), id); err != nil {
				t.Errorf("tracking ID %s: %v", id, err)
			}
		}
		if resp, body := e.post(t, req); body["status"] != "duplicate" {
			t.Errorf("third delivery: %d %v, want duplicate", resp.StatusCode, body)
		}
	})
}

// TestEventFiles posts every sample as it is and reads what a consumer of every Shipping event
// receives. The seed's OTP (and the samples carrying it) expired in January 2024: they are
// announced as expired on arrival.
func TestEventFiles(t *testing.T) {
	type outcome struct {
		status      int
		detailTypes string // of the events received, in order
	}
	expired, generated := shipping.DetailTypeOTPExpired, shipping.DetailTypeOTP
	want := map[string]outcome{
		"shipping-otp-api-key.json":         {200, expired},
		"shipping-otp-query.json":           {200, expired},
		"shipping-otp-basic.json":           {200, expired},
		"shipping-otp-oauth.json":           {200, expired},
		"shipping-otp-valid.json":           {200, generated},
		"shipping-otp-accumulated.json":     {200, generated + "," + generated},
		"shipping-otp-bad-credentials.json": {401, ""},
		"shipping-otp-malformed.json":       {202, ""}, // authenticated: quarantined
	}
	for _, name := range testenv.EventFiles(t, "shipping-otp-*.json", want) {
		t.Run(name, func(t *testing.T) {
			w := want[name]
			e := newEnv(t, withRule(allShippingPattern))
			e.received = sampleReceipt
			resp, body := e.post(t, testenv.LoadEvent(t, name))
			if resp.StatusCode != w.status {
				t.Fatalf("got %d %v, want %d", resp.StatusCode, body, w.status)
			}
			var got []string
			for _, ev := range e.consumed(t) {
				got = append(got, ev.DetailType)
			}
			if strings.Join(got, ",") != w.detailTypes {
				t.Errorf("consumer received %v, want %s", got, w.detailTypes)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	var cred struct {
		APIKeys   []string `json:"apiKeys"`
		QueryKeys []string `json:"queryKeys"`
		BasicAuth []struct{ Username, Password string }
	}
	if err := json.Unmarshal(devCreds, &cred); err != nil {
		t.Fatal(err)
	}
	base := testenv.LoadEvent(t, "shipping-otp-api-key.json")
	delete(base.Headers, "x-api-key")
	oauthReq := testenv.LoadEvent(t, "shipping-otp-oauth.json")
	goodToken := strings.TrimPrefix(oauthReq.Headers["authorization"], "Bearer ")
	basic := testenv.LoadEvent(t, "shipping-otp-basic.json").Headers["authorization"]

	key := mustKey(t)
	signed := func(mod func(map[string]any)) string {
		claims := map[string]any{
			"iss": devIssuer, "client_id": "dev-amazon-shipping-client", "token_use": "access",
			"scope": "amazon-shipping-webhook/otp.write", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
		}
		mod(claims)
		tok, err := oauth.Sign(key, "RS256", "dev-1", claims)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	type tc struct {
		name    string
		headers map[string]string
		query   map[string]string
		want    int
	}
	cases := []tc{
		{"api key header", map[string]string{"x-api-key": cred.APIKeys[0]}, nil, 200},
		{"api key header, other case", map[string]string{"X-Api-Key": cred.APIKeys[0]}, nil, 200},
		{"query parameter", nil, map[string]string{"api_key": cred.QueryKeys[0]}, 200},
		{"basic", map[string]string{"authorization": basic}, nil, 200},
		{"bearer token", map[string]string{"authorization": "Bearer " + goodToken}, nil, 200},
		{"fresh bearer token", map[string]string{"authorization": "Bearer " + signed(func(map[string]any) {})}, nil, 200},

		{"no credentials", nil, nil, 401},
		{"wrong api key", map[string]string{"x-api-key": cred.APIKeys[0] + "x"}, nil, 401},
		{"api key prefix", map[string]string{"x-api-key": cred.APIKeys[0][:10]}, nil, 401},
		{"empty api key", map[string]string{"x-api-key": ""}, nil, 401},
		{"query key sent as header key", map[string]string{"x-api-key": cred.QueryKeys[0]}, nil, 401},
		{"header key sent as query key", nil, map[string]string{"api_key": cred.APIKeys[0]}, 401},
		{"query key under another name", nil, map[string]string{"key": cred.QueryKeys[0]}, 401},
		{"basic wrong password", map[string]string{"authorization": basicHeader(cred.BasicAuth[0].Username, "nope")}, nil, 401},
		{"basic wrong user", map[string]string{"authorization": basicHeader("someone", cred.BasicAuth[0].Password)}, nil, 401},
		{"basic not base64", map[string]string{"authorization": "Basic !!!"}, nil, 401},
		{"bearer garbage", map[string]string{"authorization": "Bearer abc.def.ghi"}, nil, 401},
		{"bearer expired", map[string]string{"authorization": "Bearer " + signed(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })}, nil, 401},
		{"bearer wrong scope", map[string]string{"authorization": "Bearer " + signed(func(c map[string]any) { c["scope"] = "other/read" })}, nil, 401},
		{"bearer wrong client", map[string]string{"authorization": "Bearer " + signed(func(c map[string]any) { c["client_id"] = "intruder" })}, nil, 401},
		{"bearer wrong issuer", map[string]string{"authorization": "Bearer " + signed(func(c map[string]any) { c["iss"] = "https://evil.example" })}, nil, 401},
		{"api key as bearer", map[string]string{"authorization": "Bearer " + cred.APIKeys[0]}, nil, 401},
	}
	e := newEnv(t)
	var rejection string
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := base
			req.Headers = map[string]string{"content-type": "application/json"}
			for k, v := range c.headers {
				req.Headers[k] = v
			}
			req.QueryStringParameters = c.query
			// A distinct envelope id per case, so accepted cases are not duplicates.
			req.Body = strings.Replace(base.Body, "48040fd3-3094-24d8-06c8-d97be2024072", fmt.Sprintf("auth-case-%d", i), 1)
			resp, body := e.post(t, req)
			if resp.StatusCode != c.want {
				t.Fatalf("got %d %v, want %d", resp.StatusCode, body, c.want)
			}
			if c.want == 401 {
				if rejection == "" {
					rejection = resp.Body
				}
				if resp.Body != rejection {
					t.Errorf("401 body %q differs from %q: rejections must not say which part failed", resp.Body, rejection)
				}
				if ch := resp.Headers["WWW-Authenticate"]; !strings.Contains(ch, "Basic") || !strings.Contains(ch, "Bearer") {
					t.Errorf("WWW-Authenticate = %q", ch)
				}
			}
		})
	}

	t.Run("only the enabled modes count", func(t *testing.T) {
		e := newEnv(t, withModes(auth.ModeQuery))
		req := testenv.LoadEvent(t, "shipping-otp-api-key.json") // a valid header key, but header keys are not enabled
		if resp, _ := e.post(t, req); resp.StatusCode != 401 {
			t.Errorf("header key accepted while only query mode is enabled: %d", resp.StatusCode)
		}
		if resp, _ := e.post(t, testenv.LoadEvent(t, "shipping-otp-query.json")); resp.StatusCode != 200 {
			t.Errorf("query key rejected: %d", resp.StatusCode)
		}
	})

	t.Run("several keys active during rotation", func(t *testing.T) {
		arn := must[string](t)(localaws.CreateSecret(context.Background(), awsCfg, `{"apiKeys":["new-key-000000000000","old-key-000000000000"]}`))
		e := newEnv(t, withSecretARN(arn), withModes(auth.ModeAPIKey))
		for i, k := range []string{"new-key-000000000000", "old-key-000000000000"} {
			req := testenv.LoadEvent(t, "shipping-otp-api-key.json")
			req.Headers["x-api-key"] = k
			req.Body = strings.Replace(req.Body, "48040fd3", fmt.Sprintf("rot%d", i), 1)
			if resp, body := e.post(t, req); resp.StatusCode != 200 {
				t.Errorf("key %d: %d %v", i, resp.StatusCode, body)
			}
		}
	})

	t.Run("secrets unavailable answers 503", func(t *testing.T) {
		e := newEnv(t, withSecretARN("arn:aws:secretsmanager:eu-west-1:123456789012:secret:missing-AbCdEf"), withModes(auth.ModeAPIKey))
		resp, body := e.post(t, testenv.LoadEvent(t, "shipping-otp-api-key.json"))
		if resp.StatusCode != 503 {
			t.Fatalf("got %d %v", resp.StatusCode, body)
		}
		if strings.Contains(resp.Body, "missing-AbCdEf") {
			t.Errorf("response names the secret: %s", resp.Body)
		}
	})
}

func TestStatusCodes(t *testing.T) {
	e := newEnv(t)
	good := testenv.LoadEvent(t, "shipping-otp-api-key.json")
	big := good
	big.Body = `{"pad":"` + strings.Repeat("a", shipping.DefaultMaxBodyBytes) + `"}`
	get := good
	get.RequestContext.HTTP.Method = "GET"
	text := good
	text.Headers = map[string]string{"x-api-key": good.Headers["x-api-key"], "content-type": "text/plain"}
	b64 := good
	b64.IsBase64Encoded, b64.Body = true, "%%%not base64%%%"
	noType := good
	noType.Headers = map[string]string{"x-api-key": good.Headers["x-api-key"]}
	noType.IsBase64Encoded = true // API Gateway base64-encodes bodies without a Content-Type
	noType.Body = "eyJ2ZXJzaW9uIjoiMCJ9"
	bigNoAuth := big
	bigNoAuth.Headers = map[string]string{"content-type": "application/json"}

	tests := []struct {
		name      string
		req       events.APIGatewayV2HTTPRequest
		want      int
		wantError string
		wantField string
	}{
		{"body too large", big, 413, "payload_too_large", ""},
		{"body too large is refused before authentication", bigNoAuth, 413, "payload_too_large", ""},
		{"wrong method", get, 405, "method_not_allowed", ""},
		// Authenticated deliveries that cannot be processed are quarantined, not refused: 202
		// stops Amazon's retries and the body still names the problem.
		{"wrong content type", text, 202, "unsupported_media_type", ""},
		{"broken base64", b64, 202, "invalid_encoding", ""},
		{"base64 body without content type is decoded and validated", noType, 202, "invalid_payload", "id"},
		{"malformed event file", testenv.LoadEvent(t, "shipping-otp-malformed.json"), 202, "invalid_payload", "detail.verificationCodeTTL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.post(t, tc.req)
			if resp.StatusCode != tc.want || body["error"] != tc.wantError {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, body, tc.want, tc.wantError)
			}
			if tc.wantField != "" && body["field"] != tc.wantField {
				t.Errorf("field = %v, want %s", body["field"], tc.wantField)
			}
			if tc.want == 202 {
				assertQuarantined(t, e.quarantine, body, tc.req, tc.wantError, tc.wantField)
			}
			for _, h := range []string{"X-Content-Type-Options", "Cache-Control", "Content-Type"} {
				if resp.Headers[h] == "" {
					t.Errorf("header %s missing", h)
				}
			}
		})
	}
}

var _ io.Writer = (*testenv.LogBuffer)(nil)

// TestLargeAccumulatedPayload: many tracking IDs in one delivery are all stored and emitted (writes
// run concurrently, events in concurrent batches of 10). moto is far slower than DynamoDB and
// EventBridge, so this checks correctness, not the time budget.
func TestLargeAccumulatedPayload(t *testing.T) {
	e := newEnv(t)
	e.received = sampleReceipt
	const n = 60
	var details []string
	for i := range n {
		details = append(details, fmt.Sprintf(`{"verificationCode":"%06d","verificationCodeTTL":4102444799000,"trackingId":"BULK%04d","alternateLegTrackingId":"R%04d","shipmentType":"REVERSE","eventCode":"PIN_GENERATED"}`, i, i, i))
	}
	body := `{"version":"0","id":"bulk-1","detail-type":"PN Event","source":"AmazonShipping","account":"474668380910","time":"2025-01-28T11:14:36Z","region":"eu-west-1","resources":[],"detail":[` + strings.Join(details, ",") + `]}`
	req := testenv.LoadEvent(t, "shipping-otp-api-key.json")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := e.handler.Handle(ctx, withBody(req, body))
	if err != nil || resp.StatusCode != 200 {
		for _, l := range strings.Split(logSink.String(), "\n") {
			if strings.Contains(l, "bulk-1") && strings.Contains(l, "ERROR") {
				t.Log(l)
			}
		}
		t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
	}
	if evs := e.consumed(t); len(evs) != n {
		t.Errorf("%d events, want %d", len(evs), n)
	}
	e.now = time.Date(2024, 1, 13, 0, 0, 0, 0, time.UTC)
	for _, id := range []string{"BULK0000", "BULK0030", "BULK0059"} {
		if _, err := e.store.ByTrackingID(context.Background(), id); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
}

// assertQuarantined checks that answer points to a record of req, kept whole but for its
// credentials, with the reason given.
func assertQuarantined(t *testing.T, q *quarantine.Store, answer map[string]any, req events.APIGatewayV2HTTPRequest, reason, field string) {
	t.Helper()
	key, _ := answer["quarantineKey"].(string)
	r, err := q.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("quarantine %q: %v", key, err)
	}
	if r.Reason != reason || r.Field != field || r.Webhook != shipping.Webhook || r.Function == "" || r.QuarantinedAt.IsZero() {
		t.Errorf("record = %s/%s/%s/%s/%v, want %s/%s", r.Webhook, r.Function, r.Reason, r.Field, r.QuarantinedAt, reason, field)
	}
	if r.Request.Body != req.Body || r.Request.IsBase64Encoded != req.IsBase64Encoded || r.Request.RawPath != req.RawPath {
		t.Errorf("the record does not hold the delivery whole")
	}
	for name := range r.Request.Headers {
		if strings.EqualFold(name, "x-api-key") || strings.EqualFold(name, "authorization") {
			t.Errorf("the record keeps the credential header %s", name)
		}
	}
}

// An accumulated delivery with one invalid entry: the valid OTPs are stored and announced now, the
// delivery is quarantined whole, and a replay that still finds the entry invalid keeps it there.
func TestPartlyInvalidDeliveryProcessesTheValidEntriesAndQuarantinesTheWhole(t *testing.T) {
	e := newEnv(t)
	e.received = sampleReceipt
	e.now = time.Date(2024, 1, 13, 0, 0, 0, 0, time.UTC)
	req := testenv.LoadEvent(t, "shipping-otp-accumulated.json")
	var body map[string]any
	_ = json.Unmarshal([]byte(req.Body), &body)
	details := body["detail"].([]any)
	delete(details[1].(map[string]any), "verificationCodeTTL")
	b, _ := json.Marshal(body)
	req.Body = string(b)

	resp, answer := e.post(t, req)
	if resp.StatusCode != 202 || answer["status"] != "quarantined" || answer["field"] != "detail[1].verificationCodeTTL" || answer["events"] != float64(1) {
		t.Fatalf("got %d %v", resp.StatusCode, answer)
	}
	if _, err := e.store.ByTrackingID(context.Background(), "1709913037950"); err != nil {
		t.Errorf("the valid entry's OTP was not stored: %v", err)
	}
	if _, err := e.store.ByTrackingID(context.Background(), "1709913037951"); err == nil {
		t.Error("the invalid entry's OTP was stored")
	}
	if got := e.consumed(t); len(got) != 1 || got[0].Detail.Data.TrackingID != "1709913037950" {
		t.Errorf("events: %+v, want one for the valid entry", got)
	}
	assertQuarantined(t, e.quarantine, answer, req, "invalid_payload", "detail[1].verificationCodeTTL")

	// A replay before the fix: still partly invalid, so it stays quarantined (the replay command
	// deletes only on 200), and the valid entry is announced again under the same key.
	replay := e.handler
	order, _ := json.Marshal(map[string]any{"quarantineReplay": map[string]string{"key": answer["quarantineKey"].(string)}})
	again, err := replay(context.Background(), order)
	if err != nil || again.StatusCode != 202 {
		t.Fatalf("replay: %d %s %v", again.StatusCode, again.Body, err)
	}
	if got := e.consumed(t); len(got) != 1 || got[0].Detail.Metadata.IdempotencyKey != "shipping:6f1c2a9e-5b7d-4c1e-9a0b-3d2e1f4a5b6c:1709913037950" {
		t.Errorf("replayed events: %+v", got)
	}
}
