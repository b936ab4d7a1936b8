package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/lookup"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }

// deployEnv sets every variable the template gives the function, with local tables.
func deployEnv(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	cfg, err := localaws.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]string{}
	for _, id := range []string{"OtpTable", "TrackingTable"} {
		if tables[id], err = localaws.CreateTable(ctx, cfg, tmpl, id); err != nil {
			t.Fatal(err)
		}
	}
	testenv.SetFunctionEnv(t, "ShippingLookupFunction", map[string]string{
		"LOG_LEVEL": "INFO", "EVENT_BUS_NAME": "unused",
		"OTP_TABLE_NAME": tables["OtpTable"], "TRACKING_TABLE_NAME": tables["TrackingTable"],
	})
}

// Built as Lambda builds it, the function answers a signed lookup of an unknown ID with 404.
func TestBuildFromTemplateEnvironment(t *testing.T) {
	deployEnv(t)
	h, err := build(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	req := events.APIGatewayV2HTTPRequest{RouteKey: lookup.OTPRouteKey, PathParameters: map[string]string{"trackingId": "T-unknown"}}
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:user/dev"},
	}
	payload, _ := json.Marshal(req)
	resp, err := h(context.Background(), payload)
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("%v %d %s", err, resp.StatusCode, resp.Body)
	}
}

func TestBuildRejectsBadConfiguration(t *testing.T) {
	for _, name := range []string{"OTP_TABLE_NAME", "TRACKING_TABLE_NAME"} {
		t.Run(name, func(t *testing.T) {
			deployEnv(t)
			t.Setenv(name, "")
			if _, err := build(context.Background(), slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("err = %v, want one naming %s", err, name)
			}
		})
	}
}
