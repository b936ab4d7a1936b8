package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/awsconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/quarantine/admin"
)

// switchBus posts to the stack's bus switch (what make bus-down and make bus-up send) and returns
// its answer.
func switchBus(t *testing.T, base, action string) busState {
	t.Helper()
	method, url := http.MethodPost, base+busPath+"/"+action
	if action == "" {
		method, url = http.MethodGet, base+busPath
	}
	req, _ := http.NewRequest(method, url, nil)
	status, body := do(t, req)
	var st busState
	if err := json.Unmarshal([]byte(body), &st); status != 200 || err != nil {
		t.Fatalf("%s %s: %d %s", method, url, status, body)
	}
	return st
}

// The loop `make run` shows a developer, locally where nothing re-drives by itself: with the bus
// down, an APS delivery is answered 202 deferred and nothing reaches the bus; a sweep while it is
// still down leaves it deferred; with the bus up, one sweep (make redrive: the CLI's Redrive with
// its wiring, through the stack's Lambda Invoke API) re-drives it into the real function, whose
// event reaches a consumer queue, marked deferred, and whose deferred/ object is gone.
func TestBusDownDefersAndOneSweepRedrives(t *testing.T) {
	const fn = "ApsFunction"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := serveStack(t, ctx, fn)
	s := st.stack
	// As make run gives it: APS defers by default (shared/aps.DeferByDefault) unless its
	// environment turns deferral off.
	if v := s.env[fn]["DEFER_WHEN_UNAVAILABLE"]; v != "" && v != "true" {
		t.Fatalf("the local %s has DEFER_WHEN_UNAVAILABLE=%q: make run would not show deferral", fn, v)
	}

	// The CLI's wiring (make redrive): moto's S3 through AWS_ENDPOINT_URL, Lambda at the stack.
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", st.URL)
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	store := admin.NewStore(cfg, s.env[fn]["PAYLOAD_BUCKET"])
	invoker := admin.NewInvoker(cfg)
	sweep := func() (admin.RedriveSummary, string) {
		t.Helper()
		var out bytes.Buffer
		summary, err := admin.Redrive(ctx, store, invoker, admin.RedriveOptions{All: true}, &out)
		if err != nil {
			t.Fatalf("sweep: %v\n%s\nlogs:\n%s", err, out.String(), st.Logs.String())
		}
		return summary, out.String()
	}

	if got := switchBus(t, st.URL, "down"); got.Bus != "down" || got.PutEvents != "503 ServiceUnavailable" {
		t.Fatalf("bus down: %+v", got)
	}
	raw, _ := decodeBody(testenv.LoadEvent(t, "aps-transaction-feedback-form.json"))
	req, _ := http.NewRequest("POST", st.URL+"/aps/transaction-feedback", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	status, body := do(t, req)
	var answer struct {
		Status      string `json:"status"`
		DeferredKey string `json:"deferredKey"`
	}
	_ = json.Unmarshal([]byte(body), &answer)
	if status != 202 || answer.Status != "deferred" || !strings.HasPrefix(answer.DeferredKey, quarantine.DeferredPrefix+"aps/") {
		t.Fatalf("with the bus down: %d %s, want 202 deferred\nlogs:\n%s", status, body, st.Logs.String())
	}
	key := answer.DeferredKey
	if got := switchBus(t, st.URL, ""); got.RefusedPutEvents == 0 {
		t.Errorf("the function never called PutEvents: %+v", got)
	}
	if rec, err := store.Get(ctx, key); err != nil || rec.Function != fn || rec.Reason != "temporarily_unavailable" {
		t.Fatalf("the deferred record: %+v, %v", rec, err)
	}
	if bodies, err := testenv.ReceiveAll(ctx, s.awsCfg, s.res.tailQueueURL, 10); err != nil || len(bodies) != 0 {
		t.Fatalf("with the bus down, %d events reached the bus (%v): %v", len(bodies), err, bodies)
	}

	// Still down: the function answers 503 and keeps the delivery for a later sweep.
	summary, out := sweep()
	if len(summary.Outcomes) != 1 || summary.OK() || summary.Outcomes[0].Result != admin.RedriveFailed || summary.Outcomes[0].Status != 503 {
		t.Fatalf("a sweep with the bus down:\n%s", out)
	}
	if _, err := store.Get(ctx, key); err != nil {
		t.Fatalf("a failed re-drive lost the delivery: %v", err)
	}

	if got := switchBus(t, st.URL, "up"); got.Bus != "up" {
		t.Fatalf("bus up: %+v", got)
	}
	summary, out = sweep()
	if len(summary.Outcomes) != 1 || !summary.OK() {
		t.Fatalf("the sweep with the bus up:\n%s\nlogs:\n%s", out, st.Logs.String())
	}
	if o := summary.Outcomes[0]; o.Key != key || o.Result != admin.Redriven || o.Status != 200 || o.Reason != "accepted" || o.Function != fn {
		t.Errorf("re-drive outcome %+v", o)
	}
	if _, err := store.Get(ctx, key); !errors.Is(err, quarantine.ErrNotFound) {
		t.Errorf("the deferred object after its re-drive: %v, want it gone", err)
	}
	bodies, err := testenv.ReceiveAll(ctx, s.awsCfg, s.res.tailQueueURL, 10)
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[string]bool{}
	for _, b := range bodies {
		var ev struct {
			DetailType string `json:"detail-type"`
			Detail     struct {
				Metadata struct {
					IdempotencyKey string `json:"idempotencyKey"`
					Deferred       *struct {
						ReceivedAt time.Time `json:"receivedAt"`
					} `json:"deferred"`
				} `json:"metadata"`
			} `json:"detail"`
		}
		_ = json.Unmarshal([]byte(b), &ev)
		if ev.Detail.Metadata.Deferred == nil || ev.Detail.Metadata.Deferred.ReceivedAt.IsZero() {
			t.Errorf("a re-driven event without metadata.deferred.receivedAt: %s", b)
		}
		distinct[ev.DetailType+" "+ev.Detail.Metadata.IdempotencyKey] = true
	}
	// At least once: one event per idempotency key counts, as a consumer dedupes.
	for k := range distinct {
		if len(distinct) != 1 || !strings.HasPrefix(k, "APS Purchase Succeeded aps:") {
			t.Errorf("events on the bus after the sweep: %v", distinct)
		}
	}
	if len(distinct) == 0 {
		t.Error("no event reached the bus after the sweep")
	}

	// Nothing is left to re-drive.
	if summary, out := sweep(); len(summary.Outcomes) != 0 || out != "no deferred deliveries\n" {
		t.Errorf("a second sweep:\n%s", out)
	}
}
