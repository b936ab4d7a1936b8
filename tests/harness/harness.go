// Package harness builds the three webhook functions with their packages' New, as their main.go
// does (the functions' own AWS retry and timeout settings, a quarantine, oversized-event offloading), against
// moto_server behind a fault proxy, and builds authentic deliveries for each: the end-to-end
// suites under tests/ (bad input, faults, load) drive every webhook through it.
package harness

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpay"
	"github.com/amazon-webhook-gateway/gateway/shared/aps"
	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
	"github.com/amazon-webhook-gateway/gateway/shared/auth"
	"github.com/amazon-webhook-gateway/gateway/shared/awsconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/delivery"
	"github.com/amazon-webhook-gateway/gateway/shared/lookup"
	"github.com/amazon-webhook-gateway/gateway/shared/oauth"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
	"github.com/amazon-webhook-gateway/gateway/shared/trackingstore"
	"github.com/amazon-webhook-gateway/gateway/tests/snstest"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// Dev credentials, as in events/dev/.
const (
	APIKey    = "dev-api-key-0123456789abcdefghijklmn"
	APSPhrase = "dev-response-phrase-0123456789"
	TopicARN  = snstest.TopicARN
	// EventSources is an event pattern matching every gateway event.
	EventSources = `{"source":["` + shipping.EventSource + `","` + aps.EventSource + `","` + amazonpay.EventSource + `"]}`
)

// Secrets lists every secret value a test run handles, and the card and customer data of
// APSParams: none may appear in a log.
var Secrets = []string{APIKey, APSPhrase, "dev-password-0123456789abcdefghij", "dev-query-key-0123456789abcdefghijk", "SILgpo7pWbmzuURp2qri",
	"400555******0001", "test@example.com", ApplePayPhrase, ApplePayAccessCode}

// Gateway is the functions' Lambda handlers (the three webhooks and the lookups) and the resources they use.
type Gateway struct {
	Local *testenv.Local
	// AWS is the functions' configuration (awsconfig.Apply) with every service behind Local.Faults.
	AWS        aws.Config
	OTPs       *otpstore.Store
	Tracking   *trackingstore.Store
	Quarantine *quarantine.Store
	Bus        string
	SNS        *snstest.Server
	// Logs receives the functions' log lines at every level, and their deliveries' records.
	Logs *testenv.LogBuffer
	// Metrics receives the deliveries' records only: their EMF objects, which are also their
	// "delivery answered" log lines.
	Metrics *testenv.LogBuffer

	Shipping, APS, AmazonPay pipeline.LambdaHandler
	// Lookup is ShippingLookupFunction, on the same OTP and tracking tables.
	Lookup lookup.LambdaHandler

	// OAuthKey signs tokens the Shipping function accepts (kid "dev-1", RS256).
	OAuthKey *rsa.PrivateKey

	// IdempotencyTable is the idempotency table's name.
	IdempotencyTable string
	// OTPTable is the OTP table's name.
	OTPTable string
	// RedriveQueues are the re-drive queues by webhook (StartDeferring only).
	RedriveQueues map[string]string

	// newShipping builds another instance of the Shipping function (a cold start) on the same
	// resources and configuration.
	newShipping func() pipeline.LambdaHandler
}

// ColdShipping is a new instance of the Shipping function, as Lambda starts one: it reads its
// secrets afresh.
func (g *Gateway) ColdShipping() pipeline.LambdaHandler { return g.newShipping() }

// OAuth settings of the Shipping function, as events/env.json has them.
const (
	Issuer   = "https://dev-issuer.invalid/amazon-webhook-gateway"
	Audience = "dev-amazon-shipping-client"
	Scope    = "amazon-shipping-webhook/otp.write"
)

// Claims are an access token's claims the Shipping function accepts, valid for an hour.
func Claims() map[string]any {
	return map[string]any{
		"iss": Issuer, "client_id": Audience, "token_use": "access", "scope": Scope,
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	}
}

// Token signs claims with OAuthKey as RS256, kid "dev-1".
func (g *Gateway) Token(claims map[string]any) string {
	tok, err := oauth.Sign(g.OAuthKey, "RS256", "dev-1", claims)
	if err != nil {
		panic(err)
	}
	return tok
}

// Start creates fresh resources in local's moto and wires the functions to them.
func Start(t testing.TB, local *testenv.Local) *Gateway {
	t.Helper()
	return start(t, local, nil)
}

// Configs are the three functions' configurations, which a variant of Start may change before the
// functions are built (StartAccounts).
type Configs struct {
	Shipping  *shipping.Config
	APS       *aps.Config
	AmazonPay *amazonpay.Config
}

// StartStdout is Start with the functions writing as they do in Lambda: their log lines at level
// (slog's JSON with its time) and their delivery records into one stream, stdout, besides Logs
// (every level) and Metrics. What stdout receives is what CloudWatch Logs would ingest from the
// functions.
func StartStdout(t testing.TB, local *testenv.Local, level slog.Leveler, stdout io.Writer) *Gateway {
	t.Helper()
	return startWriting(t, local, nil, &output{stdout: stdout, level: level})
}

// StartStdoutTuned is StartStdout with tune applied to the configurations first.
func StartStdoutTuned(t testing.TB, local *testenv.Local, level slog.Leveler, stdout io.Writer, tune func(*Stack, Configs)) *Gateway {
	t.Helper()
	return startWriting(t, local, tune, &output{stdout: stdout, level: level})
}

// output is where StartStdout's functions also write.
type output struct {
	stdout io.Writer
	level  slog.Leveler
}

// start is Start with tune applied to the configurations (nil: as they are).
func start(t testing.TB, local *testenv.Local, tune func(*Stack, Configs)) *Gateway {
	t.Helper()
	return startWriting(t, local, tune, nil)
}

// startWriting is start with the functions also writing to out (nil: Logs and Metrics only).
func startWriting(t testing.TB, local *testenv.Local, tune func(*Stack, Configs), out *output) *Gateway {
	t.Helper()
	local.CheckEvents(t)
	stack := NewStack(t, local.Config, local.Template)
	otpTable, shippingSecret, merchantSecret := stack.Table(t, "OtpTable"), stack.Secret(t, "credentials.json"), stack.Secret(t, "aps-merchant.json")

	cfg := awsconfig.Apply(local.Config.Copy())
	cfg.BaseEndpoint = aws.String(local.Faults.URL)
	g := &Gateway{Local: local, AWS: cfg, Bus: stack.EventBus, SNS: snstest.NewServer(t), Logs: &testenv.LogBuffer{}, Metrics: &testenv.LogBuffer{}, IdempotencyTable: stack.IdempotencyTable}
	log := slog.New(slog.NewJSONHandler(g.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// Each delivery's record is its EMF object and its "delivery answered" log line: Metrics
	// and Logs both get it, as the function's one stdout does in Lambda.
	metricsOut := io.MultiWriter(g.Metrics, g.Logs)
	if out != nil {
		log = slog.New(teeHandler{log.Handler(), slog.NewJSONHandler(out.stdout, &slog.HandlerOptions{Level: out.level})})
		metricsOut = io.MultiWriter(g.Metrics, g.Logs, out.stdout)
	}
	g.OTPs, g.OTPTable = otpstore.New(dynamodb.NewFromConfig(cfg), otpTable, nil), otpTable
	trackingTable := stack.Table(t, "TrackingTable")
	g.Tracking = trackingstore.New(dynamodb.NewFromConfig(cfg), trackingTable, 0, nil)
	g.Quarantine = quarantine.New(delivery.Objects(cfg), stack.PayloadBucket)

	jwks := must[[]byte](t)(os.ReadFile(filepath.Join(localaws.RepoRoot(), "events", "dev", "jwks.json")))
	jwksServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}))
	t.Cleanup(jwksServer.Close)
	pemBytes := must[[]byte](t)(os.ReadFile(filepath.Join(localaws.RepoRoot(), "events", "dev", "oauth-private-key.pem")))
	blk, _ := pem.Decode(pemBytes)
	g.OAuthKey = must[any](t)(x509.ParsePKCS8PrivateKey(blk.Bytes)).(*rsa.PrivateKey)

	// Each function as its main.go builds it, with the settings template.yaml gives it.
	settings := func(function string, maxBody int) pipeline.Settings {
		return pipeline.Settings{Function: function, MaxBodyBytes: maxBody, Resources: stack.Resources, Metrics: metricsOut}
	}
	sc := shipping.Config{
		Settings: settings("ShippingOtpFunction", shipping.DefaultMaxBodyBytes), OTPTable: otpTable, IncludeOTP: true,
		TrackingTable: trackingTable, TrackingRetentionDays: shipping.DefaultTrackingRetentionDays,
		Modes:  []auth.Mode{auth.ModeAPIKey, auth.ModeQuery, auth.ModeBasic, auth.ModeOAuth},
		Secret: secrets.Setting{ARN: shippingSecret, Refresh: 5 * time.Minute},
		OAuth:  oauth.Config{Issuer: Issuer, JWKSURL: jwksServer.URL + "/.well-known/jwks.json", Audiences: []string{Audience}, RequiredScope: Scope},
	}
	ac := aps.Config{
		Settings: settings("ApsFunction", aps.DefaultMaxBodyBytes), Secret: secrets.Setting{ARN: merchantSecret, Refresh: 5 * time.Minute},
		Algorithm: apssignature.SHA256, DedupeRetentionDays: aps.DefaultDedupeRetentionDays,
	}
	pc := amazonpay.Config{
		Settings: settings("AmazonPayIpnFunction", amazonpay.DefaultMaxBodyBytes), Topics: []string{TopicARN}, HTTPClient: g.SNS.Client(),
	}
	if tune != nil {
		tune(stack, Configs{Shipping: &sc, APS: &ac, AmazonPay: &pc})
	}
	g.newShipping = func() pipeline.LambdaHandler { return must[pipeline.LambdaHandler](t)(shipping.New(cfg, sc, log)) }
	g.Shipping = g.newShipping()
	g.APS = must[pipeline.LambdaHandler](t)(aps.New(cfg, ac, log))
	g.AmazonPay = must[pipeline.LambdaHandler](t)(amazonpay.New(cfg, pc, log))
	g.Lookup = must[lookup.LambdaHandler](t)(lookup.New(cfg, lookup.Config{OTPTable: otpTable, TrackingTable: trackingTable, Metrics: metricsOut}, log))
	return g
}

// Handler returns the entry point serving req's route.
func (g *Gateway) Handler(req events.APIGatewayV2HTTPRequest) pipeline.LambdaHandler {
	switch {
	case lookup.IsRoute(req.RouteKey):
		return pipeline.LambdaHandler(g.Lookup)
	case strings.HasPrefix(req.RawPath, "/shipping/"):
		return g.Shipping
	case strings.HasPrefix(req.RawPath, "/aps/"):
		return g.APS
	default:
		return g.AmazonPay
	}
}

// Deliver invokes the function serving req with the 4 s budget Lambda gives it.
func (g *Gateway) Deliver(req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	resp, err := g.Handler(req).Handle(ctx, req)
	if err != nil {
		// The handlers never return errors; a test should see it as a failed delivery.
		return events.APIGatewayV2HTTPResponse{StatusCode: 500, Body: fmt.Sprintf(`{"error":%q}`, err.Error())}
	}
	return resp
}

// senderWindow bounds Send's retries: Amazon's senders retry for minutes to hours; a suite gives a
// delivery this long, several times the functions' 4 s budget.
const senderWindow = 30 * time.Second

// Send delivers req as Amazon's senders do: a 429 or 5xx answer is retried with backoff until a
// final answer or senderWindow. Such an answer on the way is the local AWS outlasting a function's
// budget (a loaded machine), not a broken guarantee; the test log says so. The guarantees hold for
// the final answer: a 2xx whose work or events are missing is a broken one, which the test reports.
func (g *Gateway) Send(t testing.TB, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	end := time.Now().Add(senderWindow)
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		resp := g.Deliver(req)
		if !Retryable(resp.StatusCode) || time.Now().After(end) {
			return resp
		}
		t.Logf("local AWS too slow, not a broken guarantee: attempt %d answered %d %s; the sender retries", attempt, resp.StatusCode, resp.Body)
		time.Sleep(backoff)
		backoff = min(2*backoff, 2*time.Second)
	}
}

// Retryable says whether Amazon's senders retry an answer with this status code.
func Retryable(status int) bool { return status == 429 || status >= 500 }

// RouteAll routes every gateway event on the bus to a new queue and returns its URL.
func (g *Gateway) RouteAll(t testing.TB) string {
	t.Helper()
	q, err := localaws.RouteToQueue(context.Background(), g.Local.Config, g.Bus, EventSources)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// Request is an API Gateway HTTP API (payload 2.0) POST to path.
func Request(path, contentType, body string, base64Encoded bool) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST " + path, RawPath: path, Body: body, IsBase64Encoded: base64Encoded,
		Headers: map[string]string{},
	}
	if contentType != "" {
		req.Headers["content-type"] = contentType
	}
	req.RequestContext.HTTP.Method = "POST"
	req.RequestContext.HTTP.Path = path
	req.RequestContext.RequestID = fmt.Sprintf("req-%d", time.Now().UnixNano())
	return req
}

// OTP is one Amazon Shipping OTP detail entry.
type OTP struct {
	TrackingID, Code string
	// TTL is verificationCodeTTL, epoch milliseconds.
	TTL int64
}

// ShippingBody is an Amazon Shipping push notification with envelope id and the OTPs (one: a
// detail object; more: an accumulated detail array).
func ShippingBody(id string, at time.Time, otps ...OTP) string {
	var details []map[string]any
	for _, o := range otps {
		details = append(details, map[string]any{
			"verificationCode": o.Code, "verificationCodeTTL": o.TTL, "trackingId": o.TrackingID,
			"alternateLegTrackingId": "alt-" + o.TrackingID, "shipmentType": "REVERSE", "eventCode": "PIN_GENERATED",
			"appId": "amzn1.aaa.app.test",
		})
	}
	env := map[string]any{
		"version": "0", "id": id, "detail-type": "PN Event", "source": "AmazonShipping", "account": "474668380910",
		"time": at.UTC().Format(time.RFC3339), "region": "eu-west-1", "resources": []string{},
	}
	if len(details) == 1 {
		env["detail"] = details[0]
	} else {
		env["detail"] = details
	}
	b, _ := json.Marshal(env)
	return string(b)
}

// Shipping is an authenticated Amazon Shipping delivery of body.
func Shipping(body string) events.APIGatewayV2HTTPRequest {
	req := Request("/shipping/notifications", "application/json; charset=utf-8", body, false)
	req.Headers["x-api-key"] = APIKey
	return req
}

// APSParams is a signed-ready APS purchase success for merchant reference ref.
func APSParams(ref, fortID string) map[string]string {
	return map[string]string{
		"access_code": "SILgpo7pWbmzuURp2qri", "merchant_identifier": "MxvOupuG", "merchant_reference": ref,
		"command": "PURCHASE", "amount": "10000", "currency": "AED", "fort_id": fortID, "status": "14",
		"response_code": "14000", "response_message": "Success", "card_number": "400555******0001",
		"customer_email": "test@example.com", "eci": "ECOMMERCE", "payment_option": "VISA",
	}
}

// SignAPS returns params with the dev phrase's SHA-256 signature.
func SignAPS(params map[string]string) map[string]string {
	p := map[string]string{}
	for k, v := range params {
		p[k] = v
	}
	s, _ := apssignature.NewSigner(apssignature.SHA256, APSPhrase)
	p["signature"] = s.Sign(p)
	return p
}

// APS is an APS feedback POST of params (signed as given) to route, as JSON or as a form.
func APS(route string, params map[string]string, form bool) events.APIGatewayV2HTTPRequest {
	if form {
		v := url.Values{}
		for k, x := range params {
			v.Set(k, x)
		}
		return Request(route, "application/x-www-form-urlencoded", encode64(v.Encode()), true)
	}
	b, _ := json.Marshal(params)
	return Request(route, "application/json", string(b), false)
}

// Notification is a signed SNS notification carrying an Amazon Pay IPN message.
func (g *Gateway) Notification(id, message string) *snsverify.Message {
	m := &snsverify.Message{
		Type: snsverify.TypeNotification, MessageID: id, TopicARN: TopicARN, Subject: "Amazon Pay IPN",
		Message: message, Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		UnsubscribeURL: "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
	}
	g.SNS.Sign(m)
	return m
}

// AmazonPay is the SNS delivery of m.
func AmazonPay(m *snsverify.Message) events.APIGatewayV2HTTPRequest {
	b, _ := json.Marshal(m)
	req := Request("/amazon-pay/ipn", "text/plain; charset=UTF-8", string(b), false)
	req.Headers["x-amz-sns-message-type"] = m.Type
	req.Headers["x-amz-sns-message-id"] = m.MessageID
	return req
}

// IndiaChargeMessage is an Amazon Pay (India) charge notification for order id.
func IndiaChargeMessage(id string) string {
	return `{"NotificationType":"ChargeNotification","amazonOrderId":"S04-` + id + `","merchantOrderId":"ORDER-` + id + `","amount":"100.00","currencyCode":"INR","status":"SUCCESS"}`
}

// ChargeMessage is an Amazon Pay v2 charge IPN message for charge id.
func ChargeMessage(id string) string {
	return `{"MerchantID":"A3EXAMPLE","ObjectType":"CHARGE","ObjectId":"` + id + `","ChargePermissionId":"S02-0000000-0000000","NotificationType":"STATE_CHANGE","NotificationId":"n-` + id + `","NotificationVersion":"V1"}`
}

func encode64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// teeHandler hands each record to both handlers, each filtering by its own level.
type teeHandler struct{ a, b slog.Handler }

func (h teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.a.Enabled(ctx, l) || h.b.Enabled(ctx, l)
}

func (h teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, x := range []slog.Handler{h.a, h.b} {
		if x.Enabled(ctx, r.Level) {
			errs = append(errs, x.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (h teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{h.a.WithAttrs(as), h.b.WithAttrs(as)}
}

func (h teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{h.a.WithGroup(name), h.b.WithGroup(name)}
}
