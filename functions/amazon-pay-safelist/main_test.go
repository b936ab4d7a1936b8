package main

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"

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
	target, newClient, err := build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (safelist.Target{Endpoint: ipnURL, Sandbox: true}); target != want {
		t.Errorf("target %+v, want %+v", target, want)
	}
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
			target, _, err := build(t.Context())
			if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("build: %+v, %v; want error mentioning %q", target, err, tt.wantErr)
			}
			if err == nil && (target.Endpoint != ipnURL || target.Sandbox) {
				t.Errorf("target %+v", target)
			}

			// As main wires it: an event for another URL is refused without reading the secret
			// (the ARN above does not exist), and a misconfigured function fails it with its error.
			h := handler(t.Context(), slog.New(slog.DiscardHandler))
			_, _, herr := h(t.Context(), cfn.Event{RequestType: cfn.RequestCreate, RequestID: "r",
				ResourceProperties: map[string]any{"Endpoint": "https://attacker.example/ipn", "Sandbox": "false"}})
			want := tt.wantErr
			if want == "" {
				want = "does not match the deployed target"
			}
			if herr == nil || !strings.Contains(herr.Error(), want) {
				t.Errorf("attacker's event: %v; want an error mentioning %q", herr, want)
			}
			if _, _, derr := h(t.Context(), cfn.Event{RequestType: cfn.RequestDelete, PhysicalResourceID: "p"}); derr != nil {
				t.Errorf("delete: %v", derr)
			}
		})
	}
}
