package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/tests/emfcheck"
)

// panicky panics while authenticating: outside the guard that quarantines, so Lambda sees it.
type panicky struct{}

func (panicky) Authenticate(context.Context, *slog.Logger, *events.APIGatewayV2HTTPRequest, bool) (struct{}, *slog.Logger, error) {
	panic("bug")
}

func (panicky) Plan(context.Context, *slog.Logger, *events.APIGatewayV2HTTPRequest, struct{}, bool) (Delivery, error) {
	return Delivery{}, nil
}

// Invocations that end without an answer — a payload that is not JSON, a panic — are deliveries
// too: each writes its one line, as a 500 (what API Gateway answers for a failed invocation).
func TestAnInvocationWithoutAnAnswerStillWritesOneEMFLine(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		panics  bool
	}{
		{"payload not JSON", `not json`, false},
		{"handler panics", ``, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			store := &records{}
			h := New("shipping", panicky{}, Deps{
				Records: store, MaxBodyBytes: 64, Metrics: &out,
				Quarantine: &quarantine.Keeper{Store: store, Webhook: "shipping"},
				Log:        slog.New(slog.DiscardHandler),
			})
			payload := json.RawMessage(tc.payload)
			if tc.payload == "" {
				payload, _ = json.Marshal(request())
			}
			func() {
				defer func() {
					if r := recover(); (r != nil) != tc.panics {
						t.Errorf("panic %v, want a panic: %v", r, tc.panics)
					}
				}()
				_, _ = h(context.Background(), payload)
			}()
			lines, err := emfcheck.Lines(out.String())
			if err != nil {
				t.Fatal(err)
			}
			if len(lines) != 1 || strings.Count(out.String(), "\n") != 1 {
				t.Fatalf("want one EMF line, got %q", out.String())
			}
			if lines[0]["Outcome"] != "unavailable" || lines[0]["Reason"] != "other" || lines[0]["Webhook"] != "shipping" {
				t.Errorf("line %v", lines[0])
			}
		})
	}
}

// Without a writer (unit tests) nothing is written and nothing fails.
func TestNoMetricsWriter(t *testing.T) {
	store := &records{}
	h := New("shipping", panicky{}, Deps{Records: store, Log: slog.New(slog.DiscardHandler)})
	if _, err := h(context.Background(), json.RawMessage(`x`)); err == nil {
		t.Fatal("want the payload error")
	}
}

// A delivery's record is its log line too: at LogLevel INFO a new delivery and its duplicate each
// write that one line and no other, and it says what "delivery answered" said — the level, the
// status, the request ids, the account.
func TestADeliveryWritesOnlyItsRecordAtInfo(t *testing.T) {
	var stdout bytes.Buffer // the log lines and the record share it, as in Lambda
	store := &records{}
	steps := fakeSteps{delivery: Delivery{Claims: []Claim{{Key: "k"}}, Work: work(1, nil)}}
	h := New("aps", &steps, Deps{
		Once: &once{done: map[string]bool{}}, Events: &bus{}, Records: store, MaxBodyBytes: 64,
		Quarantine: &quarantine.Keeper{Store: store, Webhook: "aps"}, Metrics: &stdout,
		Log: slog.New(slog.NewJSONHandler(&stdout, nil)),
	})
	req := request()
	req.RequestContext.RequestID = "Jx1a2b3c4d5e6fA="
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "8f5c3a1e-2b7d-4c9a-9e1f-0a1b2c3d4e5f"})
	for _, outcome := range []string{"accepted", "duplicate"} {
		stdout.Reset()
		if resp, err := h.Handle(ctx, req); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s %v", outcome, resp.StatusCode, resp.Body, err)
		}
		if strings.Count(stdout.String(), "\n") != 1 {
			t.Fatalf("%s: want one line, got %q", outcome, stdout.String())
		}
		m, err := emfcheck.Check(strings.TrimSuffix(stdout.String(), "\n"))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"Outcome": outcome, "level": "INFO", "msg": "delivery answered", "status": json.Number("200"),
			"requestId": "Jx1a2b3c4d5e6fA=", "awsRequestId": "8f5c3a1e-2b7d-4c9a-9e1f-0a1b2c3d4e5f", "account": "default",
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s: %s = %v, want %v: %s", outcome, k, m[k], v, stdout.String())
			}
		}
	}
}
