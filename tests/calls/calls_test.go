// Package calls counts what each webhook's delivery costs — its AWS calls, the DynamoDB write
// units and EventBridge events they are billed, and the bytes the function logs — through the fault
// proxy between the functions' SDK clients and moto, against Budgets. On AWS these are nearly all
// of a delivery's latency and its cost: a count that rises fails; docs/cost.md is generated from
// Budgets (go run ./tests/calls/costdoc).
package calls

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

var local *testenv.Local

func TestMain(m *testing.M) { os.Exit(testenv.RunWithLocal(m, &local)) }

// deliveries makes a webhook's distinct, authentic deliveries.
type deliveries struct {
	g *harness.Gateway
	n int
}

func (d *deliveries) next(webhook string, entries int) events.APIGatewayV2HTTPRequest {
	d.n++
	id := fmt.Sprintf("calls-%d-%d", time.Now().UnixNano(), d.n)
	switch webhook {
	case "aps":
		return harness.APS("/aps/transaction-feedback", harness.SignAPS(harness.APSParams("ORDER-"+id, id)), false)
	case "amazon-pay":
		return harness.AmazonPay(d.g.Notification(id, harness.IndiaChargeMessage(id)))
	case "amazon-pay v2":
		return harness.AmazonPay(d.g.Notification(id, harness.ChargeMessage("C-"+id)))
	}
	ttl := time.Now().Add(time.Hour).UnixMilli()
	var otps []harness.OTP
	for i := range entries {
		otps = append(otps, harness.OTP{TrackingID: fmt.Sprintf("T-%s-%d", id, i), Code: fmt.Sprintf("%06d", i), TTL: ttl})
	}
	return harness.Shipping(harness.ShippingBody(id, time.Now(), otps...))
}

// cost is what one delivery was measured to cost.
type cost struct {
	calls       []string
	rounds      int
	wru         int
	unconfirmed bool // a cancelled transaction counted at its upper bound
	events      int
	logBytes    int
}

// awsRequestIDBytes is what Lambda's context adds to each line the function logs
// (`,"awsRequestId":"<uuid>"`), which the harness, outside Lambda, does not.
const awsRequestIDBytes = 54

// ingest receives what the functions write at INFO, byte for byte, as CloudWatch Logs would
// ingest it (testenv.LogBuffer leaves out each line's time).
type ingest struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *ingest) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// take returns what was written since the last take.
func (b *ingest) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

var stdout = &ingest{}

// measured runs deliver and returns what it cost.
func measured(deliver func()) cost {
	local.Faults.ResetRequests()
	stdout.take()
	deliver()
	targets, rounds := local.Faults.Requests()
	var c cost
	for _, t := range targets {
		c.calls = append(c.calls, name(t))
	}
	c.rounds = rounds
	ex := local.Faults.Forwarded()
	c.wru, c.unconfirmed = WriteUnits(ex)
	c.events = Events(ex)
	for _, line := range strings.Split(stdout.take(), "\n") {
		if line == "" {
			continue
		}
		c.logBytes += len(line) + 1
		if !strings.Contains(line, `"awsRequestId"`) {
			c.logBytes += awsRequestIDBytes
		}
	}
	return c
}

func TestCallsPerDelivery(t *testing.T) {
	g := harness.StartStdout(t, local, slog.LevelInfo, stdout)
	d := &deliveries{g: g}
	t.Cleanup(func() { local.Faults.Set(nil); local.Faults.SetRequestFault(nil) })
	// Secrets are read once and cached: warm every function first.
	for _, w := range []string{"shipping", "aps", "amazon-pay", "amazon-pay v2"} {
		if resp := g.Deliver(d.next(w, 1)); resp.StatusCode != 200 {
			t.Fatalf("%s warm-up: %d %s", w, resp.StatusCode, resp.Body)
		}
	}
	// PublishDeprecatedDetailTypes=false, for the scenarios that say so.
	var moved *harness.Gateway
	for _, b := range Budgets {
		t.Run(b.Webhook+"/"+b.Scenario, func(t *testing.T) {
			g, d := g, d
			if strings.HasSuffix(b.Scenario, "without deprecated copies") {
				if moved == nil {
					moved = harness.StartStdoutTuned(t, local, slog.LevelInfo, stdout, func(_ *harness.Stack, c harness.Configs) {
						c.Shipping.OmitDeprecatedCopies, c.AmazonPay.OmitDeprecatedCopies = true, true
					})
					for _, w := range []string{"shipping", "amazon-pay v2"} {
						if resp := moved.Deliver((&deliveries{g: moved}).next(w, 1)); resp.StatusCode != 200 {
							t.Fatalf("%s warm-up: %d %s", w, resp.StatusCode, resp.Body)
						}
					}
				}
				g, d = moved, &deliveries{g: moved}
			}
			c, status := run(t, g, d, b.Webhook, strings.TrimSuffix(b.Scenario, " without deprecated copies"))
			t.Logf("answer %d: %d calls in %d rounds %v, %d WRU, %d events, %d log bytes", status, len(c.calls), c.rounds, c.calls, c.wru, c.events, c.logBytes)
			if !slices.Equal(c.calls, b.Calls) {
				t.Errorf("calls %v (%d), want %v (%d): %s", c.calls, len(c.calls), b.Calls, len(b.Calls), b.Why)
			}
			if b.Rounds > 0 && c.rounds > b.Rounds {
				t.Errorf("%d sequential rounds, want at most %d: %s", c.rounds, b.Rounds, b.Why)
			}
			if c.wru != b.WriteUnits || c.unconfirmed {
				t.Errorf("%d write units (a cancelled transaction counted at its bound: %t), want %d: %s", c.wru, c.unconfirmed, b.WriteUnits, b.Why)
			}
			if c.events != b.Events {
				t.Errorf("%d events billed, want %d", c.events, b.Events)
			}
			// Log bytes vary a little with ids and timings: rising above the budget fails, and so
			// does falling well below it (the budget, which docs/cost.md prices, is then stale).
			if c.logBytes > b.LogBytes || c.logBytes < b.LogBytes*9/10 {
				t.Errorf("%d log bytes, want at most %d and at least 90%% of it", c.logBytes, b.LogBytes)
			}
		})
	}
}

// Every new delivery of the budgets stays within the latency budget: at most 4 sequential AWS
// calls (a duplicate: 1).
func TestEveryNewDeliveryTakesAtMostFourSequentialCalls(t *testing.T) {
	for _, b := range Budgets {
		switch {
		case strings.Contains(b.Scenario, "duplicate") && b.Rounds > 2:
			t.Errorf("%s/%s: %d rounds for a duplicate", b.Webhook, b.Scenario, b.Rounds)
		case (b.Scenario == "new" || b.Scenario == "v2" || b.Scenario == "tracking") && (b.Rounds == 0 || b.Rounds > 4):
			t.Errorf("%s/%s: %d rounds, want 1 to 4", b.Webhook, b.Scenario, b.Rounds)
		}
	}
}

// run plays scenario for webhook and returns the cost of the delivery it is about and its answer.
func run(t *testing.T, g *harness.Gateway, d *deliveries, webhook, scenario string) (cost, int) {
	t.Helper()
	entries := 1
	_, _ = fmt.Sscanf(scenario, "%d entries", &entries)
	if strings.HasPrefix(scenario, "v2") {
		webhook, scenario = webhook+" v2", strings.TrimSpace(strings.TrimPrefix(scenario, "v2"))
		if scenario == "" {
			scenario = "new"
		}
	}
	req := d.next(webhook, entries)
	var resp events.APIGatewayV2HTTPResponse
	deliver := func() { resp = g.Deliver(req) }
	want := 200
	switch scenario {
	case "duplicate":
		if r := g.Deliver(req); r.StatusCode != 200 {
			t.Fatalf("first delivery: %d %s", r.StatusCode, r.Body)
		}
	case "concurrent duplicate":
		return concurrent(t, g, req)
	case "failed publish", "redelivery after a failed publish":
		local.Faults.Set(func(int, string, string) bool { return true })
		c := measured(deliver)
		local.Faults.Set(nil)
		if resp.StatusCode != 503 {
			t.Fatalf("publish failing: %d %s, want 503", resp.StatusCode, resp.Body)
		}
		if scenario == "failed publish" {
			return c, resp.StatusCode
		}
	case "stale OTP":
		// A newer OTP for the same tracking ID is stored first.
		now, ttl := time.Now(), time.Now().Add(time.Hour).UnixMilli()
		tid := fmt.Sprintf("T-stale-%d", now.UnixNano())
		newer := harness.ShippingBody(fmt.Sprintf("calls-new-%d", now.UnixNano()), now, harness.OTP{TrackingID: tid, Code: "222222", TTL: ttl})
		older := harness.ShippingBody(fmt.Sprintf("calls-old-%d", now.UnixNano()), now.Add(-time.Minute), harness.OTP{TrackingID: tid, Code: "111111", TTL: ttl})
		if r := g.Deliver(harness.Shipping(newer)); r.StatusCode != 200 {
			t.Fatalf("newer OTP: %d %s", r.StatusCode, r.Body)
		}
		req = harness.Shipping(older)
	case "tracking", "stale tracking":
		now := time.Now()
		tid := fmt.Sprintf("T-track-%d", now.UnixNano())
		if scenario == "stale tracking" {
			// A later state of the same tracking ID is stored first.
			later := harness.ShippingEnvelope(fmt.Sprintf("calls-later-%d", now.UnixNano()), "Tracking Detail", now, harness.TrackingEntry(tid, "Delivered", now.Format(time.RFC3339)))
			if r := g.Deliver(harness.Shipping(later)); r.StatusCode != 200 {
				t.Fatalf("later state: %d %s", r.StatusCode, r.Body)
			}
		}
		req = harness.Shipping(harness.ShippingEnvelope(fmt.Sprintf("calls-track-%d", now.UnixNano()), "Tracking Detail", now,
			harness.TrackingEntry(tid, "OutForDelivery", now.Add(-time.Hour).Format(time.RFC3339))))
	case "partly quarantined":
		ttl := time.Now().Add(time.Hour).UnixMilli()
		body := harness.ShippingBody(fmt.Sprintf("calls-partly-%d", time.Now().UnixNano()), time.Now(),
			harness.OTP{TrackingID: fmt.Sprintf("T-partly-%d", time.Now().UnixNano()), Code: "333333", TTL: ttl}, harness.OTP{Code: "444444", TTL: ttl})
		req, want = harness.Shipping(body), 202
	}
	c := measured(deliver)
	if resp.StatusCode != want {
		t.Fatalf("answer %d %s, want %d", resp.StatusCode, resp.Body, want)
	}
	return c, resp.StatusCode
}

// concurrent delivers req and, while its first PutEvents is held at the proxy, the same req again:
// the duplicate's cost is returned (its rounds are its calls: nothing of its own overlaps).
func concurrent(t *testing.T, g *harness.Gateway, req events.APIGatewayV2HTTPRequest) (cost, int) {
	t.Helper()
	entered, release := make(chan struct{}), make(chan struct{})
	var hold sync.Once
	local.Faults.SetRequestFault(func(target string) localaws.Fault {
		if target == "AWSEvents.PutEvents" {
			hold.Do(func() { close(entered); <-release })
		}
		return localaws.Pass
	})
	defer local.Faults.SetRequestFault(nil)
	first := make(chan events.APIGatewayV2HTTPResponse)
	go func() { first <- g.Deliver(req) }()
	<-entered
	var dup events.APIGatewayV2HTTPResponse
	c := measured(func() { dup = g.Deliver(req) })
	c.rounds = len(c.calls)
	close(release)
	if r := <-first; r.StatusCode != 200 {
		t.Errorf("first delivery: %d %s", r.StatusCode, r.Body)
	}
	if dup.StatusCode != 429 {
		t.Fatalf("concurrent duplicate: %d %s, want 429", dup.StatusCode, dup.Body)
	}
	return c, dup.StatusCode
}

// The failure path: a delivery deferred because the bus is down costs a failed publish and one
// S3 PutObject; its re-drive, once the bus is back, costs a new delivery's calls between reading
// and deleting its record (the queue's receive and delete are the event source mapping's).
func TestCallsOfADeferredDeliveryAndItsRedrive(t *testing.T) {
	g := harness.StartDeferring(t, local, harness.Redrive{Retention: time.Hour, Backoff: time.Second, MaxBackoff: time.Second})
	d := &deliveries{g: g}
	t.Cleanup(func() { local.Faults.Set(nil) })
	tests := []struct {
		webhook           string
		deferred, redrive []string
	}{
		{"shipping", cat([]string{put, put}, rep(putEvents, 4), []string{del, s3Put}), []string{s3Get, put, put, putEvents, update, s3Delete}},
		{"aps", cat([]string{put}, rep(putEvents, 4), []string{del, s3Put}), []string{s3Get, put, putEvents, update, s3Delete}},
		{"amazon-pay", cat([]string{put}, rep(putEvents, 4), []string{del, s3Put}), []string{s3Get, put, putEvents, update, s3Delete}},
	}
	for _, tc := range tests {
		t.Run(tc.webhook, func(t *testing.T) {
			if resp := g.Deliver(d.next(tc.webhook, 1)); resp.StatusCode != 200 { // warm: secrets are cached
				t.Fatalf("warm-up: %d %s", resp.StatusCode, resp.Body)
			}
			req := d.next(tc.webhook, 1)
			var resp events.APIGatewayV2HTTPResponse
			local.Faults.Set(func(int, string, string) bool { return true })
			calls := measured(func() { resp = g.Deliver(req) }).calls
			local.Faults.Set(nil)
			if resp.StatusCode != 202 || !strings.Contains(resp.Body, `"status":"deferred"`) {
				t.Fatalf("bus down: %d %s, want 202 deferred", resp.StatusCode, resp.Body)
			}
			if !slices.Equal(calls, tc.deferred) {
				t.Errorf("deferring: calls %v, want %v", calls, tc.deferred)
			}
			var redriven harness.Redriven
			calls = measured(func() {
				for end := time.Now().Add(10 * time.Second); redriven.Messages == 0 && time.Now().Before(end); {
					redriven = g.RedriveOnce(t)
				}
			}).calls
			if redriven.Messages != 1 || redriven.Failed != 0 {
				t.Fatalf("re-drive: %s, want one done", redriven)
			}
			if !slices.Equal(calls, tc.redrive) {
				t.Errorf("re-driving: calls %v, want %v", calls, tc.redrive)
			}
		})
	}
}
