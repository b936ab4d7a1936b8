// Package calls counts the AWS calls each webhook makes per delivery, through the fault proxy
// between the functions' SDK clients and moto, against a table of expected counts. On AWS these
// calls are nearly all of a delivery's latency and of its DynamoDB cost: a count that rises fails.
package calls

import (
	"fmt"
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

// Short names of the calls.
const (
	tx        = "dynamodb:TransactWriteItems"
	put       = "dynamodb:PutItem"
	update    = "dynamodb:UpdateItem"
	del       = "dynamodb:DeleteItem"
	putEvents = "events:PutEvents"
	s3Put     = "s3:PutObject"
	s3Get     = "s3:GetObject"
	s3Delete  = "s3:DeleteObject"
)

// budget is what one delivery may cost: its AWS calls in the order made, and how many of them are
// sequential round trips (concurrent PutEvents batches are one; 0: not checked, the batches'
// overlap depends on timing). Changing a row needs a reason in why.
type budget struct {
	webhook, scenario string
	calls             []string
	rounds            int
	why               string
}

func rep(call string, n int) []string { return slices.Repeat([]string{call}, n) }

func cat(parts ...[]string) []string { return slices.Concat(parts...) }

var budgets = []budget{
	{"shipping", "new", []string{tx, putEvents, update}, 3,
		"claim and OTP in one transaction, the events, the completion: the floor while a failed publish can be redelivered"},
	{"shipping", "duplicate", []string{tx}, 1,
		"the transaction is cancelled by the completed claim; nothing else runs"},
	{"shipping", "concurrent duplicate", []string{tx}, 1,
		"the transaction is cancelled by the claim in progress: 429"},
	{"shipping", "failed publish", cat([]string{tx}, rep(putEvents, 4), []string{del}), 6,
		"four PutEvents attempts (the publisher's retries of failed entries), then the claim is released"},
	{"shipping", "redelivery after a failed publish", []string{tx, putEvents, update}, 3,
		"the OTP stored by the failed attempt is rewritten as is, so the transaction is not cancelled"},
	{"shipping", "stale OTP", []string{tx, put, update}, 3,
		"the stale OTP's condition cancels the transaction, the claim is retaken alone; no event to publish"},
	{"shipping", "partly quarantined", []string{s3Put, tx, putEvents, update}, 4,
		"the whole delivery is quarantined first (S3), then its valid part costs a new delivery's three"},
	{"shipping", "10 entries", []string{tx, putEvents, update}, 3,
		"ten OTPs in the claim's transaction, one PutEvents batch"},
	{"shipping", "25 entries", cat([]string{tx}, rep(putEvents, 3), []string{update}), 3,
		"⌈25/10⌉ PutEvents batches, sent concurrently"},
	{"shipping", "150 entries", cat([]string{tx, tx}, rep(putEvents, 15), []string{update}), 0,
		"a transaction holds 100 items: the claim and 99 OTPs, then the other 51 in a second one; 15 batches, 5 at a time"},
	{"shipping", "tracking", []string{tx, putEvents, update}, 3,
		"the tracking state in the claim's transaction as an OTP is; its two events (updated, deprecated notification) in one batch"},
	{"shipping", "stale tracking", []string{tx, put, putEvents, update}, 4,
		"a later state cancels the transaction, the claim is retaken alone; the stale event is still published (history, and the deprecated notification)"},

	{"aps", "new", []string{put, putEvents, update}, 3, "claim, event, completion"},
	{"aps", "duplicate", []string{put}, 1, "the claim finds the key completed"},
	{"aps", "concurrent duplicate", []string{put}, 1, "the claim finds the key in progress: 429"},
	{"aps", "failed publish", cat([]string{put}, rep(putEvents, 4), []string{del}), 6, "four PutEvents attempts, then the claim is released"},
	{"aps", "redelivery after a failed publish", []string{put, putEvents, update}, 3, "as new: the failed attempt released its claim"},

	{"amazon-pay", "new", []string{tx, putEvents, tx}, 3,
		"the MessageId and signed-text claims (a copy with shifted fields is a duplicate) in one transaction, the event, both completions in one transaction"},
	{"amazon-pay", "duplicate", []string{tx}, 1, "the claims' transaction is cancelled by the completed MessageId key"},
	{"amazon-pay", "concurrent duplicate", []string{tx}, 1, "the claims' transaction is cancelled by the claim in progress: 429"},
	{"amazon-pay", "failed publish", cat([]string{tx}, rep(putEvents, 4), []string{tx}), 6,
		"four PutEvents attempts, then both claims released in one transaction"},
	{"amazon-pay", "redelivery after a failed publish", []string{tx, putEvents, tx}, 3, "as new"},
}

// name turns a proxy target into service:operation.
func name(target string) string {
	if op, ok := strings.CutPrefix(target, "DynamoDB_20120810."); ok {
		return "dynamodb:" + op
	}
	if op, ok := strings.CutPrefix(target, "AWSEvents."); ok {
		return "events:" + op
	}
	if rest, ok := strings.CutPrefix(target, "s3 "); ok {
		method, _, _ := strings.Cut(rest, " ")
		return "s3:" + map[string]string{"PUT": "PutObject", "GET": "GetObject", "DELETE": "DeleteObject"}[method]
	}
	return target
}

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
		return harness.AmazonPay(d.g.Notification(id, harness.ChargeMessage("C-"+id)))
	}
	ttl := time.Now().Add(time.Hour).UnixMilli()
	var otps []harness.OTP
	for i := range entries {
		otps = append(otps, harness.OTP{TrackingID: fmt.Sprintf("T-%s-%d", id, i), Code: fmt.Sprintf("%06d", i), TTL: ttl})
	}
	return harness.Shipping(harness.ShippingBody(id, time.Now(), otps...))
}

// measured runs deliver and returns the calls it made and their rounds.
func measured(deliver func()) ([]string, int) {
	local.Faults.ResetRequests()
	deliver()
	targets, rounds := local.Faults.Requests()
	var calls []string
	for _, t := range targets {
		calls = append(calls, name(t))
	}
	return calls, rounds
}

func TestCallsPerDelivery(t *testing.T) {
	g := harness.Start(t, local)
	d := &deliveries{g: g}
	t.Cleanup(func() { local.Faults.Set(nil); local.Faults.SetRequestFault(nil) })
	// Secrets are read once and cached: warm every function first.
	for _, w := range []string{"shipping", "aps", "amazon-pay"} {
		if resp := g.Deliver(d.next(w, 1)); resp.StatusCode != 200 {
			t.Fatalf("%s warm-up: %d %s", w, resp.StatusCode, resp.Body)
		}
	}
	for _, b := range budgets {
		t.Run(b.webhook+"/"+b.scenario, func(t *testing.T) {
			calls, rounds, status := run(t, g, d, b.webhook, b.scenario)
			t.Logf("%d calls in %d rounds, answer %d: %v", len(calls), rounds, status, calls)
			if !slices.Equal(calls, b.calls) {
				t.Errorf("calls %v (%d), want %v (%d): %s", calls, len(calls), b.calls, len(b.calls), b.why)
			}
			// The bound for an accumulated delivery of n entries (up to one transaction's 99
			// OTPs): a single entry's calls plus ⌈n/10⌉ − 1 extra PutEvents.
			var n int
			if _, err := fmt.Sscanf(b.scenario, "%d entries", &n); err == nil && n <= 99 && len(calls) > 3+(n+9)/10-1 {
				t.Errorf("%d entries: %d calls, more than 3 + ⌈n/10⌉ − 1 = %d", n, len(calls), 3+(n+9)/10-1)
			}
			if b.rounds > 0 && rounds > b.rounds {
				t.Errorf("%d sequential rounds, want at most %d: %s", rounds, b.rounds, b.why)
			}
		})
	}
}

// run plays scenario for webhook and returns the calls of the delivery it is about and its answer.
func run(t *testing.T, g *harness.Gateway, d *deliveries, webhook, scenario string) ([]string, int, int) {
	t.Helper()
	entries := 1
	_, _ = fmt.Sscanf(scenario, "%d entries", &entries)
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
		calls, rounds := measured(deliver)
		local.Faults.Set(nil)
		if resp.StatusCode != 503 {
			t.Fatalf("publish failing: %d %s, want 503", resp.StatusCode, resp.Body)
		}
		if scenario == "failed publish" {
			return calls, rounds, resp.StatusCode
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
	calls, rounds := measured(deliver)
	if resp.StatusCode != want {
		t.Fatalf("answer %d %s, want %d", resp.StatusCode, resp.Body, want)
	}
	return calls, rounds, resp.StatusCode
}

// concurrent delivers req and, while its first PutEvents is held at the proxy, the same req again:
// the duplicate's calls are returned (its rounds are its calls: nothing of its own overlaps).
func concurrent(t *testing.T, g *harness.Gateway, req events.APIGatewayV2HTTPRequest) ([]string, int, int) {
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
	calls, _ := measured(func() { dup = g.Deliver(req) })
	close(release)
	if r := <-first; r.StatusCode != 200 {
		t.Errorf("first delivery: %d %s", r.StatusCode, r.Body)
	}
	if dup.StatusCode != 429 {
		t.Fatalf("concurrent duplicate: %d %s, want 429", dup.StatusCode, dup.Body)
	}
	return calls, len(calls), dup.StatusCode
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
		{"shipping", cat([]string{tx}, rep(putEvents, 4), []string{del, s3Put}), []string{s3Get, tx, putEvents, update, s3Delete}},
		{"aps", cat([]string{put}, rep(putEvents, 4), []string{del, s3Put}), []string{s3Get, put, putEvents, update, s3Delete}},
		{"amazon-pay", cat([]string{tx}, rep(putEvents, 4), []string{tx, s3Put}), []string{s3Get, tx, putEvents, tx, s3Delete}},
	}
	for _, tc := range tests {
		t.Run(tc.webhook, func(t *testing.T) {
			if resp := g.Deliver(d.next(tc.webhook, 1)); resp.StatusCode != 200 { // warm: secrets are cached
				t.Fatalf("warm-up: %d %s", resp.StatusCode, resp.Body)
			}
			req := d.next(tc.webhook, 1)
			var resp events.APIGatewayV2HTTPResponse
			local.Faults.Set(func(int, string, string) bool { return true })
			calls, _ := measured(func() { resp = g.Deliver(req) })
			local.Faults.Set(nil)
			if resp.StatusCode != 202 || !strings.Contains(resp.Body, `"status":"deferred"`) {
				t.Fatalf("bus down: %d %s, want 202 deferred", resp.StatusCode, resp.Body)
			}
			if !slices.Equal(calls, tc.deferred) {
				t.Errorf("deferring: calls %v, want %v", calls, tc.deferred)
			}
			var redriven harness.Redriven
			calls, _ = measured(func() {
				for end := time.Now().Add(10 * time.Second); redriven.Messages == 0 && time.Now().Before(end); {
					redriven = g.RedriveOnce(t)
				}
			})
			if redriven.Messages != 1 || redriven.Failed != 0 {
				t.Fatalf("re-drive: %s, want one done", redriven)
			}
			if !slices.Equal(calls, tc.redrive) {
				t.Errorf("re-driving: calls %v, want %v", calls, tc.redrive)
			}
		})
	}
}
