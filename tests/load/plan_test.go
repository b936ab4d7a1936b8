package load

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/aps"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/snstest"
)

// webhook is one of the gateway's three webhooks.
type webhook int

const (
	shippingHook webhook = iota
	apsHook
	payHook
	numHooks
)

func (w webhook) String() string { return [...]string{"shipping", "aps", "amazon-pay"}[w] }

// otpVersion is one OTP Amazon generated for a tracking ID; every tracking ID gets several.
type otpVersion struct {
	trackingID string
	code       string    // never printed, logged or put into a failure message
	ttl        int64     // verificationCodeTTL, epoch milliseconds
	at         time.Time // envelope time of the delivery that carries it
	envelope   string    // envelope id of that delivery
	late       bool      // sent in the late phase, after the newest OTP was stored: must lose
}

// newerThan is otpstore's order: the later verificationCodeTTL, then the later envelope time.
func (o *otpVersion) newerThan(p *otpVersion) bool {
	return o.ttl > p.ttl || (o.ttl == p.ttl && o.at.After(p.at))
}

// eventKey is detail.metadata.idempotencyKey of the event announcing o.
func (o *otpVersion) eventKey() string { return "shipping:" + o.envelope + ":" + o.trackingID }

// describe names o without its code.
func (o *otpVersion) describe() string {
	return fmt.Sprintf("delivery %s (TTL %d, envelope time %s)", o.envelope, o.ttl, o.at.Format(time.RFC3339))
}

// delivery is one distinct delivery, one idempotency key: Amazon may send it several times.
type delivery struct {
	hook webhook
	name string // names it in failure messages; never holds an OTP
	key  string // the gateway's idempotency key for it
	// build makes a fresh copy of the very same request (same envelope id, SNS message, APS params).
	build func() events.APIGatewayV2HTTPRequest
	otps  []*otpVersion // shipping: the OTPs it carries (several: an accumulated payload)
	late  bool          // shipping: carries only stale OTPs and is sent in the late phase
}

// sendKind says why a request is sent.
type sendKind int

const (
	firstSend      sendKind = iota // the delivery's first sending
	concurrentCopy                 // an exact duplicate queued right beside it, so sent at the same time
	lateCopy                       // an exact duplicate sent after every first sending was answered
)

func (k sendKind) String() string {
	return [...]string{"first sending", "concurrent duplicate", "late duplicate"}[k]
}

// send is one sending of a delivery, retried like Amazon does until it is answered 2xx.
type send struct {
	d    *delivery
	kind sendKind
	req  events.APIGatewayV2HTTPRequest

	// Written by the one sender goroutine that handles it, read after the phase.
	status    int    // the last answer's status
	outcome   string // the 2xx answer's "status": accepted or duplicate
	events    int    // shipping: "events" of the accepted answer
	problem   string // "error" and "field" of a final non-2xx answer (gateway text, no payload)
	latencies []time.Duration
	codes     []int // every attempt's status
}

// sizes shape the workload.
type sizes struct {
	blocks      int // groups of blockSize tracking IDs
	apsMessages int
	payMessages int
	copyEvery   int // every copyEvery-th delivery of the main phase is also sent by a concurrent copy
	tripleEvery int // ... and every tripleEvery-th by a second one
	lateCopies  int // per webhook, exact duplicates sent in the late phase
}

const blockSize = 5

// plan is the whole workload, built (and signed) before any timing starts.
type plan struct {
	deliveries []*delivery // every distinct delivery
	main, late []*send     // the two phases, in sending order
	// versions holds every OTP delivered for a tracking ID, late ones included.
	versions    map[string][]*otpVersion
	trackingIDs []string
	accumulated int // shipping deliveries carrying more than one OTP
	// inversions counts tracking IDs whose newest OTP is queued, in the main phase, before an
	// older one: out-of-order arrivals in queue order (concurrency adds more).
	inversions int
}

// newest is the OTP otpstore must hold for a tracking ID.
func (p *plan) newest(trackingID string) *otpVersion {
	var best *otpVersion
	for _, v := range p.versions[trackingID] {
		if best == nil || v.newerThan(best) {
			best = v
		}
	}
	return best
}

// count returns the number of sends per webhook and kind in sends.
func count(sends []*send) (n [numHooks][3]int) {
	for _, s := range sends {
		n[s.d.hook][s.kind]++
	}
	return n
}

// buildPlan makes the deliveries of the three webhooks:
//
// Shipping: blocks of 5 tracking IDs, each tracking ID with 2 to 4 OTPs of distinct codes:
//
//	v0 TTL T1, envelope time +0s      every tracking ID
//	v1 TTL T1, envelope time +60s     every tracking ID (same TTL, later time: newer than v0)
//	v2 TTL T2, envelope time +30s     3 in 4 (later TTL, earlier time than v1: newest)
//	v3 TTL T0, envelope time +90s     1 in 3 (latest time but shorter TTL: older than v0)
//
// so the newest is v2 where it exists, else v1. In each block one version goes out as an
// accumulated payload carrying that version for all the block's tracking IDs; the rest go out
// one delivery per OTP. The late phase adds stale OTPs (TTL T1, time +45s: older than v1 and
// than v2) in new deliveries, accumulated for half the blocks, single for some of the others.
//
// APS: transaction feedback (JSON) for new orders, notification feedback (form, refunds) for a
// third. Amazon Pay: signed SNS notifications, charges and refunds.
func buildPlan(g *harness.Gateway, rng *rand.Rand, now time.Time, sz sizes) *plan {
	p := &plan{versions: map[string][]*otpVersion{}}
	usedCodes := map[string]bool{}
	newCode := func() string {
		for {
			c := strconv.Itoa(100000 + rng.IntN(900000))
			if !usedCodes[c] {
				usedCodes[c] = true
				return c
			}
		}
	}
	token := g.Token(harness.Claims())
	envelopes := 0
	base := now.Truncate(time.Second).Add(-10 * time.Minute)
	t0 := now.Add(20 * time.Hour).UnixMilli()
	t1 := now.Add(24 * time.Hour).UnixMilli()
	t2 := now.Add(30 * time.Hour).UnixMilli()

	// shipping adds one delivery carrying an OTP of each tracking ID in ids.
	shipping := func(ids []string, ttl int64, offset time.Duration, late bool) {
		envelopes++
		id := fmt.Sprintf("load-env-%05d", envelopes)
		at := base.Add(offset)
		d := &delivery{hook: shippingHook, key: "shipping:" + id, late: late}
		var otps []harness.OTP
		for _, tid := range ids {
			v := &otpVersion{trackingID: tid, code: newCode(), ttl: ttl, at: at, envelope: id, late: late}
			d.otps = append(d.otps, v)
			p.versions[tid] = append(p.versions[tid], v)
			otps = append(otps, harness.OTP{TrackingID: tid, Code: v.code, TTL: ttl})
		}
		d.name = fmt.Sprintf("Shipping delivery %s (%d OTPs)", id, len(ids))
		if len(ids) > 1 {
			p.accumulated++
		}
		body := harness.ShippingBody(id, at, otps...)
		// One in eight authenticates with an OAuth bearer token instead of the API key.
		oauth := envelopes%8 == 0
		d.build = func() events.APIGatewayV2HTTPRequest {
			r := harness.Shipping(body)
			if oauth {
				delete(r.Headers, "x-api-key")
				r.Headers["authorization"] = "Bearer " + token
			}
			return r
		}
		p.deliveries = append(p.deliveries, d)
	}
	type version struct {
		ttl    int64
		offset time.Duration
		has    func(i int) bool
	}
	all := func(int) bool { return true }
	versions := []version{
		{t1, 0, all},
		{t1, 60 * time.Second, all},
		{t2, 30 * time.Second, func(i int) bool { return i%4 != 0 }},
		{t0, 90 * time.Second, func(i int) bool { return i%3 == 0 }},
	}
	for b := range sz.blocks {
		var ids []string
		for j := range blockSize {
			// 13 digits, like Amazon's tracking IDs.
			ids = append(ids, strconv.Itoa(1709900000000+b*blockSize+j))
			p.trackingIDs = append(p.trackingIDs, ids[j])
		}
		for k, v := range versions {
			var members []string
			for j, tid := range ids {
				if v.has(b*blockSize + j) {
					members = append(members, tid)
				}
			}
			if (b+k)%len(versions) == 0 && len(members) > 1 {
				shipping(members, v.ttl, v.offset, false)
				continue
			}
			for _, tid := range members {
				shipping([]string{tid}, v.ttl, v.offset, false)
			}
		}
		switch {
		case b%2 == 0:
			shipping(ids, t1, 45*time.Second, true)
		case b%4 == 1:
			for j, tid := range ids {
				if j%2 == 1 {
					shipping([]string{tid}, t1, 45*time.Second, true)
				}
			}
		}
	}

	// APS: two thirds transaction feedback of new orders, one third notification feedback
	// (refunds of some of those orders), each signed with the dev SHA Response Phrase.
	orders := sz.apsMessages * 2 / 3
	for j := range sz.apsMessages {
		order := j
		feedback, route, form := aps.TransactionFeedback, "/aps/transaction-feedback", false
		if j >= orders {
			order = j - orders
			feedback, route, form = aps.NotificationFeedback, "/aps/notification-feedback", true
		}
		ref := fmt.Sprintf("LOAD-%05d", order)
		params := harness.APSParams(ref, strconv.Itoa(1699962000000000000+order))
		if feedback == aps.NotificationFeedback {
			params["command"], params["status"], params["response_code"], params["amount"] = "REFUND", "06", "06000", "2500"
		}
		signed := harness.SignAPS(params)
		p.deliveries = append(p.deliveries, &delivery{
			hook:  apsHook,
			name:  fmt.Sprintf("APS %s feedback for %s", feedback, ref),
			key:   aps.IdempotencyKey(signed),
			build: func() events.APIGatewayV2HTTPRequest { return harness.APS(route, signed, form) },
		})
	}

	// Amazon Pay: SNS notifications, three charges to one refund.
	for j := range sz.payMessages {
		id := snstest.MessageID(fmt.Sprintf("load-msg-%05d", j)) // SNS's form: the key below is the event's
		msg := harness.ChargeMessage(fmt.Sprintf("C-%05d", j))
		if j%4 == 3 {
			msg = `{"MerchantID":"A3EXAMPLE","ObjectType":"REFUND","ObjectId":"R-` + strconv.Itoa(j) + `","ChargePermissionId":"S02-0000000-0000000","NotificationType":"STATE_CHANGE","NotificationId":"n-` + id + `","NotificationVersion":"V1"}`
		}
		m := g.Notification(id, msg)
		p.deliveries = append(p.deliveries, &delivery{
			hook:  payHook,
			name:  "Amazon Pay SNS message " + id,
			key:   "amazonpay:" + id,
			build: func() events.APIGatewayV2HTTPRequest { return harness.AmazonPay(m) },
		})
	}

	// Main phase: every delivery but the late stale ones, shuffled across the three webhooks (so
	// a tracking ID's OTPs arrive in random order), with concurrent copies queued right beside.
	var mainDeliveries, lateStale []*delivery
	for _, d := range p.deliveries {
		if d.late {
			lateStale = append(lateStale, d)
		} else {
			mainDeliveries = append(mainDeliveries, d)
		}
	}
	rng.Shuffle(len(mainDeliveries), func(i, j int) { mainDeliveries[i], mainDeliveries[j] = mainDeliveries[j], mainDeliveries[i] })
	position := map[string]int{} // envelope id -> position in the main phase
	for i, d := range mainDeliveries {
		p.main = append(p.main, &send{d: d, kind: firstSend, req: d.build()})
		if i%sz.copyEvery == 0 {
			p.main = append(p.main, &send{d: d, kind: concurrentCopy, req: d.build()})
		}
		if i%sz.tripleEvery == 0 {
			p.main = append(p.main, &send{d: d, kind: concurrentCopy, req: d.build()})
		}
		if d.hook == shippingHook {
			position[d.otps[0].envelope] = i
		}
	}
	for _, tid := range p.trackingIDs {
		n := p.newest(tid)
		for _, v := range p.versions[tid] {
			if !v.late && v != n && position[v.envelope] > position[n.envelope] {
				p.inversions++
				break
			}
		}
	}

	// Late phase: the stale OTPs and exact duplicates of deliveries already answered.
	for _, d := range lateStale {
		p.late = append(p.late, &send{d: d, kind: firstSend, req: d.build()})
	}
	for hook := range numHooks {
		var of []*delivery
		for _, d := range mainDeliveries {
			if d.hook == hook {
				of = append(of, d)
			}
		}
		for _, i := range rng.Perm(len(of))[:min(sz.lateCopies, len(of))] {
			p.late = append(p.late, &send{d: of[i], kind: lateCopy, req: of[i].build()})
		}
	}
	rng.Shuffle(len(p.late), func(i, j int) { p.late[i], p.late[j] = p.late[j], p.late[i] })
	sort.Strings(p.trackingIDs)
	return p
}
