package faults

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// sender is how one of Amazon's senders retries a delivery that got no 2xx: retries more
// attempts, interval apart, then it gives up.
type sender struct {
	retries  int
	interval time.Duration
}

// timeScale shrinks the senders' intervals so that a suite runs in seconds; the number of
// attempts is Amazon's. The outage of each scenario outlasts every sender's whole window. The
// functions' own times are not scaled: a claim left in progress lapses after its invocation's
// 4 s, within the scaled windows (6 s, 10 s) as within Amazon's.
const timeScale = 10

// The senders' schedules (amazon-webhook-facts §2, §3): SNS's default HTTP/S policy retries three
// times 20 s apart; APS about ten times 10 s apart. Shipping retries for 24 h, longer than any
// outage here: deferring it is opt-in, and it is sent like APS, the shorter of the two.
var (
	snsSender = sender{retries: 3, interval: 20 * time.Second / timeScale}
	apsSender = sender{retries: 10, interval: 10 * time.Second / timeScale}
)

func senderOf(req events.APIGatewayV2HTTPRequest) sender {
	if strings.HasPrefix(req.RawPath, "/amazon-pay/") {
		return snsSender
	}
	return apsSender
}

// send delivers req as s does and returns the last answer and the attempts made.
func (s sender) send(g *harness.Gateway, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, int) {
	resp := g.Deliver(req)
	attempts := 1
	for ; harness.Retryable(resp.StatusCode) && attempts <= s.retries; attempts++ {
		time.Sleep(s.interval)
		resp = g.Deliver(req)
	}
	return resp, attempts
}

func putEvents(target string) bool { return target == "AWSEvents.PutEvents" }

// Deferral's promise: an authenticated, valid delivery that a dependency's outage stops is kept
// before it is answered, and re-driven once the dependency is back, however short the sender's
// retry window. Each scenario streams every webhook's deliveries (Shipping with its opt-in)
// through an outage that outlasts every sender's window, re-drives during the outage (the
// re-drives fail and back off), ends the outage and re-drives until nothing is deferred: every
// delivery's events reach the consumer under its idempotency keys, its OTPs are stored, and
// nothing is lost or dead-lettered.
func TestNothingAuthenticatedIsLostWhenADependencyIsDownLongerThanTheSenderRetries(t *testing.T) {
	scenarios := []struct {
		name  string
		fault localaws.RequestFault
		// bucketDownFor: the bucket is unavailable too for this long from the start (a first
		// attempt's whole budget), so the first attempts are refused and a sender's retry is what
		// gets the delivery kept.
		bucketDownFor time.Duration
		// lapsedClaims: the claims' release fails, so a re-drive meets its own in-progress claim
		// until it lapses.
		lapsedClaims bool
		// copies of the workload streamed at once (a load run).
		copies int
		// partial: the fault lets some calls through, so not every delivery is deferred.
		partial bool
	}{
		{name: "the bus unavailable", fault: every(1, localaws.Unavailable, putEvents)},
		{name: "DynamoDB unavailable", fault: every(1, localaws.Unavailable, dynamo)},
		{name: "the bus unavailable and the claims' release failing", lapsedClaims: true, fault: func(target string) localaws.Fault {
			if putEvents(target) || target == "DynamoDB_20120810.DeleteItem" {
				return localaws.Unavailable
			}
			return localaws.Pass
		}},
		{name: "the bus and the bucket unavailable, then the bucket back", bucketDownFor: 4 * time.Second, fault: every(1, localaws.Unavailable, putEvents)},
		{name: "PutEvents throttled for half the calls during a load run", copies: 4, partial: true, fault: every(2, localaws.Throttle, putEvents)},
	}
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			g := harness.StartDeferring(t, local, harness.Redrive{Retention: time.Hour, Backoff: time.Second, MaxBackoff: 2 * time.Second})
			queue := g.RouteAll(t)
			var ds []delivery
			for c := range max(sc.copies, 1) {
				ds = append(ds, workload(g, fmt.Sprintf("d%d-%d", i, c))...)
			}

			bucketBack := time.Now().Add(sc.bucketDownFor)
			local.Faults.SetRequestFault(func(target string) localaws.Fault {
				if s3(target) && time.Now().Before(bucketBack) {
					return localaws.Unavailable
				}
				return sc.fault(target)
			})
			final, attempts := sendAll(g, ds)

			// Still down: a re-drive fails and backs off; it does not dead-letter anything.
			during := g.RedriveOnce(t)
			local.Faults.SetRequestFault(nil)
			t.Logf("during the outage: %s", during)

			deferred, refusedFirst := 0, 0
			for j, resp := range final {
				var body struct{ Status string }
				_ = json.Unmarshal([]byte(resp.Body), &body)
				switch {
				case harness.Retryable(resp.StatusCode):
					t.Errorf("%s: LOST: the sender gave up after %d attempts on %d %s", ds[j].name, attempts[j], resp.StatusCode, resp.Body)
				case body.Status == "deferred":
					deferred++
					if resp.StatusCode != 202 {
						t.Errorf("%s: deferred with %d", ds[j].name, resp.StatusCode)
					}
				}
				if attempts[j] > 1 {
					refusedFirst++
				}
			}
			t.Logf("%d of %d deliveries deferred; %d needed a sender's retry", deferred, len(ds), refusedFirst)
			valid := 0
			for _, d := range ds {
				if !d.quarantined {
					valid++
				}
			}
			switch {
			case !sc.partial && deferred != valid:
				t.Errorf("%d deliveries deferred, want every valid one (%d)", deferred, valid)
			case sc.partial && deferred == 0:
				t.Errorf("nothing deferred: the scenario does not exercise deferral")
			}
			if sc.bucketDownFor > 0 && refusedFirst == 0 {
				t.Errorf("no first attempt was refused: the bucket's outage was not exercised")
			}
			if !sc.partial && during.Failed == 0 {
				t.Errorf("no re-drive failed during the outage (%s): the backoff was not exercised", during)
			}

			g.RedriveAll(t, time.Minute)
			if dead := g.DeadLetters(t); len(dead) > 0 {
				t.Errorf("%d deliveries dead-lettered within the retention: %v", len(dead), dead)
			}
			if sc.lapsedClaims && !strings.Contains(g.Logs.String(), `"msg":"delivery already in progress"`) {
				t.Errorf("no re-drive met its own lapsed claim: the scenario does not exercise it")
			}
			evs := assertKept(t, g, queue, ds, final)
			marked := 0
			for _, e := range evs {
				if d := e.Detail.Metadata.Deferred; d != nil {
					marked++
					if d.ReceivedAt.IsZero() {
						t.Errorf("%s: metadata.deferred without receivedAt", e.Detail.Metadata.IdempotencyKey)
					}
				}
			}
			if deferred > 0 && marked == 0 {
				t.Errorf("no event says it was deferred")
			}
		})
	}
}

// sendAll sends ds four at a time, each as its sender does, and returns the last answers and
// the attempts each took.
func sendAll(g *harness.Gateway, ds []delivery) ([]events.APIGatewayV2HTTPResponse, []int) {
	final := make([]events.APIGatewayV2HTTPResponse, len(ds))
	attempts := make([]int, len(ds))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				j := int(next.Add(1)) - 1
				if j >= len(ds) {
					return
				}
				final[j], attempts[j] = senderOf(ds[j].req).send(g, ds[j].req)
			}
		})
	}
	wg.Wait()
	return final, attempts
}
