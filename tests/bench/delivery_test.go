// Package bench_test measures one warm delivery of each webhook, as Lambda runs it, with nothing
// of the product stubbed.
//
// Each function is built as its main.go builds it: envconfig.FromEnv with the package's
// ReadConfig and New (shipping, aps, amazonpay), from the environment template.yaml gives it
// (events/env.json's values, at the template's defaults for LOG_LEVEL and AUTH_MODES) and
// awsconfig.Load's AWS configuration. So the real idempotency store, OTP store, authenticator
// with its secret cache, SNS verifier, quarantine keeper and event publisher run, on the real SDK
// clients. AWS is faked below the SDK, at the http.RoundTripper of the aws.Config's HTTP client
// (fakeAWS): every call is serialised, signed and deserialised by the SDK as on AWS and answered
// at once with a canned, valid response. The one other substitution is the HTTP client of the
// SNS verifier, which fetches the signing certificate from memory (certFake). The log and EMF
// lines are written, at the production level, to a counter.
//
// A delivery is timed warm: the case is delivered once first, which reads the secrets and fetches
// the SNS certificate, both cached from then on as in a warm instance. The fake answers every
// claim as new, so each timed delivery is a new delivery's full path (its AWS calls are those of
// tests/calls' "new" budget; TestBenchedDeliveriesAreNewAndWarm holds them to it).
//
// BenchmarkDelivery reports ns/op, B/op and allocs/op of a delivery, its CPU time (cpu-ns/op: the
// process's user and system time over the loop, the collector's included) and the bytes it logs
// (log-B/op). BenchmarkRatio times the delivery and a bare JSON round trip of its body
// alternately in one loop and reports x-baseline, delivery / baseline: a reference line that this
// machine's speed does not move, not a goal. `make bench` prints the medians (tests/bench/report).
package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpay"
	"github.com/amazon-webhook-gateway/gateway/shared/aps"
	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
	"github.com/amazon-webhook-gateway/gateway/tests/calls"
	"github.com/amazon-webhook-gateway/gateway/tests/snsfixture"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
	"github.com/amazon-webhook-gateway/gateway/tools/samples"
)

// webhookCase is one webhook's function, a delivery of its sample, and the baseline's body.
type webhookCase struct {
	name    string
	payload []byte // the raw Lambda payload
	body    []byte // the JSON body of the baseline
	handler lambda.Handler
	aws     *fakeAWS
	certs   *certFake // Amazon Pay's SNS certificate; nil elsewhere
	logged  *counter  // log and EMF bytes
	// calls are the AWS calls of a new delivery: tests/calls' "new" budget.
	calls []string
}

// counter counts the bytes written to it: a function's stdout (log lines and EMF lines).
type counter struct{ n atomic.Int64 }

func (c *counter) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return len(p), nil }

// functionEnv sets the environment template.yaml gives logicalID, with events/env.json's values
// but the template's defaults where the development file differs (LOG_LEVEL, AUTH_MODES), and
// the Lambda runtime's own AWS variables; the shell's AWS settings are left out.
func functionEnv(tb testing.TB, logicalID string) map[string]string {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(localaws.RepoRoot(), "events", "env.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var all map[string]map[string]string
	if err := json.Unmarshal(raw, &all); err != nil {
		tb.Fatal(err)
	}
	env := all[logicalID]
	env["LOG_LEVEL"] = "INFO"
	if _, ok := env["AUTH_MODES"]; ok {
		env["AUTH_MODES"] = "api_key"
	}
	testenv.SetFunctionEnv(tb, logicalID, env)
	none := filepath.Join(tb.TempDir(), "none")
	for k, v := range map[string]string{
		// What the Lambda runtime sets: a role's temporary credentials (the session token is long,
		// and signed with every call), the region, the function's name and memory.
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"AWS_ACCESS_KEY_ID":               "ASIABENCHBENCHBENCH0",
		"AWS_SECRET_ACCESS_KEY":           "bench/secret/access/key/0123456789abcdefgh",
		"AWS_SESSION_TOKEN":               strings.Repeat("IQoJb3JpZ2luX2VjE", 40),
		"AWS_LAMBDA_FUNCTION_NAME":        "amazon-webhook-gateway-" + logicalID,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		// Nothing of the shell's AWS settings (make run prints some).
		"AWS_PROFILE":                         "",
		"AWS_CONFIG_FILE":                     none,
		"AWS_SHARED_CREDENTIALS_FILE":         none,
		"AWS_ENDPOINT_URL":                    "",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
		"AWS_EC2_METADATA_DISABLED":           "true",
	} {
		tb.Setenv(k, v)
	}
	return env
}

// built is the function as main.go builds it (envconfig.FromEnv(ctx, log, read, newFn)), on
// fake's AWS; tune sets what main.go leaves to the process (stdout) or the default (the SNS
// verifier's HTTP client).
func built[C any](tb testing.TB, log *slog.Logger, fake *fakeAWS, read func() (C, error),
	newFn func(aws.Config, C, *slog.Logger) (pipeline.LambdaHandler, error), tune func(*C),
) lambda.Handler {
	tb.Helper()
	h, err := envconfig.FromEnv(context.Background(), log, read, func(cfg aws.Config, c C, log *slog.Logger) (pipeline.LambdaHandler, error) {
		tune(&c)
		return newFn(onFake(cfg, fake), c, log)
	})
	if err != nil {
		tb.Fatal(err)
	}
	// As lambda.Start serves it.
	return lambda.NewHandler(h)
}

func readFile(tb testing.TB, parts ...string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{localaws.RepoRoot()}, parts...)...))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func bodyOf(tb testing.TB, payload []byte) []byte {
	tb.Helper()
	b, err := samples.Body(payload)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// withBody is payload (an API Gateway event) with its body's JSON text replaced, byte for byte
// elsewhere.
func withBody(tb testing.TB, payload, body []byte) []byte {
	tb.Helper()
	enc := func(s []byte) []byte {
		var b bytes.Buffer
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(false)
		if err := e.Encode(string(s)); err != nil {
			tb.Fatal(err)
		}
		return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	}
	old := enc(bodyOf(tb, payload))
	if bytes.Count(payload, old) != 1 {
		tb.Fatal("the sample's body is not found once as Go encodes it")
	}
	return bytes.Replace(payload, old, enc(body), 1)
}

// newCalls are the AWS calls of webhook's new delivery, as tests/calls budgets them.
func newCalls(tb testing.TB, webhook string) []string {
	tb.Helper()
	b, ok := calls.Find(webhook, "new")
	if !ok {
		tb.Fatalf("tests/calls has no budget of a new %s delivery", webhook)
	}
	return b.Calls
}

func cases(tb testing.TB) []*webhookCase {
	tb.Helper()
	var cs []*webhookCase
	newCase := func(name string) (*webhookCase, *slog.Logger) {
		c := &webhookCase{name: name, aws: &fakeAWS{secrets: map[string][]byte{}}, logged: &counter{}}
		// envconfig.Logger's handler, at the template's level, writing to the counter.
		return c, slog.New(slog.NewJSONHandler(c.logged, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}

	// Amazon Shipping: the valid sample, its OTP valid for a day from now (received today, the
	// file's 2099 TTL is beyond OTP_MAX_TTL_DAYS and would measure the quarantine).
	{
		c, log := newCase("shipping")
		env := functionEnv(tb, "ShippingOtpFunction")
		c.aws.secrets[env["AUTH_SECRET_ARN"]] = secretValue(env["AUTH_SECRET_ARN"], readFile(tb, "events", "dev", "credentials.json"))
		now := time.Now()
		payload, n, err := samples.RefreshEvent(readFile(tb, "events", "shipping-otp-valid.json"), now, now.Add(24*time.Hour))
		if err != nil || n != 1 {
			tb.Fatalf("refreshing the Shipping sample: %d OTPs, %v", n, err)
		}
		c.payload, c.body, c.calls = payload, bodyOf(tb, payload), newCalls(tb, "shipping")
		c.handler = built(tb, log, c.aws, shipping.ReadConfig, shipping.New, func(cfg *shipping.Config) { cfg.Metrics = c.logged })
		cs = append(cs, c)
	}

	// APS: the transaction feedback samples, signed for the development merchant. A form has no
	// JSON text of its own: its baseline is the JSON sample's body, with the same fields.
	jsonBody := bodyOf(tb, readFile(tb, "events", "aps-transaction-feedback-json.json"))
	for _, s := range []struct{ name, event string }{
		{"aps-json", "aps-transaction-feedback-json.json"},
		{"aps-form", "aps-transaction-feedback-form.json"},
	} {
		c, log := newCase(s.name)
		env := functionEnv(tb, "ApsFunction")
		c.aws.secrets[env["APS_SECRET_ARN"]] = secretValue(env["APS_SECRET_ARN"], readFile(tb, "events", "dev", "aps-merchant.json"))
		c.payload, c.body, c.calls = readFile(tb, "events", s.event), jsonBody, newCalls(tb, "aps")
		c.handler = built(tb, log, c.aws, aps.ReadConfig, aps.New, func(cfg *aps.Config) { cfg.Metrics = c.logged })
		cs = append(cs, c)
	}

	// Amazon Pay: the charge IPN sample as SNS sends it, timestamped now and signed (SHA256withRSA,
	// SignatureVersion 2) with a key whose certificate the verifier fetches from its SigningCertURL.
	{
		c, log := newCase("amazon-pay")
		functionEnv(tb, "AmazonPayIpnFunction")
		payload := readFile(tb, "events", "amazon-pay-ipn-charge.json")
		body := bodyOf(tb, payload)
		var m snsverify.Message
		if err := json.Unmarshal(body, &m); err != nil {
			tb.Fatal(err)
		}
		key := snsfixture.RSAKey(tb)
		c.certs = &certFake{url: m.SigningCertURL, pem: snsfixture.CertPEM(tb, key, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))}
		oldTimestamp, placeholder := m.Timestamp, m.Signature
		m.Timestamp = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
		if err := snsverify.Sign(&m, key); err != nil {
			tb.Fatal(err)
		}
		// SNS's own text (indented, its field order), with the new timestamp and signature.
		signed := bytes.Replace(body, []byte(`"`+oldTimestamp+`"`), []byte(`"`+m.Timestamp+`"`), 1)
		signed = bytes.Replace(signed, []byte(`"`+placeholder+`"`), []byte(`"`+m.Signature+`"`), 1)
		c.payload, c.body, c.calls = withBody(tb, payload, signed), signed, newCalls(tb, "amazon-pay")
		c.handler = built(tb, log, c.aws, amazonpay.ReadConfig, amazonpay.New, func(cfg *amazonpay.Config) {
			cfg.Metrics = c.logged
			cfg.HTTPClient = &http.Client{Transport: c.certs, Timeout: 3 * time.Second}
		})
		cs = append(cs, c)
	}

	// Warm every function: the first delivery reads the secret or fetches the certificate.
	for _, c := range cs {
		deliver(tb, c)
	}
	return cs
}

var (
	ok200    = []byte(`"statusCode":200`)
	accepted = []byte(`\"status\":\"accepted\"`)
)

// deliver invokes c's function with its payload as the Lambda runtime does (a 4 s deadline, the
// template's timeout, and the invocation's Lambda context), and fails tb unless it was accepted.
func deliver(tb testing.TB, c *webhookCase) {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(4*time.Second))
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
		InvokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:amazon-webhook-gateway-" + c.name,
	})
	resp, err := c.handler.Invoke(ctx, c.payload)
	cancel()
	if err != nil || !bytes.Contains(resp, ok200) || !bytes.Contains(resp, accepted) {
		tb.Fatalf("%s: %s %v (AWS calls: %v)", c.name, resp, err, c.aws.recorded())
	}
}

// baseline is the bare JSON round trip the delivery is set beside.
func baseline(body []byte) {
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		panic(err)
	}
	if _, err := json.Marshal(v); err != nil {
		panic(err)
	}
}

// BenchmarkDelivery is one warm delivery per webhook: ns/op, B/op, allocs/op, its CPU time and
// the bytes it logs.
func BenchmarkDelivery(b *testing.B) {
	for _, c := range cases(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			logged := c.logged.n.Load()
			cpu0, cpuOK := cpuTime()
			n := 0
			for b.Loop() {
				deliver(b, c)
				n++
			}
			cpu1, _ := cpuTime()
			if cpuOK {
				b.ReportMetric(float64(cpu1-cpu0)/float64(n), "cpu-ns/op")
			}
			b.ReportMetric(float64(c.logged.n.Load()-logged)/float64(n), "log-B/op")
		})
	}
}

// BenchmarkRatio runs each delivery and the bare JSON round trip of its body alternately in one
// loop, so that both see the same machine load, and reports delivery / baseline as x-baseline: a
// reference line, not a goal.
func BenchmarkRatio(b *testing.B) {
	for _, c := range cases(b) {
		b.Run(c.name, func(b *testing.B) {
			var path, base time.Duration
			n := 0
			for b.Loop() {
				t0 := time.Now()
				deliver(b, c)
				t1 := time.Now()
				baseline(c.body)
				path, base = path+t1.Sub(t0), base+time.Since(t1)
				n++
			}
			b.ReportMetric(float64(path.Nanoseconds())/float64(n), "delivery-ns/op")
			b.ReportMetric(float64(base.Nanoseconds())/float64(n), "baseline-ns/op")
			b.ReportMetric(float64(path)/float64(base), "x-baseline")
		})
	}
}

// TestBenchedDeliveriesAreNewAndWarm: what the benchmarks time is a warm instance's new delivery
// of each sample, accepted, on the full path: exactly the AWS calls of tests/calls' "new" budget
// (no secret read, no certificate fetched after the warm-up), and the baseline's body is JSON.
func TestBenchedDeliveriesAreNewAndWarm(t *testing.T) {
	for _, c := range cases(t) {
		t.Run(c.name, func(t *testing.T) {
			for i := range 3 {
				c.aws.record()
				deliver(t, c)
				if got := c.aws.recorded(); !slices.Equal(got, c.calls) {
					t.Fatalf("delivery %d made the AWS calls %v, want %v (tests/calls: a new delivery's budget)", i+1, got, c.calls)
				}
			}
			if c.certs != nil && c.certs.fetches.Load() != 1 {
				t.Errorf("the SNS certificate was fetched %d times, want once (the warm-up)", c.certs.fetches.Load())
			}
			if c.logged.n.Load() == 0 {
				t.Error("nothing logged: the log and EMF lines are part of the delivery")
			}
			baseline(c.body)
		})
	}
}

// TestFakeAWSRefusesWhatItDoesNotKnow: a call the fake has no answer for fails the delivery
// instead of passing for a success.
func TestFakeAWSRefusesWhatItDoesNotKnow(t *testing.T) {
	f := &fakeAWS{}
	for _, target := range []string{"DynamoDB_20120810.GetItem", "secretsmanager.GetSecretValue", "AWSEvents.PutRule"} {
		req, _ := http.NewRequest(http.MethodPost, "https://example.amazonaws.com/", strings.NewReader(`{"SecretId":"x"}`))
		req.Header.Set("X-Amz-Target", target)
		resp, err := f.RoundTrip(req)
		if err != nil || resp.StatusCode != 400 {
			t.Errorf("%s: %v %v, want a 400", target, resp, err)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, "https://events.eu-west-1.amazonaws.com/", strings.NewReader(`{"Entries":[]}`))
	req.Header.Set("X-Amz-Target", "AWSEvents.PutEvents")
	if resp, _ := f.RoundTrip(req); resp.StatusCode != 400 {
		t.Errorf("PutEvents without entries: %d, want 400", resp.StatusCode)
	}
}

// BenchmarkFakeAWSCall is the fake's own share of a delivery's figures: one PutEvents round trip
// through it (reading a request body, answering), of the three such calls a delivery makes.
func BenchmarkFakeAWSCall(b *testing.B) {
	f := &fakeAWS{}
	body := []byte(`{"Entries":[{"Detail":"{\"k\":\"v\"}","DetailType":"Shipping OTP Generated","EventBusName":"bus","Source":"s"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, "https://events.eu-west-1.amazonaws.com/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", "AWSEvents.PutEvents")
		resp, err := f.RoundTrip(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(resp, err)
		}
		_ = resp.Body.Close()
	}
}
