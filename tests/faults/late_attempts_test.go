package faults

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/snstest"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// An attempt the SDK gave up on (its 1 s attempt timeout) is not cancelled at DynamoDB: it may be
// executed after the retry that succeeded, after the work, after the delivery's completion. Such
// a late write must never undo what the delivery recorded, or a redelivery is processed twice
// (tests/load once saw an Amazon Pay message accepted twice this way). The fault proxy holds the
// first attempt of the call and forwards it once the delivery has been answered.
func TestALateAttemptNeverReopensAnAnsweredDelivery(t *testing.T) {
	const (
		putItem  = "DynamoDB_20120810.PutItem"
		deleteIt = "DynamoDB_20120810.DeleteItem"
	)
	ttl := time.Now().Add(time.Hour).UnixMilli()
	shipping := func(g *harness.Gateway, id string) events.APIGatewayV2HTTPRequest {
		return harness.Shipping(harness.ShippingBody(id, time.Now(), harness.OTP{TrackingID: id, Code: "580213", TTL: ttl}))
	}
	aps := func(_ *harness.Gateway, id string) events.APIGatewayV2HTTPRequest {
		return harness.APS("/aps/transaction-feedback", harness.SignAPS(harness.APSParams(id, id)), false)
	}
	amazonPay := func(g *harness.Gateway, id string) events.APIGatewayV2HTTPRequest {
		id = snstest.MessageID(id)
		return harness.AmazonPay(g.Notification(id, harness.ChargeMessage(id)))
	}
	tests := []struct {
		name     string
		delivery func(*harness.Gateway, string) events.APIGatewayV2HTTPRequest
		// held is the call whose first attempt arrives late.
		held string
		// failFirst makes the first sending fail at PutEvents, so the late attempt is its claim's
		// release, executed after the redelivery completed.
		failFirst bool
	}{
		{"Shipping: the claim's PutItem", shipping, putItem, false},
		{"APS: the claim's PutItem", aps, putItem, false},
		{"Amazon Pay: the claim's PutItem", amazonPay, putItem, false},
		{"Shipping: the release of a failed sending", shipping, deleteIt, true},
		{"APS: the release of a failed sending", aps, deleteIt, true},
		{"Amazon Pay: the release of a failed sending", amazonPay, deleteIt, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := harness.Start(t, local)
			req := tc.delivery(g, fmt.Sprintf("late-%d-%d", i, time.Now().UnixNano()))
			var held atomic.Bool
			local.Faults.SetRequestFault(func(target string) localaws.Fault {
				if target == tc.held && held.CompareAndSwap(false, true) {
					return localaws.Hold
				}
				return localaws.Pass
			})
			t.Cleanup(func() { local.Faults.SetRequestFault(nil); local.Faults.Set(nil); local.Faults.ReleaseHeld() })
			if tc.failFirst {
				local.Faults.Set(func(int, string, string) bool { return true })
				if resp := g.Deliver(req); resp.StatusCode != 503 {
					t.Fatalf("first sending with PutEvents failing: %d %s, want 503", resp.StatusCode, resp.Body)
				}
				local.Faults.Set(nil)
			}
			if got := statusOf(t, g.Deliver(req)); got != "accepted" {
				t.Fatalf("sending answered %q, want accepted", got)
			}
			local.Faults.SetRequestFault(nil)
			if n := local.Faults.ReleaseHeld(); n != 1 {
				t.Fatalf("%d attempts of %s were held, want 1: the scenario did not happen", n, tc.held)
			}
			if got := statusOf(t, g.Deliver(req)); got != "duplicate" {
				t.Errorf("redelivery after the late %s answered %q, want duplicate", tc.held, got)
			}
		})
	}
}

// statusOf is the "status" of a 200 answer; it fails t on any other code.
func statusOf(t *testing.T, resp events.APIGatewayV2HTTPResponse) string {
	t.Helper()
	var body struct {
		Status string `json:"status"`
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &body) != nil {
		t.Fatalf("answer %d %s, want 200", resp.StatusCode, resp.Body)
	}
	return body.Status
}

// When DynamoDB is slower than the SDK's attempts for the completion (tests/load on a busy
// machine: "delivery processed but not recorded"), the delivery is done and answered 200, but its
// claim stays in progress until the invocation's deadline; a redelivery after that runs the work
// again. That is the at-least-once promise, not a lost or doubled delivery: the events of both
// runs carry the same idempotency key, and consumers deduplicate on it.
func TestAnUnrecordedCompletionIsRedoneUnderTheSameKey(t *testing.T) {
	g := harness.Start(t, local)
	queue := g.RouteAll(t)
	ref := fmt.Sprintf("unrecorded-%d", time.Now().UnixNano())
	req := harness.APS("/aps/transaction-feedback", harness.SignAPS(harness.APSParams(ref, ref)), false)
	local.Faults.SetRequestFault(func(target string) localaws.Fault {
		if target == "DynamoDB_20120810.UpdateItem" {
			return localaws.Unavailable
		}
		return localaws.Pass
	})
	t.Cleanup(func() { local.Faults.SetRequestFault(nil) })
	before := len(g.Logs.String())
	if got := statusOf(t, g.Deliver(req)); got != "accepted" {
		t.Fatalf("with the completion failing: %q, want accepted (the work is done)", got)
	}
	if !strings.Contains(g.Logs.String()[before:], `"delivery processed but not recorded"`) {
		t.Error(`no "delivery processed but not recorded" line`)
	}
	local.Faults.SetRequestFault(nil)
	// The sender's redelivery meets the claim in progress (429) until its deadline, then redoes it.
	if got := statusOf(t, g.Send(t, req)); got != "accepted" {
		t.Fatalf("redelivery after the claim lapsed: %q, want accepted", got)
	}
	if got := statusOf(t, g.Deliver(req)); got != "duplicate" {
		t.Errorf("once recorded: %q, want duplicate", got)
	}
	evs := testenv.Consume[consumed](t, g.Local.Config, queue, 10)
	if len(evs) != 2 || evs[0].Detail.Metadata.IdempotencyKey != evs[1].Detail.Metadata.IdempotencyKey {
		t.Errorf("events %+v, want the two runs' events under one idempotency key", evs)
	}
}
