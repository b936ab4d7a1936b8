package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/amazon-webhook-gateway/gateway/tests/emfcheck"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
)

// Ids as long as Lambda's and API Gateway's, so that the sizes below are those of production.
const (
	awsRequestID = "8f5c3a1e-2b7d-4c9a-9e1f-0a1b2c3d4e5f"
	apiRequestID = "Jx1a2b3c4d5e6fA="
)

// A shipping tracking delivery of one entry.
func shippingTracking(*harness.Gateway) events.APIGatewayV2HTTPRequest {
	id := harness.Unique("track")
	return harness.Shipping(harness.ShippingEnvelope(id, "Tracking Detail", time.Now(), harness.TrackingEntry(id, "Delivered", time.Now().UTC().Format(time.RFC3339))))
}

// What a function writes per delivery is paid for as log ingestion ($0.50/GB). At LogLevel INFO a
// new delivery and its duplicate write one line each, the delivery's record, and at most budget
// bytes of it (docs/cost.md, docs/operations.md#logs); what they used to write beside it (the
// lines of the work, "delivery processed", "duplicate delivery") is DEBUG.
func TestADeliveryWritesOneCompactRecordAtInfo(t *testing.T) {
	var stdout bytes.Buffer
	g := harness.StartStdout(t, local, slog.LevelInfo, &stdout)
	for _, w := range []struct {
		name   string
		build  func(*harness.Gateway) events.APIGatewayV2HTTPRequest
		budget int
	}{
		{"shipping", harness.ShippingOK, 760},
		{"shipping tracking", shippingTracking, 760},
		{"aps", harness.APSOK, 700},
		{"amazon-pay", harness.IPNOK, 700},
	} {
		req := w.build(g)
		req.RequestContext.RequestID = apiRequestID
		for _, outcome := range []string{"accepted", "duplicate"} {
			stdout.Reset()
			resp := lambdaDeliver(g, req)
			if resp.StatusCode != 200 {
				t.Fatalf("%s %s: %d %s", w.name, outcome, resp.StatusCode, resp.Body)
			}
			out := stdout.String()
			t.Logf("%s, %s: %d bytes", w.name, outcome, len(out))
			if strings.Count(out, "\n") != 1 {
				t.Errorf("%s, %s: %d lines at INFO, want the record only:\n%s", w.name, outcome, strings.Count(out, "\n"), out)
				continue
			}
			if len(out) > w.budget {
				t.Errorf("%s, %s: %d bytes, want at most %d: %s", w.name, outcome, len(out), w.budget, out)
			}
			m, err := emfcheck.Check(strings.TrimSpace(out))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range map[string]any{"Outcome": outcome, "level": "INFO", "msg": "delivery answered", "status": json.Number("200"),
				"requestId": apiRequestID, "awsRequestId": awsRequestID, "account": "default"} {
				if m[k] != v {
					t.Errorf("%s, %s: %s = %v, want %v", w.name, outcome, k, m[k], v)
				}
			}
		}
	}
}

// The record carries the metrics: at LogLevel ERROR, which writes no INFO line, an accepted
// delivery is counted all the same.
func TestLogLevelErrorKeepsTheMetrics(t *testing.T) {
	var stdout bytes.Buffer
	g := harness.StartStdout(t, local, slog.LevelError, &stdout)
	for name, build := range map[string]func(*harness.Gateway) events.APIGatewayV2HTTPRequest{
		"shipping": harness.ShippingOK, "aps": harness.APSOK, "amazon-pay": harness.IPNOK,
	} {
		stdout.Reset()
		if resp := lambdaDeliver(g, build(g)); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", name, resp.StatusCode, resp.Body)
		}
		lines, err := emfcheck.Lines(stdout.String())
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) != 1 || strings.Count(stdout.String(), "\n") != 1 || lines[0]["Outcome"] != "accepted" || lines[0]["Webhook"] != name {
			t.Errorf("%s at LogLevel ERROR wrote %q, want its accepted record only", name, stdout.String())
		}
	}
}

// lambdaDeliver invokes the function serving req as Lambda would: with its request id and the 4 s
// budget.
func lambdaDeliver(g *harness.Gateway, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: awsRequestID})
	ctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	resp, err := g.Handler(req).Handle(ctx, req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{StatusCode: 500, Body: err.Error()}
	}
	return resp
}
