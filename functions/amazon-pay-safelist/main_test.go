package main

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/safelist"
	"github.com/amazon-webhook-gateway/gateway/shared/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }

func TestClientFactoryReadsTheSecretPerEvent(t *testing.T) {
	ctx := context.Background()
	cfg, err := testenv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := testenv.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	if names := tmpl.FunctionEnv("AmazonPaySafelistFunction"); !slices.Contains(names, "AMAZON_PAY_SECRET_ARN") {
		t.Fatalf("template.yaml does not give the function AMAZON_PAY_SECRET_ARN: %v", names)
	}
	arn, err := testenv.CreateSecret(ctx, cfg, `{"merchantId":"AMAZONMID12","accessKeyId":"AKID","secretKey":"secret"}`)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AMAZON_PAY_SECRET_ARN", arn)
	newClient, err := build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, props := range []map[string]any{{"Sandbox": "true"}, {"Sandbox": "false"}, {}} {
		if c, err := newClient(ctx, props); err != nil || c == nil {
			t.Errorf("props %v: %v", props, err)
		}
	}
	if _, err := newClient(ctx, map[string]any{"Sandbox": "maybe"}); err == nil {
		t.Error("bad Sandbox accepted")
	}
	// A secret that is incomplete fails the event (CloudFormation gets FAILED), not the start.
	if err := testenv.PutSecret(ctx, cfg, arn, `{"merchantId":"AMAZONMID12"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(ctx, nil); !errors.Is(err, safelist.ErrInvalidCredentials) {
		t.Errorf("incomplete secret: %v", err)
	}
	t.Setenv("AMAZON_PAY_SECRET_ARN", "")
	if _, err := build(ctx); err == nil {
		t.Error("started without AMAZON_PAY_SECRET_ARN")
	}
}
