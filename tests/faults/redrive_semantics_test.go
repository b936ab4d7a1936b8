package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/snstest"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// deferWhileBusDown delivers req with the bus unavailable and fails t unless it is deferred.
func deferWhileBusDown(t *testing.T, g *harness.Gateway, req events.APIGatewayV2HTTPRequest) {
	t.Helper()
	local.Faults.SetRequestFault(every(1, localaws.Unavailable, putEvents))
	defer local.Faults.SetRequestFault(nil)
	resp := g.Deliver(req)
	var body struct{ Status string }
	_ = json.Unmarshal([]byte(resp.Body), &body)
	if resp.StatusCode != 202 || body.Status != "deferred" {
		t.Fatalf("with the bus down: %d %s, want 202 deferred", resp.StatusCode, resp.Body)
	}
}

func startRedriving(t *testing.T) *harness.Gateway {
	return harness.StartDeferring(t, local, harness.Redrive{Retention: time.Hour, Backoff: time.Second, MaxBackoff: 2 * time.Second})
}

// A sender's retry that raced a deferred attempt is processed live; the deferred copy, re-driven
// later under the same keys, is a duplicate: storage changed once, one copy of each event.
func TestARedriveOfADeliveryProcessedMeanwhileIsADuplicate(t *testing.T) {
	ttl := time.Now().Add(time.Hour).UnixMilli()
	tests := []struct {
		name     string
		delivery func(*harness.Gateway, string) events.APIGatewayV2HTTPRequest
		events   int
	}{
		{"Shipping", func(_ *harness.Gateway, id string) events.APIGatewayV2HTTPRequest {
			return harness.Shipping(harness.ShippingBody(id, time.Now(), harness.OTP{TrackingID: id, Code: "314159", TTL: ttl}))
		}, 1},
		{"APS", func(_ *harness.Gateway, id string) events.APIGatewayV2HTTPRequest {
			return harness.APS("/aps/transaction-feedback", harness.SignAPS(harness.APSParams(id, id)), false)
		}, 1},
		{"Amazon Pay", func(g *harness.Gateway, id string) events.APIGatewayV2HTTPRequest {
			id = snstest.MessageID(id)
			return harness.AmazonPay(g.Notification(id, harness.ChargeMessage(id)))
		}, 2},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := startRedriving(t)
			queue := g.RouteAll(t)
			req := tc.delivery(g, fmt.Sprintf("raced-%d-%d", i, time.Now().UnixNano()))
			deferWhileBusDown(t, g, req)
			if resp := g.Send(t, req); resp.StatusCode != 200 {
				t.Fatalf("the sender's retry: %d %s", resp.StatusCode, resp.Body)
			}
			g.RedriveAll(t, 30*time.Second)
			if !strings.Contains(g.Logs.String(), `"msg":"duplicate delivery"`) {
				t.Errorf("the re-drive was not answered duplicate")
			}
			evs := consumeAll(t, g, queue)
			if len(evs) != tc.events {
				t.Errorf("%d events, want %d: the re-drive published again", len(evs), tc.events)
			}
		})
	}
}

// The time that matters for an OTP is when it is processed: one whose verificationCodeTTL passed
// while it was deferred is announced as expired on arrival, never served.
func TestAnOTPThatExpiredWhileDeferredIsAnnouncedExpired(t *testing.T) {
	g := startRedriving(t)
	queue := g.RouteAll(t)
	id := fmt.Sprintf("expired-while-deferred-%d", time.Now().UnixNano())
	ttl := time.Now().Add(5 * time.Second)
	deferWhileBusDown(t, g, harness.Shipping(harness.ShippingBody(id, time.Now(), harness.OTP{TrackingID: id, Code: "271828", TTL: ttl.UnixMilli()})))
	time.Sleep(time.Until(ttl) + 100*time.Millisecond)
	g.RedriveAll(t, 30*time.Second)
	evs := consumeAll(t, g, queue)
	if len(evs) != 1 || evs[0].DetailType != shipping.DetailTypeOTPExpired || evs[0].Detail.Metadata.Deferred == nil {
		t.Fatalf("events %+v, want one %q marked deferred", evs, shipping.DetailTypeOTPExpired)
	}
	if _, err := g.OTPs.ByTrackingID(context.Background(), id); !errors.Is(err, otpstore.ErrNotFound) {
		t.Errorf("the expired code is served: %v", err)
	}
}

// Newest OTP wins across a re-drive: a deferred code re-driven after a later one was stored is
// stale, announces nothing, and the later code stays served.
func TestTheNewestOTPWinsOverARedrivenOne(t *testing.T) {
	g := startRedriving(t)
	queue := g.RouteAll(t)
	id := fmt.Sprintf("newest-wins-%d", time.Now().UnixNano())
	older := harness.OTP{TrackingID: id, Code: "111111", TTL: time.Now().Add(time.Hour).UnixMilli()}
	newer := harness.OTP{TrackingID: id, Code: "222222", TTL: time.Now().Add(2 * time.Hour).UnixMilli()}
	deferWhileBusDown(t, g, harness.Shipping(harness.ShippingBody(id+"-1", time.Now(), older)))
	if resp := g.Send(t, harness.Shipping(harness.ShippingBody(id+"-2", time.Now(), newer))); resp.StatusCode != 200 {
		t.Fatalf("the newer OTP: %d %s", resp.StatusCode, resp.Body)
	}
	g.RedriveAll(t, 30*time.Second)
	got, err := g.OTPs.ByTrackingID(context.Background(), id)
	if err != nil || got.Code != newer.Code {
		t.Fatalf("served %q (%v), want the newer code", got.Code, err)
	}
	generated := 0
	for _, e := range consumeAll(t, g, queue) {
		if e.DetailType == shipping.DetailTypeOTP {
			generated++
			if e.Detail.Metadata.Deferred != nil {
				t.Errorf("the stale re-driven OTP was announced")
			}
		}
	}
	if generated != 1 {
		t.Errorf("%d OTP events, want the newer code's only", generated)
	}
}

func consumeAll(t *testing.T, g *harness.Gateway, queue string) []consumed {
	t.Helper()
	return testenv.Consume[consumed](t, g.Local.Config, queue, 100)
}
