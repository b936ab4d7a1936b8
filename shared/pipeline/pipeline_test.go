package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
)

// fakeSteps is a webhook whose steps do what the test says.
type fakeSteps struct {
	authErr  error
	planErr  error
	panics   bool
	delivery Delivery
	replays  []bool // what Authenticate was told
	planned  []bool // what Plan was told
}

func (f *fakeSteps) Authenticate(_ context.Context, log *slog.Logger, _ *events.APIGatewayV2HTTPRequest, replay bool) (string, *slog.Logger, error) {
	f.replays = append(f.replays, replay)
	return "parsed", log.With("step", "authenticated"), f.authErr
}

func (f *fakeSteps) Plan(_ context.Context, log *slog.Logger, _ *events.APIGatewayV2HTTPRequest, m string, replay bool) (Delivery, error) {
	f.planned = append(f.planned, replay)
	if m != "parsed" {
		panic("Plan did not get what Authenticate read")
	}
	if f.panics {
		var boom map[string]int
		//lint:ignore SA5000 the panic is the point: a bug after authentication
		boom["x"]++
	}
	d := f.delivery
	d.Log = log
	return d, f.planErr
}

// once runs work once per key, in memory, and records the claims in order.
type once struct {
	done    map[string]bool
	claimed []string
}

func (o *once) DoAll(ctx context.Context, keys []idempotency.Claim, _ []idempotency.Write, _ time.Time, work func(context.Context) error) error {
	for _, c := range keys {
		o.claimed = append(o.claimed, c.Key)
		if o.done[c.Key] {
			// Every key was completed by a delivery noted "first".
			return &idempotency.KeyError{Key: c.Key, Note: "first", Err: idempotency.ErrCompleted}
		}
	}
	if err := work(ctx); err != nil {
		return err
	}
	for _, c := range keys {
		o.done[c.Key] = true
	}
	return nil
}

type bus struct {
	published []eventbus.Event
	err       error
	slow      time.Duration // a call that overruns its deadline
}

func (b *bus) Publish(_ context.Context, evs []eventbus.Event) error {
	time.Sleep(b.slow)
	if b.err != nil {
		return b.err
	}
	b.published = append(b.published, evs...)
	return nil
}

func work(n int, err error) func(context.Context, *slog.Logger) ([]eventbus.Event, error) {
	return func(context.Context, *slog.Logger) ([]eventbus.Event, error) {
		return make([]eventbus.Event, n), err
	}
}

func TestPipeline(t *testing.T) {
	claims := []Claim{{Key: "outer"}, {Key: "inner", Note: "copy", IfDone: "copy under another id"}}
	tests := []struct {
		name       string
		steps      fakeSteps
		done       []string // keys completed before
		method     string
		body       string
		replay     bool
		storeErr   error
		busErr     error
		wantStatus int
		wantBody   map[string]any // fields the answer must hold
		wantHeader map[string]string
		wantKept   int
		wantEvents int
		wantClaims []string
		wantLog    string
	}{
		{name: "not POST", method: "GET", wantStatus: 405, wantHeader: map[string]string{"Allow": "POST"}},
		{name: "body over the cap", body: strings.Repeat("x", 65), wantStatus: 413, wantBody: map[string]any{"error": "payload_too_large"}},
		{name: "unauthenticated: answered, not kept",
			steps:      fakeSteps{authErr: &Rejection{Status: 401, Code: "unauthorized", Message: "no", Header: map[string]string{"WWW-Authenticate": "Basic"}}},
			wantStatus: 401, wantBody: map[string]any{"error": "unauthorized"}, wantHeader: map[string]string{"WWW-Authenticate": "Basic"}},
		{name: "authentication unavailable", steps: fakeSteps{authErr: errors.New("secret unreadable")}, wantStatus: 503, wantHeader: map[string]string{"Retry-After": "10"}},
		{name: "invalid after authentication: kept",
			steps:      fakeSteps{planErr: Invalid("detail.trackingId", "detail.trackingId: is required")},
			wantStatus: 202, wantKept: 1, wantBody: map[string]any{"status": "quarantined", "error": "invalid_payload", "field": "detail.trackingId"}},
		{name: "invalid, quarantine unavailable", storeErr: errors.New("s3 down"),
			steps:      fakeSteps{planErr: Invalid("f", "f: bad")},
			wantStatus: 503, wantLog: `"msg":"quarantine unavailable"`},
		{name: "panic after authentication: kept", steps: fakeSteps{panics: true},
			wantStatus: 202, wantKept: 1, wantBody: map[string]any{"error": "internal_error"}, wantLog: `"msg":"handler panicked"`},
		{name: "processed under every claim",
			steps:      fakeSteps{delivery: Delivery{Claims: claims, IDs: map[string]any{"id": "d1"}, CountEvents: true, Work: work(2, nil)}},
			wantStatus: 200, wantBody: map[string]any{"status": "accepted", "id": "d1", "events": float64(2)}, wantEvents: 2, wantClaims: []string{"outer", "inner"}},
		{name: "duplicate", done: []string{"outer"},
			steps:      fakeSteps{delivery: Delivery{Claims: claims, Work: work(1, nil)}},
			wantStatus: 200, wantBody: map[string]any{"status": "duplicate"}, wantClaims: []string{"outer"}},
		{name: "copy under another identity", done: []string{"inner"},
			steps:      fakeSteps{delivery: Delivery{Claims: claims, Work: work(1, nil)}},
			wantStatus: 200, wantBody: map[string]any{"status": "duplicate"}, wantClaims: []string{"outer", "inner"}, wantLog: `"msg":"copy under another id"`},
		{name: "work fails for good: kept",
			steps:      fakeSteps{delivery: Delivery{Claims: claims, Work: work(1, Reject(400, "invalid_subscription", "bad URL"))}},
			wantStatus: 202, wantKept: 1, wantBody: map[string]any{"error": "invalid_subscription"}, wantClaims: []string{"outer", "inner"}},
		{name: "publishing fails: retry", busErr: errors.New("throttled"),
			steps:      fakeSteps{delivery: Delivery{Claims: claims, Work: work(1, nil)}},
			wantStatus: 503, wantClaims: []string{"outer", "inner"}},
		{name: "partly invalid: kept whole, valid part processed",
			steps:      fakeSteps{delivery: Delivery{Claims: claims[:1], IDs: map[string]any{"id": "d1"}, CountEvents: true, Work: work(1, nil), Partly: Invalid("detail[1]", "1 of 2 invalid"), PartlyLog: []any{"invalidEntries", 1}}},
			wantStatus: 202, wantKept: 1, wantEvents: 1, wantClaims: []string{"outer"},
			wantBody: map[string]any{"status": "quarantined", "id": "d1", "events": float64(1), "field": "detail[1]"}, wantLog: `"invalidEntries":1`},
		{name: "partly invalid, quarantine unavailable: nothing processed", storeErr: errors.New("s3 down"),
			steps:      fakeSteps{delivery: Delivery{Claims: claims[:1], Work: work(1, nil), Partly: Invalid("detail[1]", "bad")}},
			wantStatus: 503},
		{name: "replay: authenticate is told", replay: true,
			steps:      fakeSteps{delivery: Delivery{Claims: claims[:1], Work: work(1, nil)}},
			wantStatus: 200, wantEvents: 1, wantClaims: []string{"outer"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := &records{err: tc.storeErr}
			o := &once{done: map[string]bool{}}
			for _, k := range tc.done {
				o.done[k] = true
			}
			b := &bus{err: tc.busErr}
			var logs bytes.Buffer
			steps := tc.steps
			h := New("shipping", &steps, Deps{
				Once: o, Events: b, Records: store, MaxBodyBytes: 64,
				Quarantine: &quarantine.Keeper{Store: store, Webhook: "shipping", Function: "fn"},
				Log:        slog.New(slog.NewJSONHandler(&logs, nil)),
				Metrics:    &logs, // the delivery's record, "delivery answered", beside the log lines
			})
			req := request()
			if tc.method != "" {
				req.RequestContext.HTTP.Method = tc.method
			}
			if tc.body != "" {
				req.Body = tc.body
			}
			var resp events.APIGatewayV2HTTPResponse
			var err error
			if tc.replay {
				// A replay order: the delivery comes from the quarantine.
				key, _ := (&records{}).Put(context.Background(), quarantine.Record{Webhook: "shipping", Request: req})
				store.kept = map[string]quarantine.Record{key: {Webhook: "shipping", Request: req}}
				order, _ := json.Marshal(map[string]Replay{"quarantineReplay": {Key: key}})
				resp, err = h(context.Background(), order)
				store.kept = nil
			} else {
				resp, err = h.Handle(context.Background(), req)
			}
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			if jerr := json.Unmarshal([]byte(resp.Body), &body); jerr != nil {
				t.Fatalf("body is not JSON: %q", resp.Body)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, resp.Body, tc.wantStatus)
			}
			for k, v := range tc.wantBody {
				if body[k] != v {
					t.Errorf("body[%s] = %v, want %v (%s)", k, body[k], v, resp.Body)
				}
			}
			for k, v := range tc.wantHeader {
				if resp.Headers[k] != v {
					t.Errorf("header %s = %q, want %q", k, resp.Headers[k], v)
				}
			}
			if len(store.kept) != tc.wantKept {
				t.Errorf("%d kept, want %d", len(store.kept), tc.wantKept)
			}
			if tc.wantKept > 0 && (body["quarantineKey"] == nil || strings.Contains(resp.Body, "goroutine") || strings.Contains(resp.Body, "nil map")) {
				t.Errorf("quarantined answer: %s", resp.Body)
			}
			if len(b.published) != tc.wantEvents {
				t.Errorf("%d events published, want %d", len(b.published), tc.wantEvents)
			}
			if !slices.Equal(o.claimed, tc.wantClaims) {
				t.Errorf("claims %v, want %v", o.claimed, tc.wantClaims)
			}
			if !strings.Contains(logs.String(), tc.wantLog) || !strings.Contains(logs.String(), `"msg":"delivery answered"`) {
				t.Errorf("log lacks %s or the answer:\n%s", tc.wantLog, logs.String())
			}
			if len(steps.replays) > 0 && steps.replays[0] != tc.replay {
				t.Errorf("Authenticate told replay=%v", steps.replays[0])
			}
		})
	}
}

// Moved from quarantine.Keeper.Guard: a panic after authentication quarantines the delivery; the
// answer does not leak the panic; a normal answer goes through unchanged.
func TestGuardQuarantinesAPanic(t *testing.T) {
	store := &records{}
	var logs bytes.Buffer
	deps := Deps{
		Once: &once{done: map[string]bool{}}, Events: &bus{}, Records: store, MaxBodyBytes: 1 << 10,
		Quarantine: &quarantine.Keeper{Store: store, Webhook: "amazon-pay"},
		Log:        slog.New(slog.NewJSONHandler(&logs, nil)),
	}
	resp, _ := New("amazon-pay", &fakeSteps{panics: true}, deps).Handle(context.Background(), request())
	if resp.StatusCode != 202 || !strings.Contains(resp.Body, `"error":"internal_error"`) {
		t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
	}
	if strings.Contains(resp.Body, "goroutine") || strings.Contains(resp.Body, "nil map") {
		t.Errorf("the answer leaks the panic: %s", resp.Body)
	}
	if len(store.kept) != 1 {
		t.Errorf("%d records, want 1", len(store.kept))
	}
	if !strings.Contains(logs.String(), "handler panicked") {
		t.Error("the panic was not logged")
	}

	ok, _ := New("amazon-pay", &fakeSteps{delivery: Delivery{Work: work(0, nil)}}, deps).Handle(context.Background(), request())
	if ok.StatusCode != 200 {
		t.Errorf("the guard changed a normal answer: %d", ok.StatusCode)
	}
}
