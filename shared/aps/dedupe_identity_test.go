package aps_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/aps"
)

// The dedupe identity is the signed text, not the route. A captured message sent again on
// the other feedback URL is a duplicate; the event names the route it first arrived on.
func TestTheSameMessageOnTheOtherRouteIsADuplicate(t *testing.T) {
	for _, order := range [][2]string{
		{"/aps/transaction-feedback", "/aps/notification-feedback"},
		{"/aps/notification-feedback", "/aps/transaction-feedback"},
	} {
		t.Run(order[0], func(t *testing.T) {
			e := newEnv(t)
			p := purchase()
			p["merchant_reference"] = "ROUTE-" + order[0]
			for i, route := range order {
				for _, form := range []bool{false, true} {
					status, body := e.post(t, message(route, p, devPhrase, form))
					want := "duplicate"
					if i == 0 && !form {
						want = "accepted"
					}
					if status != 200 || body["status"] != want {
						t.Fatalf("%s (form %v): %d %v, want %s", route, form, status, body, want)
					}
				}
			}
			evs := e.consumed(t)
			if len(evs) != 1 {
				t.Fatalf("%d events, want 1", len(evs))
			}
			if want := aps.Routes[order[0]]; evs[0].Detail.Metadata.Feedback != want {
				t.Errorf("feedback = %q, want the first arrival's %q", evs[0].Detail.Metadata.Feedback, want)
			}
			if evs[0].Detail.Metadata.IdempotencyKey != aps.IdempotencyKey(p) {
				t.Errorf("idempotencyKey = %q, want the hash of the signed parameters", evs[0].Detail.Metadata.IdempotencyKey)
			}
		})
	}
}

// The identity is every signed parameter, never a subset: two partial refunds of one
// order that differ in any single parameter are two messages, and both publish.
func TestPartialRefundsDifferingInAnyParameterBothPublish(t *testing.T) {
	refund := func() map[string]string {
		p := purchase()
		p["command"], p["status"], p["response_code"], p["response_message"] = "REFUND", "06", "06000", "Success"
		p["amount"], p["merchant_reference"] = "2500", "PARTIAL-REFUND"
		return p
	}
	keys := slices.Sorted(maps.Keys(refund()))
	e := newEnv(t)
	if status, body := e.post(t, message("/aps/notification-feedback", refund(), devPhrase, false)); status != 200 || body["status"] != "accepted" {
		t.Fatalf("first refund: %d %v", status, body)
	}
	// What a second real refund could differ in; the identity must not depend on which. Values
	// the gateway validates get another valid value; the rest get one more character.
	other := map[string]string{
		"amount": "2501", "currency": "USD", "command": "CAPTURE", "response_code": "06001",
		"status": "", // status alone cannot change while response_code starts with it: dropped instead
	}
	published := 1
	for _, k := range keys {
		if k == "access_code" || k == "merchant_identifier" {
			continue // another value is another merchant: 401
		}
		p := refund()
		switch v, ok := other[k]; {
		case ok && v == "":
			delete(p, k)
		case ok:
			p[k] = v
		default:
			p[k] += "2"
		}
		t.Run(k, func(t *testing.T) {
			status, body := e.post(t, message("/aps/notification-feedback", p, devPhrase, false))
			if status != 200 || body["status"] != "accepted" {
				t.Fatalf("refund with another %s: %d %v, want accepted", k, status, body)
			}
			published++
		})
	}
	// A further parameter (APS's refund reference, say) is a difference too.
	p := refund()
	p["refund_reference"] = "R2"
	if status, body := e.post(t, message("/aps/notification-feedback", p, devPhrase, false)); status != 200 || body["status"] != "accepted" {
		t.Fatalf("refund with one more parameter: %d %v", status, body)
	}
	published++
	if evs := e.consumed(t); len(evs) != published {
		t.Errorf("%d events, want %d", len(evs), published)
	}
}
