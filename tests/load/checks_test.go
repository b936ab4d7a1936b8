package load

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
)

// The checks of TestLoad fail on what they are meant to catch: a synthetic run with one of each
// problem, no moto_server needed.
func TestLoadChecksCatchProblems(t *testing.T) {
	at := time.Date(2026, 5, 14, 10, 0, 0, 0, time.UTC)
	newest := &otpVersion{trackingID: "1709900000001", code: "482913", ttl: 2000, at: at, envelope: "env-1"}
	stale := &otpVersion{trackingID: "1709900000001", code: "573920", ttl: 1000, at: at, envelope: "env-2", late: true}
	lost := &otpVersion{trackingID: "1709900000002", code: "610284", ttl: 2000, at: at, envelope: "env-3"}
	apsMsg := &delivery{hook: apsHook, name: "APS message", key: "aps:abc"}
	payMsg := &delivery{hook: payHook, name: "Amazon Pay message", key: "amazonpay:m-1"}
	ship1 := &delivery{hook: shippingHook, name: "Shipping env-1", key: "shipping:env-1", otps: []*otpVersion{newest}}
	ship2 := &delivery{hook: shippingHook, name: "Shipping env-2", key: "shipping:env-2", otps: []*otpVersion{stale}, late: true}
	ship3 := &delivery{hook: shippingHook, name: "Shipping env-3", key: "shipping:env-3", otps: []*otpVersion{lost}}
	// Two deliveries that met a fault, held to at-least-once: no problem reported for them.
	payRetried := &delivery{hook: payHook, name: "Amazon Pay message answered 503 once", key: "amazonpay:m-2"}
	apsUnrecorded := &delivery{hook: apsHook, name: "APS message whose completion was not recorded", key: "aps:def"}
	// And one whose invocation outlasted an SDK attempt: an identical resend is excused.
	paySlow := &delivery{hook: payHook, name: "Amazon Pay message handled slowly", key: "amazonpay:m-3"}
	p := &plan{
		deliveries:  []*delivery{apsMsg, payMsg, ship1, ship2, ship3, payRetried, apsUnrecorded, paySlow},
		versions:    map[string][]*otpVersion{newest.trackingID: {newest, stale}, lost.trackingID: {lost}},
		trackingIDs: []string{newest.trackingID, lost.trackingID},
	}
	ok := func(d *delivery, kind sendKind, outcome string, events int) *send {
		return &send{d: d, kind: kind, status: 200, outcome: outcome, events: events, codes: []int{200}}
	}
	p.main = []*send{
		ok(apsMsg, firstSend, "accepted", 0), ok(apsMsg, concurrentCopy, "accepted", 0), // processed twice
		{d: payMsg, kind: firstSend, status: 503, problem: "temporarily_unavailable", codes: []int{503}}, // lost
		ok(ship1, firstSend, "accepted", 1),
		ok(ship3, firstSend, "accepted", 1),
		{d: payRetried, kind: firstSend, status: 200, outcome: "accepted", codes: []int{503, 200}},
		{d: payRetried, kind: concurrentCopy, status: 200, outcome: "accepted", codes: []int{429, 200}},
		ok(apsUnrecorded, firstSend, "accepted", 0),
		{d: paySlow, kind: firstSend, status: 200, outcome: "accepted", codes: []int{200}, latencies: []time.Duration{1200 * time.Millisecond}},
	}
	p.late = []*send{
		ok(ship2, firstSend, "accepted", 1),        // a stale OTP announced
		ok(ship1, lateCopy, "accepted", 0),         // a late duplicate processed again
		ok(apsUnrecorded, lateCopy, "accepted", 0), // redone: its completion was not recorded
	}
	detail := func(v *otpVersion, code string) string {
		return `{"metadata":{"idempotencyKey":"` + v.eventKey() + `","deliveryId":"` + v.envelope + `"},"data":{"trackingId":"` + v.trackingID + `","verificationCode":"` + code + `"}}`
	}
	entries := []recordedEntry{
		{"APS Purchase Succeeded", `{"metadata":{"idempotencyKey":"aps:abc"}}`},
		{"APS Purchase Succeeded", `{"metadata":{"idempotencyKey":"aps:abc"}}`},
		{"Shipping OTP Generated", detail(newest, "999999")},
		{"Shipping OTP Generated", detail(stale, stale.code)},
		{"Amazon Pay IPN", `{"metadata":{"idempotencyKey":"amazonpay:unknown"}}`},
		{"Amazon Pay Charge Notification", `{"metadata":{"idempotencyKey":"amazonpay:m-2","receivedAt":"2026-05-14T10:00:01Z"}}`},
		{"Amazon Pay Charge Notification", `{"metadata":{"idempotencyKey":"amazonpay:m-2","receivedAt":"2026-05-14T10:00:02Z"}}`},
		{"Amazon Pay Charge Notification", `{"metadata":{"idempotencyKey":"amazonpay:m-3"}}`},
		{"Amazon Pay Charge Notification", `{"metadata":{"idempotencyKey":"amazonpay:m-3"}}`},
		{"APS Purchase Succeeded", `{"metadata":{"idempotencyKey":"aps:def"}}`},
	}
	logs := `{"level":"INFO","msg":"otp stored","note":"code 610284"}` + "\n" + `{"key":"aps:482913ab"}` + "\n" +
		`{"level":"ERROR","msg":"delivery processed but not recorded","idempotencyKey":"aps:def"}` + "\n"
	faults := findFaults(p, logs)
	if len(faults) != 3 || faults[payMsg] != "answered 503" || faults[payRetried] != "answered 503" || faults[apsUnrecorded] != "delivery processed but not recorded" {
		t.Errorf("faults found: %v", faults)
	}
	var probs problems
	if extra := checkAnswers(&probs, p, faults); extra != 2 {
		t.Errorf("extra acceptances of faulted deliveries: %d, want 2", extra)
	}
	if rerun, resent := checkEvents(&probs, p, entries, faults); rerun != 1 || resent != 1 {
		t.Errorf("events of faulted or slow deliveries: %d rerun, %d resent; want 1 and 1", rerun, resent)
	}
	stored := map[string]otpstore.OTP{
		newest.trackingID: {TrackingID: newest.trackingID, Code: stale.code, DeliveryID: stale.envelope, ExpiresAt: time.UnixMilli(stale.ttl), EventTime: at},
	}
	checkOTPs(&probs, func(_ context.Context, tid string) (otpstore.OTP, error) {
		if o, ok := stored[tid]; ok {
			return o, nil
		}
		return otpstore.OTP{}, otpstore.ErrNotFound
	}, p)
	checkLogs(t, &probs, logs, p)

	want := []string{
		"LOST: sendings never answered 2xx",
		"PROCESSED TWICE: deliveries accepted by more than one sending",
		"DUPLICATES NOT RECOGNISED: late exact duplicates not answered \"duplicate\"",
		"DOUBLE EVENTS: idempotency keys with more than one event",
		"WRONG EVENTS: OTP events not matching the OTP delivered (codes not shown)",
		"UNEXPECTED EVENTS: idempotency keys of no delivery sent",
		"LOST EVENTS: newest OTPs never announced",
		"LOST EVENTS: messages never announced",
		"STALE OTPS ANNOUNCED: OTPs sent after a newer one was stored",
		"EVENT COUNT MISMATCH: Shipping answers announcing another number of events than published",
		"LOST OTPS: tracking IDs with no stored OTP",
		"NEWEST OTP LOST: tracking IDs holding another OTP than the newest (codes not shown)",
		"OTP LEAKED: tracking IDs whose OTP code appears in the logs (codes not shown)",
	}
	for _, kind := range want {
		if len(probs.byKind[kind]) == 0 {
			t.Errorf("not reported: %s", kind)
		}
	}
	for _, kind := range probs.order {
		if !slices.Contains(want, kind) {
			t.Errorf("reported, not expected: %s: %v", kind, probs.byKind[kind])
		}
	}
	// The leak check names the tracking ID whose code was logged, not the one inside a hash.
	if got := probs.byKind["OTP LEAKED: tracking IDs whose OTP code appears in the logs (codes not shown)"]; len(got) != 1 || got[0] != "tracking ID "+lost.trackingID {
		t.Errorf("leaks reported: %v", got)
	}
	// No failure message carries a code.
	for _, list := range probs.byKind {
		for _, msg := range list {
			for _, v := range []*otpVersion{newest, stale, lost} {
				if containsToken(msg, v.code) {
					t.Errorf("failure message holds an OTP code: %s", msg)
				}
			}
		}
	}
}

func containsToken(s, code string) bool {
	found := false
	codeTokens(s, len(code), func(tok string) { found = found || tok == code })
	return found
}
