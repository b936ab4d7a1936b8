package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
	"github.com/amazon-webhook-gateway/gateway/tools/samples"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }

// deployEnv sets every variable the template gives the function, with values for local resources,
// and returns the stack.
func deployEnv(t testing.TB) *harness.Stack {
	t.Helper()
	stack := harness.MotoStack(t)
	stack.SetFunctionEnv(t, "ShippingOtpFunction", map[string]string{
		"OTP_TABLE_NAME": stack.Table(t, "OtpTable"), "AUTH_SECRET_ARN": stack.Secret(t, "credentials.json"),
		"TRACKING_TABLE_NAME": stack.Table(t, "TrackingTable"), "TRACKING_RETENTION_DAYS": "90", "NDR_DETAIL_TYPES": "NDR Detail,NDR Event",
		"INCLUDE_OTP_IN_EVENTS": "true", "OTP_MAX_TTL_DAYS": "7", "ARCHIVE_OTP_EVENTS": "false", "AUTH_MODES": "api_key,query,basic,oauth",
		"API_KEY_HEADER": "X-API-KEY", "QUERY_PARAM_NAME": "api_key", "SECRET_REFRESH_INTERVAL": "5m",
		"MAX_BODY_BYTES": "262144", "OAUTH_ISSUER": "https://dev-issuer.invalid/amazon-webhook-gateway",
		"OAUTH_JWKS_URL": "http://127.0.0.1:1/.well-known/jwks.json", "OAUTH_AUDIENCES": "dev-amazon-shipping-client",
		"OAUTH_REQUIRED_SCOPE": "amazon-shipping-webhook/otp.write", "OAUTH_MAX_TOKEN_LIFETIME": "24h",
		"ACCOUNT_SECRET_ARNS": "", "OAUTH_CLIENT_ACCOUNTS": "", "PUBLISH_DEPRECATED_DETAIL_TYPES": "true",
	})
	return stack
}

func quiet() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

// The samples through the wired handler, as the tools send them: the seed's OTP expired in
// January 2024, so it is announced as expired on arrival; the valid sample's, sent with its TTL
// an hour from now (tools/samples), as generated. Sent as the file holds it, the valid sample's
// TTL (2099) is beyond OTP_MAX_TTL_DAYS: quarantined, nothing published.
func TestBuildFromTemplateEnvironment(t *testing.T) {
	for _, tc := range []struct {
		sample         string
		raw            bool
		wantStatus     int
		wantDetailType string
	}{
		{"shipping-otp-api-key.json", false, 200, "Shipping OTP Expired On Arrival"},
		{"shipping-otp-valid.json", false, 200, "Shipping OTP Generated"},
		{"shipping-otp-valid.json", true, 202, ""},
	} {
		t.Run(fmt.Sprintf("%s raw=%v", tc.sample, tc.raw), func(t *testing.T) {
			stack := deployEnv(t)
			queue, err := localaws.RouteToQueue(context.Background(), stack.AWS, stack.EventBus, `{"source":["amazon-webhook-gateway.shipping"]}`)
			if err != nil {
				t.Fatal(err)
			}
			h := harness.Built(t, build, quiet())
			req := testenv.LoadEvent(t, tc.sample)
			if !tc.raw {
				req.Body = sendable(req.Body)
			}
			resp, _ := h.Handle(context.Background(), req)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("sample through the wired handler: %d %s, want %d", resp.StatusCode, resp.Body, tc.wantStatus)
			}
			var got []string
			for _, ev := range testenv.Consume[struct {
				DetailType string `json:"detail-type"`
			}](t, stack.AWS, queue, 10) {
				got = append(got, ev.DetailType)
			}
			var want []string
			if tc.wantDetailType != "" {
				want = []string{tc.wantDetailType}
			}
			if !slices.Equal(got, want) {
				t.Errorf("events %v, want %v", got, want)
			}
		})
	}
}

// sendable is a sample's body as the tools send it: its still-valid OTPs valid for an hour.
func sendable(body string) string {
	now := time.Now()
	b, _ := samples.RefreshBody([]byte(body), now, now.Add(samples.Validity))
	return string(b)
}

func TestBuildRejectsBadConfiguration(t *testing.T) {
	tests := []struct {
		name, key, value, wantInError string
	}{
		{"no table", "OTP_TABLE_NAME", "", "OTP_TABLE_NAME"},
		{"no tracking table", "TRACKING_TABLE_NAME", "", "TRACKING_TABLE_NAME"},
		{"bad tracking retention", "TRACKING_RETENTION_DAYS", "0", "TRACKING_RETENTION_DAYS"},
		{"no idempotency table", "IDEMPOTENCY_TABLE_NAME", "", "IDEMPOTENCY_TABLE_NAME"},
		{"no bus", "EVENT_BUS_NAME", "", "EVENT_BUS_NAME"},
		{"no payload bucket", "PAYLOAD_BUCKET", "", "PAYLOAD_BUCKET"},
		{"no auth mode", "AUTH_MODES", "", "AUTH_MODES"},
		{"unknown auth mode", "AUTH_MODES", "api_key,hmac", "hmac"},
		{"no secret", "AUTH_SECRET_ARN", "", "AUTH_SECRET_ARN"},
		{"no issuer", "OAUTH_ISSUER", "", "OAUTH_ISSUER"},
		{"no audience", "OAUTH_AUDIENCES", "", "OAuth"},
		{"bad token lifetime", "OAUTH_MAX_TOKEN_LIFETIME", "1d", "OAUTH_MAX_TOKEN_LIFETIME"},
		{"bad refresh interval", "SECRET_REFRESH_INTERVAL", "soon", "SECRET_REFRESH_INTERVAL"},
		{"bad body cap", "MAX_BODY_BYTES", "-1", "MAX_BODY_BYTES"},
		{"a deprecated-copies switch that is not a boolean", "PUBLISH_DEPRECATED_DETAIL_TYPES", "maybe", "PUBLISH_DEPRECATED_DETAIL_TYPES"},
		// Labels are bound in the configuration: refused from it alone, before any secret is read.
		{"an account label configured twice", "ACCOUNT_SECRET_ARNS",
			"acme-a=arn:aws:secretsmanager:eu-west-1:123456789012:secret:a-AbCdEf,acme-a=arn:aws:secretsmanager:eu-west-1:123456789012:secret:b-AbCdEf", `"acme-a" configured twice`},
		{"the default account's label", "ACCOUNT_SECRET_ARNS", "default=arn:aws:secretsmanager:eu-west-1:123456789012:secret:a-AbCdEf", "ShippingAuthSecretArn"},
		{"a label that cannot be one", "ACCOUNT_SECRET_ARNS", "Acme A=arn:aws:secretsmanager:eu-west-1:123456789012:secret:a-AbCdEf", "account label"},
		{"an entry that is neither", "ACCOUNT_SECRET_ARNS", "acme-a", "label=arn"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			deployEnv(t)
			t.Setenv(tc.key, tc.value)
			harness.BuildFails(t, build, tc.wantInError)
		})
	}
}

// BenchmarkColdStart measures what a new Lambda instance does before its first answer: wiring
// (AWS config, clients) plus the first delivery, which also fetches the secret. Compare with
// BenchmarkWarmDelivery from the same run.
func BenchmarkColdStart(b *testing.B) {
	deployEnv(b)
	req := testenv.LoadEvent(b, "shipping-otp-valid.json") // a usable OTP: the path every OTP takes
	req.Body = sendable(req.Body)
	for i := 0; b.Loop(); i++ {
		h := harness.Built(b, build, quiet())
		r := req
		r.Body = strings.Replace(req.Body, "5a7d3c9e", "cold"+time.Now().Format("150405.000000000"), 1)
		if resp, _ := h.Handle(context.Background(), r); resp.StatusCode != 200 {
			b.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
	}
}

// BenchmarkWarmDelivery is one delivery on an instance that has served before.
func BenchmarkWarmDelivery(b *testing.B) {
	deployEnv(b)
	h := harness.Built(b, build, quiet())
	req := testenv.LoadEvent(b, "shipping-otp-valid.json")
	req.Body = sendable(req.Body)
	for i := 0; b.Loop(); i++ {
		r := req
		r.Body = strings.Replace(req.Body, "5a7d3c9e", "warm"+time.Now().Format("150405.000000000"), 1)
		if resp, _ := h.Handle(context.Background(), r); resp.StatusCode != 200 {
			b.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
	}
}
