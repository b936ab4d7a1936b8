package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/tests/emfcheck"
)

// classifyBody is how measure used to classify an answer: by decoding its body back. It is the
// oracle for what the answers now say where they are built.
func classifyBody(resp events.APIGatewayV2HTTPResponse) (metrics.Outcome, string) {
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	_ = json.Unmarshal([]byte(resp.Body), &body)
	return metrics.Classify(resp.StatusCode, body.Status, body.Error)
}

// TestTheEMFLineClassifiesWhatTheAnswerSays: for every kind of answer — refused early,
// unauthenticated, quarantined (whole, partly, after a panic), accepted, duplicate, in progress,
// retry later, the replay orders' own answers — the EMF line's outcome and reason are those its
// body says, as decoding the body back found them.
func TestTheEMFLineClassifiesWhatTheAnswerSays(t *testing.T) {
	claims := []Claim{{Key: "outer"}}
	tests := []struct {
		name        string
		steps       fakeSteps
		done        bool
		inProgress  bool
		method      string
		body        string
		storeErr    error
		busErr      error
		payload     string // a replay order instead of the request
		wantOutcome metrics.Outcome
	}{
		{name: "not POST", method: "GET", wantOutcome: metrics.Rejected},
		{name: "too large", body: strings.Repeat("x", 65), wantOutcome: metrics.TooLarge},
		{name: "unauthenticated", steps: fakeSteps{authErr: &Rejection{Status: 401, Code: "unauthorized", Message: "no"}}, wantOutcome: metrics.Unauthorized},
		{name: "authentication unavailable", steps: fakeSteps{authErr: errors.New("down")}, wantOutcome: metrics.Unavailable},
		{name: "invalid: kept", steps: fakeSteps{planErr: Invalid("f", "bad")}, wantOutcome: metrics.Quarantined},
		{name: "invalid, quarantine down", storeErr: errors.New("s3 down"), steps: fakeSteps{planErr: Invalid("f", "bad")}, wantOutcome: metrics.Unavailable},
		{name: "panic: kept", steps: fakeSteps{panics: true}, wantOutcome: metrics.Quarantined},
		{name: "accepted", steps: fakeSteps{delivery: Delivery{Claims: claims, IDs: map[string]any{"id": "d1"}, CountEvents: true, Work: work(1, nil)}}, wantOutcome: metrics.Accepted},
		{name: "duplicate", done: true, steps: fakeSteps{delivery: Delivery{Claims: claims, Work: work(1, nil)}}, wantOutcome: metrics.Duplicate},
		{name: "in progress", inProgress: true, steps: fakeSteps{delivery: Delivery{Claims: claims, Work: work(1, nil)}}, wantOutcome: metrics.Unavailable},
		{name: "publishing fails", busErr: errors.New("throttled"), steps: fakeSteps{delivery: Delivery{Claims: claims, Work: work(1, nil)}}, wantOutcome: metrics.Unavailable},
		{name: "work fails for good", steps: fakeSteps{delivery: Delivery{Claims: claims, Work: work(1, Reject(400, "invalid_subscription", "bad"))}}, wantOutcome: metrics.Quarantined},
		{name: "partly invalid", steps: fakeSteps{delivery: Delivery{Claims: claims, Work: work(1, nil), Partly: Invalid("detail[1]", "bad")}}, wantOutcome: metrics.Quarantined},
		{name: "partly invalid, publishing fails", busErr: errors.New("throttled"), steps: fakeSteps{delivery: Delivery{Claims: claims, Work: work(1, nil), Partly: Invalid("detail[1]", "bad")}}, wantOutcome: metrics.Unavailable},
		{name: "replay of another webhook's delivery", payload: `{"quarantineReplay":{"key":"quarantine/aps/x.json"}}`, wantOutcome: metrics.Rejected},
		{name: "replay of no delivery", payload: `{"quarantineReplay":{"key":"quarantine/shipping/x.json"}}`, wantOutcome: metrics.Rejected},
		{name: "replay, bucket down", storeErr: errors.New("s3 down"), payload: `{"quarantineReplay":{"key":"quarantine/shipping/x.json"}}`, wantOutcome: metrics.Unavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := &records{err: tc.storeErr}
			var o onceRunner = &once{done: map[string]bool{"outer": tc.done}}
			if tc.inProgress {
				o = busyOnce{}
			}
			var emf bytes.Buffer
			steps := tc.steps
			h := New("shipping", &steps, Deps{
				Once: o, Events: &bus{err: tc.busErr}, Records: store, MaxBodyBytes: 64,
				Quarantine: &quarantine.Keeper{Store: store, Webhook: "shipping"},
				Log:        slog.New(slog.DiscardHandler), Metrics: &emf,
			})
			req := request()
			if tc.method != "" {
				req.RequestContext.HTTP.Method = tc.method
			}
			if tc.body != "" {
				req.Body = tc.body
			}
			payload, _ := json.Marshal(req)
			if tc.payload != "" {
				payload = []byte(tc.payload)
			}
			resp, err := h(context.Background(), payload)
			if err != nil {
				t.Fatal(err)
			}
			lines, err := emfcheck.Lines(emf.String())
			if err != nil || len(lines) != 1 {
				t.Fatalf("%d lines, %v", len(lines), err)
			}
			outcome, reason := classifyBody(resp)
			if outcome != tc.wantOutcome {
				t.Fatalf("the answer %d %s is %s, want %s: the case tests something else", resp.StatusCode, resp.Body, outcome, tc.wantOutcome)
			}
			if lines[0]["Outcome"] != string(outcome) || lines[0]["Reason"] != reason {
				t.Errorf("line says %v/%v, the answer %d %s says %s/%s", lines[0]["Outcome"], lines[0]["Reason"], resp.StatusCode, resp.Body, outcome, reason)
			}
		})
	}
}

// busyOnce finds every delivery claimed by another invocation.
type busyOnce struct{}

func (busyOnce) DoAll(context.Context, []idempotency.Claim, []idempotency.Write, time.Time, func(context.Context) error) error {
	return &idempotency.KeyError{Key: "outer", Err: idempotency.ErrInProgress}
}
