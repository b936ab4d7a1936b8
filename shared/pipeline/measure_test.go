package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

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
