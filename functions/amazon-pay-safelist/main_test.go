package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/amazon-webhook-gateway/gateway/shared/safelist"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }

const ipnURL = "https://abc123.execute-api.eu-west-1.amazonaws.com/amazon-pay/ipn"

// setEnv sets the function's own variables, after checking that template.yaml gives it each.
func setEnv(t *testing.T, values map[string]string) {
	t.Helper()
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	names := tmpl.FunctionEnv("AmazonPaySafelistFunction")
	for n, v := range values {
		if !slices.Contains(names, n) {
			t.Fatalf("template.yaml does not give the function %s: %v", n, names)
		}
		t.Setenv(n, v)
	}
}

func TestClientFactoryReadsTheSecretPerEvent(t *testing.T) {
	ctx := context.Background()
	cfg, err := localaws.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	arn, err := localaws.CreateSecret(ctx, cfg, `{"merchantId":"AMAZONMID12","accessKeyId":"AKID","secretKey":"secret"}`)
	if err != nil {
		t.Fatal(err)
	}
	setEnv(t, map[string]string{"AMAZON_PAY_SECRET_ARN": arn, "AMAZON_PAY_IPN_ENDPOINT": ipnURL, "AMAZON_PAY_SANDBOX": "true"})
	fc, err := safelist.ReadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if want := (safelist.Target{Endpoint: ipnURL, Sandbox: true}); fc.Target != want {
		t.Errorf("target %+v, want %+v", fc.Target, want)
	}
	newClient := safelist.ClientFactory(secretsmanager.NewFromConfig(cfg), fc.SecretARN)
	for _, host := range []string{safelist.SandboxHost, safelist.ProductionHost} {
		if c, err := newClient(ctx, host); err != nil || c == nil {
			t.Errorf("host %s: %v", host, err)
		}
	}
	// A secret that is incomplete fails the event (CloudFormation gets FAILED), not the start.
	if err := localaws.PutSecret(ctx, cfg, arn, `{"merchantId":"AMAZONMID12"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(ctx, safelist.ProductionHost); !errors.Is(err, safelist.ErrInvalidCredentials) {
		t.Errorf("incomplete secret: %v", err)
	}
}

// The function takes what to safelist from its environment only; a wrong or missing one is
// a configuration error that still answers CloudFormation (FAILED), never an exit.
func TestTheTargetComesOnlyFromTheEnvironment(t *testing.T) {
	good := map[string]string{"AMAZON_PAY_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:amazon-pay-AbCdEf",
		"AMAZON_PAY_IPN_ENDPOINT": ipnURL, "AMAZON_PAY_SANDBOX": "false"}
	tests := []struct {
		name    string
		change  map[string]string
		wantErr string // "" = builds
	}{
		{"complete", nil, ""},
		{"sandbox unset is production", map[string]string{"AMAZON_PAY_SANDBOX": ""}, ""},
		{"no endpoint", map[string]string{"AMAZON_PAY_IPN_ENDPOINT": ""}, "AMAZON_PAY_IPN_ENDPOINT"},
		{"http endpoint", map[string]string{"AMAZON_PAY_IPN_ENDPOINT": "http://abc123.execute-api.eu-west-1.amazonaws.com/amazon-pay/ipn"}, "https only"},
		{"bad sandbox", map[string]string{"AMAZON_PAY_SANDBOX": "maybe"}, "Sandbox"},
		{"no secret", map[string]string{"AMAZON_PAY_SECRET_ARN": ""}, "AMAZON_PAY_SECRET_ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := maps.Clone(good)
			maps.Copy(env, tt.change)
			setEnv(t, env)
			cfg, err := safelist.ReadConfig()
			if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ReadConfig: %+v, %v; want error mentioning %q", cfg, err, tt.wantErr)
			}
			if err == nil && (cfg.Target.Endpoint != ipnURL || cfg.Target.Sandbox) {
				t.Errorf("target %+v", cfg.Target)
			}

			// As main wires it: an event for another URL is refused without reading the secret
			// (the ARN above does not exist), and a misconfigured function fails it with its error.
			h, err := build(t.Context(), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			responses := newResponses(t)
			if _, err := h(t.Context(), cfn.Event{RequestType: cfn.RequestCreate, RequestID: "r", ResponseURL: responses.URL,
				ResourceProperties: map[string]any{"Endpoint": "https://attacker.example/ipn", "Sandbox": "false"}}); err != nil {
				t.Fatal(err)
			}
			want := tt.wantErr
			if want == "" {
				want = "does not match the deployed target"
			}
			if r := responses.only(t); r.Status != cfn.StatusFailed || !strings.Contains(r.Reason, want) {
				t.Errorf("attacker's event: %s %q; want FAILED mentioning %q", r.Status, r.Reason, want)
			}
			if _, err := h(t.Context(), cfn.Event{RequestType: cfn.RequestDelete, RequestID: "r", PhysicalResourceID: "p", ResponseURL: responses.URL}); err != nil {
				t.Fatal(err)
			}
			if r := responses.only(t); r.Status != cfn.StatusSuccess {
				t.Errorf("delete: %s %q", r.Status, r.Reason)
			}
		})
	}
}

// responses stands in for CloudFormation's pre-signed response URL and keeps what was PUT.
type responses struct {
	*httptest.Server
	mu  sync.Mutex
	got []cfn.Response
}

func newResponses(t *testing.T) *responses {
	t.Helper()
	rs := &responses{}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var resp cfn.Response
		if err := json.NewDecoder(r.Body).Decode(&resp); err != nil {
			t.Errorf("response body: %v", err)
		}
		rs.mu.Lock()
		rs.got = append(rs.got, resp)
		rs.mu.Unlock()
	}))
	t.Cleanup(rs.Close)
	return rs
}

// only returns the one response PUT since the last call.
func (rs *responses) only(t *testing.T) cfn.Response {
	t.Helper()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	got := rs.got
	rs.got = nil
	if len(got) != 1 {
		t.Fatalf("%d responses, want one: %+v", len(got), got)
	}
	return got[0]
}
