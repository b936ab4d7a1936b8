package load

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpay"
	"github.com/amazon-webhook-gateway/gateway/shared/aps"
	"github.com/amazon-webhook-gateway/gateway/shared/awsconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

const (
	concurrency = 32
	// seed fixes the workload and its order, so that a failure can be rerun; the interleaving of
	// 32 concurrent senders still varies from run to run.
	seed = 20260514
	// sendBudget bounds both phases together, inside go test's default 10 minute timeout; less when
	// -timeout leaves less.
	sendBudget = 8 * time.Minute
)

// scale multiplies the workload. At 1 (make test) a run takes about 40 s on an idle 2-core machine
// and under 2 minutes with -race and two busy loops beside it, so that `go test -race -count=5`
// fits go test's default timeout; `make load` runs it at 5: 10,099 deliveries.
var scale = flag.Int("scale", 1, "multiplies the load test's workload (5: 10,099 deliveries)")

// baseWorkload, at scale 1: 501 Shipping deliveries (200 tracking IDs, about 620 OTPs, some
// accumulated) and 40 late ones carrying 120 stale OTPs; 580 APS and 580 Amazon Pay messages; one
// in ten deliveries of the main phase also sent by a concurrent duplicate, one in fifty by two;
// 40 late duplicates per webhook: about 2,020 deliveries in all.
var baseWorkload = sizes{
	blocks:      40, // 200 tracking IDs
	apsMessages: 580,
	payMessages: 580,
	copyEvery:   10,
	tripleEvery: 50,
	lateCopies:  40,
}

// minDeliveries per unit of scale: the workload must not shrink unnoticed.
const minDeliveries = 2000

func workloadAt(scale int) sizes {
	w := baseWorkload
	w.blocks, w.apsMessages, w.payMessages, w.lateCopies = w.blocks*scale, w.apsMessages*scale, w.payMessages*scale, w.lateCopies*scale
	return w
}

// TestLoad sends the workload through the harness handlers at concurrency 32 and checks, for this
// fault-free run: no delivery lost (each ends 2xx; each tracking ID's newest OTP is stored), none
// processed twice (exactly one sending of each delivery answered "accepted", every other one
// "duplicate"; exactly one event per idempotency key), the newest OTP wins for every tracking ID,
// nothing quarantined, and no OTP code in the logs. A delivery that meets a fault all the same (a
// slow moto can make it outlast its 4 s budget) is held to the gateway's at-least-once contract
// instead, and counted in the log: see findFaults and checkEvents.
//
// moto_server is the bottleneck: it serves ~200-280 requests/s on one core whatever the API, and
// a delivery costs 3 requests (claim, PutEvents, complete; Shipping's OTPs and Amazon Pay's two
// keys go in the claim's and the completion's transactions: see tests/calls), a duplicate 1. The
// run logs its measured throughput.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped in -short mode")
	}
	runLoad(t, harness.Start(t, local), false)
}

// TestLoadWithHalfThePutEventsThrottled is TestLoad with every other PutEvents call throttled
// (the account's quota shared with other publishers) and the functions deferring what the
// publisher's retries cannot get onto the bus: nothing is lost. A deferred delivery is re-driven
// after each phase (and through the same throttling); it is held to at-least-once, as any delivery
// that met a fault.
func TestLoadWithHalfThePutEventsThrottled(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped in -short mode")
	}
	runLoad(t, harness.StartDeferring(t, local, harness.Redrive{Retention: time.Hour, Backoff: time.Second, MaxBackoff: 2 * time.Second}), true)
}

// runLoad sends the workload through g, with every other PutEvents call throttled when throttle
// is set, re-driving what was deferred after each phase, and checks the run.
func runLoad(t *testing.T, g *harness.Gateway, throttle bool) {
	rec := &recorder{}
	g.Local.Faults.Set(rec.entryFault)
	reqs := &requestCounter{}
	var putEvents atomic.Int64
	g.Local.Faults.SetRequestFault(func(target string) localaws.Fault {
		reqs.count(target)
		if throttle && target == "AWSEvents.PutEvents" && putEvents.Add(1)%2 == 0 {
			return localaws.Throttle
		}
		return localaws.Pass
	})
	t.Cleanup(func() { g.Local.Faults.Set(nil); g.Local.Faults.SetRequestFault(nil) })

	if *scale < 1 {
		t.Fatalf("-scale %d: want 1 or more", *scale)
	}
	prepStart := time.Now()
	p := buildPlan(g, rand.New(rand.NewPCG(seed, seed)), time.Now(), workloadAt(*scale))
	prep := time.Since(prepStart)
	total := len(p.main) + len(p.late)
	if total < minDeliveries**scale {
		t.Fatalf("the workload has %d deliveries, want at least %d", total, minDeliveries**scale)
	}
	logPlan(t, p, prep)

	deadline := time.Now().Add(sendBudget)
	if d, ok := t.Deadline(); ok && d.Add(-time.Minute).Before(deadline) {
		deadline = d.Add(-time.Minute) // time left to check and report
	}
	s := &sender{g: g, deadline: deadline}
	// What was deferred is re-driven before the late copies come, as the event source mapping
	// would have done by then.
	redrive := func() {
		if g.RedriveQueues != nil {
			g.RedriveAll(t, 2*time.Minute)
		}
	}
	mainWall := s.run(p.main, concurrency)
	redrive()
	lateWall := s.run(p.late, concurrency)
	redrive()
	if time.Now().After(s.deadline) {
		t.Errorf("the run outlasted its budget (%s): deliveries still failing then were given up (see below)", sendBudget)
	}
	logStats(t, "main phase", p.main, mainWall)
	logStats(t, "late phase", p.late, lateWall)
	logStats(t, "overall", slices.Concat(p.main, p.late), mainWall+lateWall)
	logMainStale(t, p)
	reqs.log(t, mainWall+lateWall)
	t.Logf("PutEvents calls: %d, entries recorded: %d", g.Local.Faults.Calls(), len(rec.all()))

	logs := g.Logs.String()
	faults := findFaults(p, logs)
	var probs problems
	extraAccepted := checkAnswers(&probs, p, faults)
	rerun, resent := checkEvents(&probs, p, rec.all(), faults)
	checkOTPs(&probs, g.OTPs.ByTrackingID, p)
	checkQuarantine(&probs, g)
	checkLogs(t, &probs, logs, p)
	logFaults(t, faults, extraAccepted, rerun, resent)
	if throttle && len(faults) == 0 {
		t.Errorf("no delivery met the throttling: the run does not exercise it")
	}
	probs.report(t)
}

// findFaults returns the deliveries that met a fault, with why: an attempt answered 5xx, or a
// completion the idempotency store could not record (logged by delivery.Answer). Nothing here
// injects faults, but when moto is slow (go test ./... runs other packages on the same cores) a
// delivery can outlast the function's 4 s budget. For such a delivery the gateway promises
// at-least-once, not exactly-once: the sender's retry may run the work again, re-emitting its
// events with the same idempotency keys (eventbus.Publisher, delivery.Answer), and consumers
// dedupe on them. Every other delivery must have been processed exactly once.
func findFaults(p *plan, logs string) map[*delivery]string {
	faults := map[*delivery]string{}
	for _, sd := range slices.Concat(p.main, p.late) {
		for _, c := range sd.codes {
			if c >= 500 {
				faults[sd.d] = fmt.Sprintf("answered %d", c)
			}
		}
	}
	byKey := map[string]*delivery{}
	for _, d := range p.deliveries {
		byKey[d.key] = d
	}
	for line := range strings.Lines(logs) {
		if !strings.Contains(line, `"delivery processed but not recorded"`) && !strings.Contains(line, `"delivery failed"`) &&
			!strings.Contains(line, `"delivery could not complete; deferring it"`) {
			continue
		}
		var l struct {
			Msg            string `json:"msg"`
			DeliveryID     string `json:"deliveryId"`     // shipping
			MessageID      string `json:"messageId"`      // amazon pay
			IdempotencyKey string `json:"idempotencyKey"` // aps
		}
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		for _, key := range []string{"shipping:" + l.DeliveryID, "amazonpay:" + l.MessageID, l.IdempotencyKey} {
			if d, ok := byKey[key]; ok {
				if _, seen := faults[d]; !seen || l.Msg == "delivery processed but not recorded" {
					faults[d] = l.Msg
				}
			}
		}
	}
	return faults
}

func logFaults(t *testing.T, faults map[*delivery]string, extraAccepted, rerun, resent int) {
	t.Helper()
	if resent > 0 {
		t.Logf("resent: %d events reached moto twice, byte for byte, from deliveries with an invocation over %s (SDK attempt timeouts: moto too slow)",
			resent, awsconfig.AttemptTimeout)
	}
	if len(faults) == 0 {
		t.Logf("faults: none (no 5xx answer, no unrecorded completion): every delivery was held to exactly-once processing")
		return
	}
	why := map[string]int{}
	for _, reason := range faults {
		why[reason]++
	}
	var parts []string
	for _, reason := range slices.Sorted(maps.Keys(why)) {
		parts = append(parts, fmt.Sprintf("%d %s", why[reason], reason))
	}
	t.Logf("faults: %d deliveries outlasted their budget or failed (%s): held to at-least-once, which cost %d extra acceptances and %d events emitted again with the same idempotency keys; all others were checked for exactly-once",
		len(faults), strings.Join(parts, ", "), extraAccepted, rerun)
}

func logPlan(t *testing.T, p *plan, prep time.Duration) {
	t.Helper()
	otps, late := 0, 0
	for _, vs := range p.versions {
		for _, v := range vs {
			otps++
			if v.late {
				late++
			}
		}
	}
	t.Logf("workload (seed %d, built and signed in %s): %d deliveries, %d distinct, concurrency %d",
		seed, prep.Round(time.Millisecond), len(p.main)+len(p.late), len(p.deliveries), concurrency)
	for _, phase := range []struct {
		name  string
		sends []*send
	}{{"main", p.main}, {"late", p.late}} {
		n := count(phase.sends)
		for h := range numHooks {
			t.Logf("  %s phase %-10s %5d first sendings, %4d concurrent duplicates, %4d late duplicates",
				phase.name, h, n[h][firstSend], n[h][concurrentCopy], n[h][lateCopy])
		}
	}
	t.Logf("  shipping: %d tracking IDs, %d OTPs (%d stale ones sent late), %d accumulated payloads; %d tracking IDs have an older OTP queued after the newest",
		len(p.trackingIDs), otps, late, p.accumulated, p.inversions)
}

func logStats(t *testing.T, name string, sends []*send, wall time.Duration) {
	t.Helper()
	per, all := summarise(sends)
	t.Logf("%s: %d deliveries in %s (rates over the phase's wall time; latency per handler invocation, retries included)",
		name, all.deliveries, wall.Round(time.Millisecond))
	for h := range numHooks {
		t.Logf("  %s", per[h].line(h.String(), wall))
	}
	t.Logf("  %s", all.line("all", wall))
}

// logMainStale reports how many OTPs the main phase's own disorder made stale: delivered after a
// newer OTP of their tracking ID had been stored, so stored nothing and announced nothing.
func logMainStale(t *testing.T, p *plan) {
	t.Helper()
	stale := 0
	for _, sd := range p.main {
		if sd.d.hook == shippingHook && sd.outcome == "accepted" {
			stale += len(sd.d.otps) - sd.events
		}
	}
	t.Logf("main phase: %d OTPs arrived after a newer one of their tracking ID and were discarded as stale", stale)
}

// sendsOf groups the sends of both phases by delivery.
func sendsOf(p *plan) map[*delivery][]*send {
	m := map[*delivery][]*send{}
	for _, sd := range slices.Concat(p.main, p.late) {
		m[sd.d] = append(m[sd.d], sd)
	}
	return m
}

// checkAnswers: every sending ends 2xx (nothing lost), exactly one sending of each delivery is
// answered "accepted" and every other one "duplicate" (nothing processed twice) unless the
// delivery met a fault, when at least one is. It returns the extra acceptances of those.
func checkAnswers(probs *problems, p *plan, faults map[*delivery]string) (extra int) {
	bySend := sendsOf(p)
	for _, d := range p.deliveries {
		_, faulted := faults[d]
		accepted := 0
		for _, sd := range bySend[d] {
			switch {
			case sd.status/100 != 2:
				probs.add("LOST: sendings never answered 2xx", "%s, %s: last answer %d %s after %d attempts",
					d.name, sd.kind, sd.status, sd.problem, len(sd.codes))
			case sd.outcome == "deferred" && sd.status == 202:
				// Re-driven after the phase: accepted then, or a duplicate of a copy accepted live.
				accepted++
			case sd.status != 200 || (sd.outcome != "accepted" && sd.outcome != "duplicate"):
				probs.add("NOT PROCESSED: sendings answered 2xx without being accepted", "%s, %s: answered %d %q %s",
					d.name, sd.kind, sd.status, sd.outcome, sd.problem)
			case sd.outcome == "accepted":
				accepted++
			}
			if sd.kind == lateCopy && sd.status == 200 && sd.outcome != "duplicate" && !faulted {
				probs.add("DUPLICATES NOT RECOGNISED: late exact duplicates not answered \"duplicate\"", "%s: answered %q", d.name, sd.outcome)
			}
		}
		switch {
		case accepted > 1 && faulted:
			extra += accepted - 1
		case accepted > 1:
			probs.add("PROCESSED TWICE: deliveries accepted by more than one sending", "%s: accepted %d times", d.name, accepted)
		case accepted == 0 && allAnswered(bySend[d]):
			probs.add("NEVER ACCEPTED: deliveries only ever answered \"duplicate\"", "%s", d.name)
		}
	}
	return extra
}

func allAnswered(sends []*send) bool {
	for _, sd := range sends {
		if sd.status != 200 {
			return false
		}
	}
	return true
}

// expectation says how many events an idempotency key must have.
type expectation struct {
	d    *delivery
	v    *otpVersion // shipping
	must int         // 1: exactly one; 0: none; -1: at most one
}

// checkEvents: one event per APS and Amazon Pay message, one per Shipping OTP that became current
// (the newest of each tracking ID always does, an OTP sent after the newest never does, others
// may, depending on arrival order), never two for one idempotency key, and as many per Shipping
// delivery as its accepted answer announced.
//
// Two exceptions, both faults that a slow moto can cause and the gateway owns up to (events keep
// their idempotency key, consumers dedupe on it): a delivery that met a fault (see findFaults)
// may have run its work again, emitting new copies of its events (rerun); and a delivery with a
// handler invocation longer than awsconfig.AttemptTimeout may have had a PutEvents attempt
// abandoned by the SDK after moto took it, and resent: the very same entry, byte for byte
// (resent). A delivery whose every invocation was shorter cannot have had an attempt time out,
// so a byte-identical second entry there is the gateway publishing twice, and fails the test.
func checkEvents(probs *problems, p *plan, entries []recordedEntry, faults map[*delivery]string) (rerun, resent int) {
	want := map[string]expectation{}
	for _, d := range p.deliveries {
		if d.hook != shippingHook {
			want[d.key] = expectation{d: d, must: 1}
			if d.hook == payHook {
				// An Amazon Pay API v2 message also has its own detail-type's event.
				want[strings.Replace(d.key, "amazonpay:", "amazonpay:v2:", 1)] = expectation{d: d, must: 1}
			}
			continue
		}
		for _, v := range d.otps {
			e := expectation{d: d, v: v, must: -1}
			switch {
			case v.late:
				e.must = 0
			case v == p.newest(v.trackingID):
				e.must = 1
			}
			want[v.eventKey()] = e
		}
	}
	got := map[string]int{}
	details := map[string]map[string]bool{} // key -> distinct details
	perEnvelope := map[string]int{}         // distinct events per Shipping delivery
	for _, e := range entries {
		ev, err := parseDetail(e.detail)
		if err != nil {
			probs.add("UNREADABLE EVENTS", "%q event: %v", e.detailType, err)
			continue
		}
		key := ev.Metadata.IdempotencyKey
		got[key]++
		w, ok := want[key]
		if !ok {
			probs.add("UNEXPECTED EVENTS: idempotency keys of no delivery sent", "%q event %s", e.detailType, key)
			continue
		}
		if details[key] == nil {
			details[key] = map[string]bool{}
		}
		if !details[key][e.detail] && w.d.hook == shippingHook {
			perEnvelope[ev.Metadata.DeliveryID]++
		}
		details[key][e.detail] = true
		if w.v != nil && (e.detailType != shipping.DetailTypeOTP || ev.Data.TrackingID != w.v.trackingID || ev.Data.VerificationCode != w.v.code) {
			probs.add("WRONG EVENTS: OTP events not matching the OTP delivered (codes not shown)",
				"%s: %q event for tracking ID %s, code equal to the one delivered: %t",
				key, e.detailType, ev.Data.TrackingID, ev.Data.VerificationCode == w.v.code)
		}
	}
	bySend := sendsOf(p)
	slow := func(d *delivery) bool {
		for _, sd := range bySend[d] {
			for _, l := range sd.latencies {
				if l >= awsconfig.AttemptTimeout {
					return true
				}
			}
		}
		return false
	}
	for _, key := range slices.Sorted(maps.Keys(got)) {
		n := got[key]
		w, known := want[key]
		if n <= 1 || !known || w.must == 0 {
			continue
		}
		distinct := len(details[key])
		_, faulted := faults[w.d]
		switch {
		case distinct == 1 && slow(w.d):
			resent += n - 1
		case faulted:
			rerun += distinct - 1
			resent += n - distinct
		default:
			probs.add("DOUBLE EVENTS: idempotency keys with more than one event", "%s (%s): %d events, %d distinct", key, w.d.name, n, distinct)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(want)) {
		w := want[key]
		switch {
		case w.must == 1 && got[key] == 0 && w.v != nil:
			probs.add("LOST EVENTS: newest OTPs never announced", "%s: tracking ID %s, %s", key, w.v.trackingID, w.v.describe())
		case w.must == 1 && got[key] == 0:
			probs.add("LOST EVENTS: messages never announced", "%s (%s)", key, w.d.name)
		case w.must == 0 && got[key] > 0:
			probs.add("STALE OTPS ANNOUNCED: OTPs sent after a newer one was stored", "%s: tracking ID %s, %s", key, w.v.trackingID, w.v.describe())
		}
	}
	for _, d := range p.deliveries {
		if _, faulted := faults[d]; faulted || d.hook != shippingHook {
			continue
		}
		for _, sd := range bySend[d] {
			if sd.outcome == "accepted" && sd.events != perEnvelope[d.otps[0].envelope] {
				probs.add("EVENT COUNT MISMATCH: Shipping answers announcing another number of events than published",
					"%s: answered events=%d, %d published", d.name, sd.events, perEnvelope[d.otps[0].envelope])
			}
		}
	}
	return rerun, resent
}

// checkOTPs: every tracking ID's stored OTP is present and is the newest delivered for it (later
// TTL first, then later envelope time).
func checkOTPs(probs *problems, lookup func(context.Context, string) (otpstore.OTP, error), p *plan) {
	type result struct {
		otp otpstore.OTP
		err error
	}
	results := make([]result, len(p.trackingIDs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, concurrency)
	for i, tid := range p.trackingIDs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			results[i].otp, results[i].err = lookup(ctx, tid)
		}()
	}
	wg.Wait()
	for i, tid := range p.trackingIDs {
		want := p.newest(tid)
		got, err := results[i].otp, results[i].err
		switch {
		case errors.Is(err, otpstore.ErrNotFound):
			probs.add("LOST OTPS: tracking IDs with no stored OTP", "tracking ID %s: none stored; newest is %s", tid, want.describe())
		case err != nil:
			probs.add("OTP STORE UNREADABLE", "tracking ID %s: %v", tid, err)
		case got.DeliveryID != want.envelope || got.Code != want.code || got.ExpiresAt.UnixMilli() != want.ttl || !got.EventTime.Equal(want.at):
			probs.add("NEWEST OTP LOST: tracking IDs holding another OTP than the newest (codes not shown)",
				"tracking ID %s: holds delivery %s (TTL %d, envelope time %s, code equal to the newest's: %t); newest is %s",
				tid, got.DeliveryID, got.ExpiresAt.UnixMilli(), got.EventTime.Format(time.RFC3339), got.Code == want.code, want.describe())
		}
	}
}

// checkQuarantine: a fault-free run quarantines nothing.
func checkQuarantine(probs *problems, g *harness.Gateway) {
	for _, webhook := range []string{shipping.Webhook, aps.Webhook, amazonpay.Webhook} {
		items, err := g.Quarantine.List(context.Background(), webhook)
		if err != nil {
			probs.add("QUARANTINE UNREADABLE", "%s: %v", webhook, err)
			continue
		}
		for _, it := range items {
			probs.add("QUARANTINED: deliveries kept instead of processed", "%s: %s", webhook, it.Key)
		}
	}
}

// checkLogs: no OTP code and no secret in anything the functions logged; it also logs how many
// warnings and errors of each kind the functions logged (429s show up as "delivery already in
// progress").
func checkLogs(t *testing.T, probs *problems, logs string, p *plan) {
	t.Helper()
	owner := map[string]string{} // code -> tracking ID
	for tid, vs := range p.versions {
		for _, v := range vs {
			owner[v.code] = tid
		}
	}
	leaked := map[string]bool{}
	codeTokens(logs, 6, func(run string) {
		if tid, ok := owner[run]; ok {
			leaked[tid] = true
		}
	})
	for _, tid := range slices.Sorted(maps.Keys(leaked)) {
		probs.add("OTP LEAKED: tracking IDs whose OTP code appears in the logs (codes not shown)", "tracking ID %s", tid)
	}
	for i, s := range harness.Secrets {
		if strings.Contains(logs, s) {
			probs.add("SECRET LEAKED: secrets in the logs", "harness.Secrets[%d]", i)
		}
	}
	notable := map[string]int{}
	for line := range strings.Lines(logs) {
		if !strings.Contains(line, `"level":"WARN"`) && !strings.Contains(line, `"level":"ERROR"`) {
			continue
		}
		var l struct{ Level, Msg string }
		_ = json.Unmarshal([]byte(line), &l)
		notable[fmt.Sprintf("%s %q", l.Level, l.Msg)]++
	}
	t.Logf("function logs: %d bytes; warnings and errors: %d kinds", len(logs), len(notable))
	for _, k := range slices.Sorted(maps.Keys(notable)) {
		t.Logf("  %6d %s", notable[k], k)
	}
}
