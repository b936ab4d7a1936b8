package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
)

// detail is an event detail that can be marked deferred, as every webhook's is.
type detail struct{ Deferred *eventbus.Deferral }

func (d detail) WithDeferral(x eventbus.Deferral) any { d.Deferred = &x; return d }

func deferrableWork(context.Context, *slog.Logger) ([]eventbus.Event, error) {
	return []eventbus.Event{{DetailType: "T", Detail: detail{}}}, nil
}

// inProgress is a claim another invocation holds.
type inProgress struct{}

func (inProgress) DoAll(context.Context, []idempotency.Claim, []idempotency.Write, time.Time, func(context.Context) error) error {
	return &idempotency.KeyError{Key: "k", Err: idempotency.ErrInProgress}
}

// deferringPipeline is a Shipping pipeline that defers into store (defer: whether it may).
func deferringPipeline(store *records, b *bus, once onceRunner, deferOn bool, logs *bytes.Buffer, now func() time.Time) LambdaHandler {
	return deferringSteps(&fakeSteps{delivery: Delivery{Claims: []Claim{{Key: "k"}}, IDs: map[string]any{"id": "d1"}, Work: deferrableWork}}, store, b, once, deferOn, logs, now)
}

// deferringSteps is deferringPipeline with steps of the test's own.
func deferringSteps(steps *fakeSteps, store *records, b *bus, once onceRunner, deferOn bool, logs *bytes.Buffer, now func() time.Time) LambdaHandler {
	d := Deps{
		Once: once, Events: b, Records: store, MaxBodyBytes: 1 << 10,
		Quarantine: &quarantine.Keeper{Store: store, Webhook: "shipping", Function: "fn"},
		Redrive:    Redrive{Store: store, Retention: time.Hour},
		Log:        slog.New(slog.NewJSONHandler(logs, nil)),
		Now:        now,
	}
	if deferOn {
		d.Defer = &quarantine.Keeper{Store: store, Webhook: "shipping", Function: "fn", Place: quarantine.DeferredPrefix}
	}
	return New("shipping", steps, d)
}

func TestADependencyOutageDefersOnlyValidDeliveriesItMayKeep(t *testing.T) {
	tests := []struct {
		name            string
		deferOn         bool
		busErr          error
		storeErr        error
		once            onceRunner
		budget          time.Duration // the invocation's; 0: 4 s
		slow            time.Duration // how long publishing takes, whatever its deadline
		authErr         error
		wantStatus      int
		wantStatusField string
		wantDeferred    int
	}{
		{name: "bus down, deferral on: kept and answered deferred", deferOn: true, busErr: errors.New("PutEvents throttled"),
			wantStatus: 202, wantStatusField: "deferred", wantDeferred: 1},
		{name: "bus down, deferral off: the sender retries", busErr: errors.New("PutEvents throttled"), wantStatus: 503},
		{name: "bus and bucket down: the sender retries", deferOn: true, busErr: errors.New("down"), storeErr: errors.New("s3 down"), wantStatus: 503},
		{name: "a failure that overran the budget: no time left to keep it", deferOn: true, busErr: errors.New("down"), slow: 900 * time.Millisecond,
			budget: time.Second, wantStatus: 503},
		{name: "in progress elsewhere: not deferred", deferOn: true, once: inProgress{}, wantStatus: 429},
		{name: "authentication's dependency down: never kept, the sender retries", deferOn: true, authErr: errors.New("secret unreadable"), wantStatus: 503},
		{name: "nothing failed: accepted, nothing kept", deferOn: true, wantStatus: 200, wantStatusField: "accepted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := &records{}
			once := tc.once
			if once == nil {
				once = &once_{}
			}
			var logs bytes.Buffer
			steps := &fakeSteps{authErr: tc.authErr, delivery: Delivery{Claims: []Claim{{Key: "k"}}, IDs: map[string]any{"id": "d1"}, Work: deferrableWork}}
			h := deferringSteps(steps, store, &bus{err: tc.busErr, slow: tc.slow}, once, tc.deferOn, &logs, nil)
			store.err = tc.storeErr
			budget := tc.budget
			if budget == 0 {
				budget = 4 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), budget)
			defer cancel()
			deadline, _ := ctx.Deadline()
			resp, err := h.Handle(ctx, request())
			if err != nil {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Errorf("answered after the invocation's deadline")
			}
			var body map[string]any
			_ = json.Unmarshal([]byte(resp.Body), &body)
			if resp.StatusCode != tc.wantStatus || (tc.wantStatusField != "" && body["status"] != tc.wantStatusField) {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, resp.Body, tc.wantStatus, tc.wantStatusField)
			}
			deferred := 0
			for key, r := range store.kept {
				if strings.HasPrefix(key, quarantine.DeferredPrefix+"shipping/") {
					deferred++
					if r.Reason != "temporarily_unavailable" || body["deferredKey"] != key || body["id"] != "d1" {
						t.Errorf("record %s %+v, answer %s", key, r, resp.Body)
					}
				}
			}
			if deferred != tc.wantDeferred {
				t.Errorf("%d deferred records, want %d", deferred, tc.wantDeferred)
			}
		})
	}
}

// once_ runs work, in memory, once per key.
type once_ struct {
	mu   sync.Mutex
	done map[string]bool
}

func (o *once_) DoAll(ctx context.Context, keys []idempotency.Claim, _ []idempotency.Write, _ time.Time, work func(context.Context) error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done == nil {
		o.done = map[string]bool{}
	}
	for _, k := range keys {
		if o.done[k.Key] {
			return &idempotency.KeyError{Key: k.Key, Err: idempotency.ErrCompleted}
		}
	}
	if err := work(ctx); err != nil {
		return err
	}
	for _, k := range keys {
		o.done[k.Key] = true
	}
	return nil
}

func TestARedriveOrderEndsEveryDeferredDeliveryOnceAnsweredForGood(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		place      string
		age        time.Duration
		busErr     error
		webhook    string
		wantStatus int
		wantBody   string
		wantEvents int
		// wantLeft is the place the record is left in ("": gone).
		wantLeft string
	}{
		{name: "dependency back: processed, events marked, record deleted", place: quarantine.DeferredPrefix, age: time.Minute,
			wantStatus: 200, wantBody: `"status":"accepted"`, wantEvents: 1},
		{name: "dependency still down: kept for a later attempt", place: quarantine.DeferredPrefix, age: time.Minute, busErr: errors.New("down"),
			wantStatus: 503, wantLeft: quarantine.DeferredPrefix},
		{name: "past the retention: moved to the dead-letter place", place: quarantine.DeferredPrefix, age: 2 * time.Hour,
			wantStatus: 200, wantBody: `"status":"dead_lettered"`, wantLeft: quarantine.DeadPrefix},
		{name: "a dead letter re-driven by hand: processed whatever its age", place: quarantine.DeadPrefix, age: 48 * time.Hour,
			wantStatus: 200, wantBody: `"status":"accepted"`, wantEvents: 1},
		{name: "another webhook's key: refused, untouched", place: quarantine.DeferredPrefix, webhook: "aps",
			wantStatus: 409, wantBody: `"error":"wrong_function"`, wantLeft: quarantine.DeferredPrefix},
		{name: "a quarantine key: no deferred delivery", place: quarantine.Prefix,
			wantStatus: 404, wantLeft: quarantine.Prefix},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := &records{}
			b := &bus{err: tc.busErr}
			var logs bytes.Buffer
			var label string
			steps := &fakeSteps{delivery: Delivery{Claims: []Claim{{Key: "k"}}, Work: func(ctx context.Context, log *slog.Logger) ([]eventbus.Event, error) {
				label = account.Of(ctx)
				return deferrableWork(ctx, log)
			}}}
			h := deferringSteps(steps, store, b, &once_{}, true, &logs, func() time.Time { return now })
			webhook := tc.webhook
			if webhook == "" {
				webhook = "shipping"
			}
			received := now.Add(-tc.age)
			key := quarantine.KeyIn(tc.place, webhook, new(request()))
			_ = store.PutAt(context.Background(), key, quarantine.Record{Webhook: webhook, Account: "eu", QuarantinedAt: received, Request: request()})
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
			defer cancel()
			order, _ := json.Marshal(map[string]RedriveOrder{"deferredRedrive": {Key: key}})
			resp, err := h(ctx, order)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantStatus || !strings.Contains(resp.Body, tc.wantBody) {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, resp.Body, tc.wantStatus, tc.wantBody)
			}
			left := ""
			for k := range store.kept {
				left, _, _ = quarantine.PlaceOf(k)
			}
			if left != tc.wantLeft || len(store.kept) > 1 {
				t.Errorf("records left %v, want one in %q", store.kept, tc.wantLeft)
			}
			if len(b.published) != tc.wantEvents {
				t.Fatalf("%d events, want %d", len(b.published), tc.wantEvents)
			}
			if tc.wantEvents > 0 && label != "eu" {
				t.Errorf("re-driven under account %q, want the record's %q", label, "eu")
			}
			for _, ev := range b.published {
				d, _ := ev.Detail.(detail)
				if d.Deferred == nil || !d.Deferred.ReceivedAt.Equal(received) {
					t.Errorf("event detail %+v lacks metadata.deferred with the original receipt %s", d, received)
				}
			}
		})
	}
}

// A live delivery's events never say deferred.
func TestOnlyRedrivenEventsSayDeferred(t *testing.T) {
	b := &bus{}
	var logs bytes.Buffer
	if resp, _ := deferringPipeline(&records{}, b, &once_{}, true, &logs, nil).Handle(context.Background(), request()); resp.StatusCode != 200 {
		t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
	}
	if d := b.published[0].Detail.(detail); d.Deferred != nil {
		t.Errorf("a live delivery's event says deferred: %+v", d)
	}
}

// visibility records the backoffs a batch set.
type visibility struct {
	mu   sync.Mutex
	sets map[string]int32
}

func (v *visibility) ChangeMessageVisibility(_ context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.sets[*in.ReceiptHandle] = in.VisibilityTimeout
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

// announcement is the SQS message the re-drive rule queues for an S3 object.
func announcement(id, key string, receives string) events.SQSMessage {
	body, _ := json.Marshal(map[string]any{
		"source": "aws.s3", "detail-type": "Object Created",
		"detail": map[string]any{"bucket": map[string]any{"name": "b"}, "object": map[string]any{"key": key}},
	})
	return events.SQSMessage{MessageId: id, ReceiptHandle: "rh-" + id, Body: string(body), EventSource: "aws:sqs",
		Attributes: map[string]string{"ApproximateReceiveCount": receives}}
}

func TestABatchReportsOnlyTheRedrivesToRetryAndBacksThemOff(t *testing.T) {
	store := &records{}
	b := &bus{}
	var logs bytes.Buffer
	vis := &visibility{sets: map[string]int32{}}
	deps := Deps{
		Once: &once_{}, Events: b, Records: store, MaxBodyBytes: 1 << 10,
		Quarantine: &quarantine.Keeper{Store: store, Webhook: "shipping"},
		Redrive:    Redrive{Store: store, Queue: vis, QueueURL: "q", Backoff: 10 * time.Second, MaxBackoff: time.Minute},
		Log:        slog.New(slog.NewJSONHandler(&logs, nil)),
	}
	okReq, failReq := request(), request()
	failReq.Body = `{"id":"2"}`
	okKey := quarantine.KeyIn(quarantine.DeferredPrefix, "shipping", &okReq)
	failKey := quarantine.KeyIn(quarantine.DeferredPrefix, "shipping", &failReq)
	_ = store.PutAt(context.Background(), okKey, quarantine.Record{Webhook: "shipping", QuarantinedAt: time.Now(), Request: okReq})
	_ = store.PutAt(context.Background(), failKey, quarantine.Record{Webhook: "shipping", QuarantinedAt: time.Now(), Request: failReq})
	steps := &bodySteps{fail: `{"id":"2"}`}
	h := New("shipping", steps, deps)
	batch, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{
		announcement("ok", okKey, "1"), announcement("fail", failKey, "3"), announcement("gone", quarantine.DeferredPrefix+"shipping/gone.json", "1"),
		{MessageId: "junk", Body: "{}", EventSource: "aws:sqs"},
	}})
	out, err := h.Invoke(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "fail" {
		t.Fatalf("batch response %s, want only the failed re-drive reported", out)
	}
	// The third failure waits 10 s doubled twice, drawn from the upper half: 20..40 s.
	if got, ok := vis.sets["rh-fail"]; !ok || got < 20 || got > 40 || len(vis.sets) != 1 {
		t.Errorf("visibility set %v, want rh-fail in [20, 40]", vis.sets)
	}
	if _, ok := store.kept[okKey]; ok {
		t.Error("the processed delivery's record is still there")
	}
	if _, ok := store.kept[failKey]; !ok {
		t.Error("the failed re-drive's record is gone")
	}
}

// bodySteps fails the work of the delivery whose body is fail.
type bodySteps struct{ fail string }

func (s *bodySteps) Authenticate(_ context.Context, log *slog.Logger, _ *events.APIGatewayV2HTTPRequest, _ bool) (string, *slog.Logger, error) {
	return "", log, nil
}

func (s *bodySteps) Plan(_ context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, _ string, _ bool) (Delivery, error) {
	w := work(1, nil)
	if req.Body == s.fail {
		w = work(0, errors.New("bus down"))
	}
	return Delivery{Log: log, Claims: []Claim{{Key: req.Body}}, Work: w}, nil
}

func TestAnAPIGatewayRequestNamingTheQueueIsNoBatch(t *testing.T) {
	req := request()
	req.QueryStringParameters = map[string]string{"eventSource": "aws:sqs"}
	payload, _ := json.Marshal(req)
	if _, ok := sqsBatch(payload); ok {
		t.Fatalf("%s taken for a batch", payload)
	}
	batch, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{announcement("m", "deferred/shipping/x.json", "1")}})
	if _, ok := sqsBatch(batch); !ok {
		t.Fatalf("%s not taken for a batch", batch)
	}
}

func TestRedriveBackoffDoublesWithJitterUpToItsCap(t *testing.T) {
	r := Redrive{Backoff: 30 * time.Second, MaxBackoff: 15 * time.Minute}
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 15 * time.Second, 30 * time.Second},
		{2, 30 * time.Second, time.Minute},
		{4, 2 * time.Minute, 4 * time.Minute},
		{10, 450 * time.Second, 15 * time.Minute},
		{1000, 450 * time.Second, 15 * time.Minute},
	}
	for _, tc := range tests {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := r.Delay(tc.attempt)
			seen[d] = true
			if d < tc.min || d > tc.max {
				t.Errorf("attempt %d: %s outside [%s, %s]", tc.attempt, d, tc.min, tc.max)
			}
		}
		if len(seen) < 2 {
			t.Errorf("attempt %d: no jitter (%v)", tc.attempt, seen)
		}
	}
}

// A re-drive skips authentication (the credentials were not kept) but is planned as the live
// delivery it was, so that it runs under the live delivery's keys; a quarantine replay is not.
func TestARedriveIsPlannedAsTheLiveDeliveryItWas(t *testing.T) {
	store := &records{}
	var logs bytes.Buffer
	steps := &fakeSteps{delivery: Delivery{Claims: []Claim{{Key: "k"}}, Work: deferrableWork}}
	h := New("shipping", steps, Deps{
		Once: &once_{}, Events: &bus{}, Records: store, MaxBodyBytes: 1 << 10,
		Quarantine: &quarantine.Keeper{Store: store, Webhook: "shipping"},
		Redrive:    Redrive{Store: store},
		Log:        slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	req := request()
	for _, place := range []string{quarantine.DeferredPrefix, quarantine.Prefix} {
		key := quarantine.KeyIn(place, "shipping", &req)
		_ = store.PutAt(context.Background(), key, quarantine.Record{Webhook: "shipping", QuarantinedAt: time.Now(), Request: req})
		order := map[string]any{"deferredRedrive": RedriveOrder{Key: key}}
		if place == quarantine.Prefix {
			order = map[string]any{"quarantineReplay": Replay{Key: key}}
		}
		payload, _ := json.Marshal(order)
		if resp, err := h(context.Background(), payload); err != nil || resp.StatusCode >= 300 {
			t.Fatalf("%s: %d %s %v", place, resp.StatusCode, resp.Body, err)
		}
	}
	if len(steps.replays) != 2 || !steps.replays[0] || !steps.replays[1] {
		t.Errorf("Authenticate told replay %v, want [true true]: neither was authenticated again", steps.replays)
	}
	if len(steps.planned) != 2 || steps.planned[0] || !steps.planned[1] {
		t.Errorf("Plan told replay %v, want [false true]: the re-drive planned live, the replay not", steps.planned)
	}
}

// A delivery found invalid at re-drive time (the function's configuration changed since) is
// quarantined as usual, and its deferred record ends.
func TestADeliveryInvalidAtRedriveTimeIsQuarantined(t *testing.T) {
	store := &records{}
	var logs bytes.Buffer
	steps := &fakeSteps{delivery: Delivery{Claims: []Claim{{Key: "k"}}, Work: deferrableWork}}
	h := New("shipping", steps, Deps{
		Once: &once_{}, Events: &bus{err: errors.New("down")}, Records: store, MaxBodyBytes: 1 << 10,
		Quarantine: &quarantine.Keeper{Store: store, Webhook: "shipping"},
		Defer:      &quarantine.Keeper{Store: store, Webhook: "shipping", Place: quarantine.DeferredPrefix},
		Redrive:    Redrive{Store: store, Retention: time.Hour},
		Log:        slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	resp, _ := h.Handle(ctx, request())
	var deferred struct{ DeferredKey string }
	if _ = json.Unmarshal([]byte(resp.Body), &deferred); resp.StatusCode != 202 || deferred.DeferredKey == "" {
		t.Fatalf("not deferred: %d %s", resp.StatusCode, resp.Body)
	}
	steps.planErr = Invalid("detail.trackingId", "detail.trackingId: is required")
	order, _ := json.Marshal(map[string]RedriveOrder{"deferredRedrive": {Key: deferred.DeferredKey}})
	resp, _ = h(ctx, order)
	if resp.StatusCode != 202 || !strings.Contains(resp.Body, `"status":"quarantined"`) {
		t.Fatalf("re-driven: %d %s, want 202 quarantined", resp.StatusCode, resp.Body)
	}
	if _, ok := store.kept[deferred.DeferredKey]; ok {
		t.Error("the deferred record outlived its quarantine")
	}
	if _, ok := store.kept[quarantine.Key("shipping", new(request()))]; !ok {
		t.Error("not in the quarantine")
	}
}

// Whatever the parameters, a delivery that is never re-driven reaches the end of its retention
// (and the function's dead letter) in fewer receives than the 1,000 after which SQS would
// dead-letter its message first: every wait drawn at its shortest.
func TestTheRetentionEndsBeforeSQSDeadLettersAMessage(t *testing.T) {
	for _, r := range []Redrive{
		{Retention: 72 * time.Hour, Backoff: 30 * time.Second, MaxBackoff: 15 * time.Minute}, // the defaults
		{Retention: 336 * time.Hour, Backoff: time.Second, MaxBackoff: time.Second},          // longest retention, shortest waits
		{Retention: time.Hour, Backoff: time.Second, MaxBackoff: time.Second},
		{Retention: 336 * time.Hour, Backoff: 12 * time.Hour, MaxBackoff: 12 * time.Hour},
	} {
		receives, waited := 1, time.Duration(0)
		for ; waited <= r.Retention; receives++ {
			shortest := r.Delay(receives)
			for range 30 {
				shortest = min(shortest, r.Delay(receives))
			}
			waited += shortest
		}
		if receives >= 1000 {
			t.Errorf("%+v: %d receives before the retention ends, SQS dead-letters at 1,000", r, receives)
		}
	}
}
