// Package faults proves the gateway's promise under failing AWS services: every delivery that
// got a 2xx has its OTP stored and its event on the bus, and every delivery that got a 5xx (or a
// 429) succeeds when the sender redelivers it, with the same idempotency key on its events.
//
// Each scenario streams deliveries of all three webhooks (valid ones, accumulated Shipping
// payloads, duplicates, and authenticated but invalid ones that go to quarantine) through the
// functions while a fault is active: PutEvents entries failing, DynamoDB throttling, S3
// unavailable, connections dropped, or moto_server stopped (SIGSTOP) mid-stream and started again
// (SIGCONT). Then the fault ends and the sender redelivers what was not acknowledged, as Amazon does.
package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/snstest"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

var local *testenv.Local

func TestMain(m *testing.M) { os.Exit(testenv.RunWithLocal(m, &local)) }

// delivery is one webhook delivery and what must follow from it once acknowledged.
type delivery struct {
	name string
	req  events.APIGatewayV2HTTPRequest
	// otps: tracking ID -> code that must be stored; events: idempotency keys that must be on the bus.
	otps   map[string]string
	events int
	// quarantined: the delivery is authenticated but invalid; it must end in the quarantine.
	quarantined bool
}

// workload builds a stream of deliveries of every webhook, unique to run.
func workload(g *harness.Gateway, run string) []delivery {
	ttl := time.Now().Add(time.Hour).UnixMilli()
	var ds []delivery
	for i := range 8 {
		id := fmt.Sprintf("%s-ship-%d", run, i)
		otps := []harness.OTP{{TrackingID: id + "-a", Code: fmt.Sprintf("%06d", 100000+i), TTL: ttl}}
		if i%3 == 0 { // accumulated payloads
			otps = append(otps, harness.OTP{TrackingID: id + "-b", Code: fmt.Sprintf("%06d", 200000+i), TTL: ttl})
		}
		d := delivery{name: id, req: harness.Shipping(harness.ShippingBody(id, time.Now(), otps...)), otps: map[string]string{}, events: len(otps)}
		for _, o := range otps {
			d.otps[o.TrackingID] = o.Code
		}
		ds = append(ds, d)
	}
	for i := range 6 {
		ref := fmt.Sprintf("%s-order-%d", run, i)
		ds = append(ds, delivery{name: ref, req: harness.APS("/aps/transaction-feedback", harness.SignAPS(harness.APSParams(ref, ref)), i%2 == 0), events: 1})
	}
	for i := range 6 {
		id := snstest.MessageID(fmt.Sprintf("%s-ipn-%d", run, i)) // SNS's form, so the event's messageId names the delivery
		// A v2 charge: its own event and the deprecated one it still publishes for one release.
		ds = append(ds, delivery{name: id, req: harness.AmazonPay(g.Notification(id, harness.ChargeMessage(id))), events: 2})
	}
	// Authenticated but invalid: a Shipping payload without its TTL, an APS message without status.
	bad := harness.ShippingBody(run+"-bad", time.Now(), harness.OTP{TrackingID: run + "-bad", Code: "999999", TTL: ttl})
	bad = strings.Replace(bad, `"verificationCodeTTL"`, `"verificationCodeTTLx"`, 1)
	ds = append(ds, delivery{name: run + "-bad-shipping", req: harness.Shipping(bad), quarantined: true})
	p := harness.APSParams(run+"-bad", run+"-bad")
	delete(p, "status")
	delete(p, "response_code")
	ds = append(ds, delivery{name: run + "-bad-aps", req: harness.APS("/aps/transaction-feedback", harness.SignAPS(p), false), quarantined: true})
	// A duplicate of the first delivery, sent in the same stream.
	dup := ds[0]
	dup.name += "-duplicate"
	return append(ds, dup)
}

type scenario struct {
	name     string
	entries  localaws.EntryFault   // PutEvents entries that fail
	requests localaws.RequestFault // whole requests that fail
	pause    bool                  // stop moto_server mid-stream and start it again
	// refuses: the fault is too much for the functions' retries, so some deliveries must be
	// refused; otherwise the retries absorb it.
	refuses bool
}

// every returns a fault that hits one call in n of the targets that match.
func every(n int64, fault localaws.Fault, match func(target string) bool) localaws.RequestFault {
	var calls atomic.Int64
	return func(target string) localaws.Fault {
		if match(target) && calls.Add(1)%n == 0 {
			return fault
		}
		return localaws.Pass
	}
}

func dynamo(target string) bool { return strings.HasPrefix(target, "DynamoDB_") }
func s3(target string) bool     { return strings.HasPrefix(target, "s3 ") }
func any(string) bool           { return true }

func TestEveryAcknowledgedDeliveryIsKeptAndEveryRefusedOneSucceedsOnRedelivery(t *testing.T) {
	scenarios := []scenario{
		{name: "PutEvents fails part of each batch", entries: func(call int, _, _ string) bool { return call%2 == 1 }},
		{name: "PutEvents fails every entry", entries: func(int, string, string) bool { return true }, refuses: true},
		{name: "DynamoDB throttles one call in three", requests: every(3, localaws.Throttle, dynamo)},
		{name: "DynamoDB throttles every call", requests: every(1, localaws.Throttle, dynamo), refuses: true},
		{name: "S3 unavailable", requests: every(1, localaws.Unavailable, s3), refuses: true},
		{name: "connections dropped, one in four, every service", requests: every(4, localaws.Drop, any)},
		{name: "moto_server stopped mid-stream and started again", pause: true, refuses: true},
	}
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			g := harness.Start(t, local)
			queue := g.RouteAll(t)
			ds := workload(g, fmt.Sprintf("s%d", i))

			local.Faults.Set(sc.entries)
			local.Faults.SetRequestFault(sc.requests)
			first := stream(t, g, ds, sc.pause)
			local.Faults.Set(nil)
			local.Faults.SetRequestFault(nil)

			refused := 0
			for j, resp := range first {
				if resp.StatusCode >= 300 {
					refused++
					if resp.StatusCode != 429 && resp.StatusCode < 500 {
						t.Errorf("%s: answered %d during the fault: a 4xx would end Amazon's retries", ds[j].name, resp.StatusCode)
					}
				}
			}
			// The sender redelivers what was not acknowledged, until it is.
			final := make([]events.APIGatewayV2HTTPResponse, len(ds))
			for j, d := range ds {
				final[j] = first[j]
				for attempt := 0; final[j].StatusCode >= 300 && attempt < 40; attempt++ {
					time.Sleep(200 * time.Millisecond)
					final[j] = g.Deliver(d.req)
				}
			}
			t.Logf("%d of %d deliveries refused during the fault, all redelivered", refused, len(ds))
			if sc.refuses && refused == 0 {
				t.Errorf("the fault refused nothing: the scenario does not exercise it")
			}
			assertKept(t, g, queue, ds, final)
		})
	}
}

// stream delivers ds four at a time, as a sender's parallel deliveries; with pause, moto_server is
// stopped after a third of them and started again two seconds later.
func stream(t *testing.T, g *harness.Gateway, ds []delivery, pause bool) []events.APIGatewayV2HTTPResponse {
	t.Helper()
	out := make([]events.APIGatewayV2HTTPResponse, len(ds))
	var next atomic.Int64
	var done atomic.Int64
	var wg sync.WaitGroup
	paused := make(chan struct{})
	if pause {
		go func() {
			for done.Load() < int64(len(ds)/3) {
				time.Sleep(5 * time.Millisecond)
			}
			if err := local.Moto.Pause(); err != nil {
				t.Error(err)
			}
			// Longer than a delivery's budget (4 s less the answer reserve), so that the deliveries
			// in flight are refused whatever the machine's speed: with 2 s, a third SDK attempt
			// (1 s each) could land after the resume and the fault refuse nothing.
			time.Sleep(4 * time.Second)
			if err := local.Moto.Resume(); err != nil {
				t.Error(err)
			}
			close(paused)
		}()
	} else {
		close(paused)
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j := int(next.Add(1)) - 1
				if j >= len(ds) {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
				resp, err := g.Handler(ds[j].req).Handle(ctx, ds[j].req)
				// The answer must come before Lambda's deadline, or the sender sees a timeout
				// instead of a 503.
				if ctx.Err() != nil {
					t.Errorf("%s: answered after the function's deadline", ds[j].name)
				}
				cancel()
				if err != nil {
					t.Errorf("%s: %v", ds[j].name, err)
				}
				out[j] = resp
				done.Add(1)
				if pause {
					time.Sleep(100 * time.Millisecond) // spread the stream over the pause
				}
			}
		}()
	}
	wg.Wait()
	<-paused
	return out
}

type consumed struct {
	DetailType string `json:"detail-type"`
	Detail     struct {
		Metadata struct {
			IdempotencyKey string `json:"idempotencyKey"`
			MessageID      string `json:"messageId"`
			Deferred       *struct {
				ReceivedAt time.Time `json:"receivedAt"`
			} `json:"deferred"`
		} `json:"metadata"`
		Data struct {
			TrackingID        string `json:"trackingId"`
			VerificationCode  string `json:"verificationCode"`
			MerchantReference string `json:"merchantReference"`
		} `json:"data"`
	} `json:"detail"`
}

// assertKept checks what every delivery must have led to once acknowledged, and returns the
// events the consumer got.
func assertKept(t *testing.T, g *harness.Gateway, queue string, ds []delivery, final []events.APIGatewayV2HTTPResponse) []consumed {
	t.Helper()
	ctx := context.Background()
	evs := testenv.Consume[consumed](t, g.Local.Config, queue, 500)
	keysByName := map[string]map[string]bool{} // delivery name -> idempotency keys seen on the bus
	for _, e := range evs {
		name := e.Detail.Metadata.MessageID
		if e.Detail.Data.MerchantReference != "" {
			name = e.Detail.Data.MerchantReference
		}
		if e.Detail.Data.TrackingID != "" {
			name = strings.TrimSuffix(strings.TrimSuffix(e.Detail.Data.TrackingID, "-a"), "-b")
		}
		if keysByName[name] == nil {
			keysByName[name] = map[string]bool{}
		}
		keysByName[name][e.Detail.Metadata.IdempotencyKey] = true
	}
	for j, d := range ds {
		resp := final[j]
		if resp.StatusCode >= 300 {
			t.Errorf("%s: still %d after redelivery: %s", d.name, resp.StatusCode, resp.Body)
			continue
		}
		if d.quarantined {
			var a quarantine.Answer
			_ = json.Unmarshal([]byte(resp.Body), &a)
			if resp.StatusCode != 202 || a.Status != "quarantined" {
				t.Errorf("%s: %d %s, want 202 quarantined", d.name, resp.StatusCode, resp.Body)
				continue
			}
			if r, err := g.Quarantine.Get(ctx, a.QuarantineKey); err != nil || r.Request.Body != d.req.Body {
				t.Errorf("%s: acknowledged as quarantined but not in the quarantine: %v", d.name, err)
			}
			continue
		}
		for id, code := range d.otps {
			got, err := g.OTPs.ByTrackingID(ctx, id)
			if err != nil {
				t.Errorf("%s: acknowledged but tracking ID %s not stored: %v", d.name, id, err)
			} else if got.Code != code {
				t.Errorf("%s: tracking ID %s holds another code", d.name, id)
			}
		}
		// Exactly the delivery's idempotency keys on the bus (at least once each; a redelivery
		// re-emits under the same key, never a new one).
		if got := len(keysByName[d.name]); got != d.events && !strings.HasSuffix(d.name, "-duplicate") {
			t.Errorf("%s: %d idempotency keys on the bus, want %d", d.name, got, d.events)
		}
	}
	for _, s := range harness.Secrets {
		if strings.Contains(g.Logs.String(), s) {
			t.Errorf("a secret reached the logs")
		}
	}
	return evs
}
