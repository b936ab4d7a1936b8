package shipping_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/auth"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
)

// publishedEvents are the detail-types and encoded details of what the Steps publish for body,
// with or without the deprecated copies.
func publishedEvents(t *testing.T, body []byte, omitCopies bool) []plannedEvent {
	t.Helper()
	received := time.Date(2025, 1, 28, 10, 2, 14, 0, time.UTC)
	steps := &shipping.Steps{OTPs: otpstore.New(nil, "otps", nil), IncludeOTP: true, Now: func() time.Time { return received },
		NDRDetailTypes: []string{"NDR Detail"}, OmitDeprecatedCopies: omitCopies}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	req := &events.APIGatewayV2HTTPRequest{Body: string(body), Headers: map[string]string{"content-type": "application/json"}}
	d, err := steps.Plan(context.Background(), log, req, auth.Identity{}, false)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := d.Work(context.Background(), log)
	if err != nil {
		t.Fatal(err)
	}
	var out []plannedEvent
	for _, ev := range evs {
		b, err := json.Marshal(ev.Detail)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, plannedEvent{ev.DetailType, string(b)})
	}
	return out
}

func detailTypes(evs []plannedEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.detailType)
	}
	return out
}

// PublishDeprecatedDetailTypes=false: a tracking or NDR entry is published under its own
// detail-type only, never also as the deprecated Shipping Notification; an entry the gateway does
// not recognise still is one, under the key it always had (its position among the entries).
// Every event that remains is byte for byte the one the default publishes.
func TestWithoutDeprecatedCopiesTrackingAndNDREntriesArePublishedOnlyUnderTheirOwnDetailTypes(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
		// want is what is published without the copies; the default adds the copies, one
		// Shipping Notification per tracking or NDR entry.
		want   []string
		copies int
	}{
		{"a tracking entry", trackingBody("Tracking Detail", `{"trackingId":"T1","eventCode":"Delivered","eventTime":"2025-01-28T10:02:11Z"}`),
			[]string{shipping.DetailTypeTrackingUpdated}, 1},
		{"an NDR entry", trackingBody("NDR Detail", `{"trackingId":"T1","ndrReason":"CUSTOMER_UNAVAILABLE"}`),
			[]string{shipping.DetailTypeNDR}, 1},
		{"a tracking entry with NDR fields", trackingBody("Tracking Detail", `{"trackingId":"T1","ndrReason":"R"}`),
			[]string{shipping.DetailTypeTrackingUpdated, shipping.DetailTypeNDR}, 1},
		{"an accumulated delivery with an entry that names no tracking ID", trackingBody("Tracking Detail",
			`{"trackingId":"T1","eventCode":"InTransit"}`, `{"eventCode":"Delivered"}`, `{"trackingId":"T2","eventCode":"Delivered"}`),
			[]string{shipping.DetailTypeOther, shipping.DetailTypeTrackingUpdated, shipping.DetailTypeTrackingUpdated}, 2},
		{"an entry of an unknown envelope", trackingBody("Whatever", `{"trackingId":"T1","status":"x"}`),
			[]string{shipping.DetailTypeOther}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			without := publishedEvents(t, tc.body, true)
			if got := detailTypes(without); !slices.Equal(got, tc.want) {
				t.Fatalf("without the copies: %v, want %v", got, tc.want)
			}
			with := publishedEvents(t, tc.body, false)
			// The default publishes what it always did: the copies are exactly the difference.
			var copies int
			kept := slices.DeleteFunc(slices.Clone(with), func(e plannedEvent) bool {
				if e.detailType != shipping.DetailTypeOther || slices.Contains(without, e) {
					return false
				}
				copies++
				return true
			})
			if !slices.Equal(kept, without) {
				t.Errorf("without the copies the other events changed:\n%v\nthe default's, copies left out:\n%v", without, kept)
			}
			if copies != tc.copies || len(with) != len(without)+tc.copies {
				t.Errorf("%d deprecated copies left out, want %d (the default published %v)", copies, tc.copies, detailTypes(with))
			}
		})
	}
}

// An OTP delivery publishes the same events whatever the switch: it has no deprecated copy.
func TestTheDeprecatedCopiesSwitchLeavesOTPsAlone(t *testing.T) {
	at := time.Date(2025, 1, 28, 10, 2, 14, 0, time.UTC)
	body := []byte(pnEvent(at, pinEntry("T1", "938492", at.Add(time.Hour).UnixMilli()), pinEntry("T2", "551203", at.Add(-time.Hour).UnixMilli())))
	with, without := publishedEvents(t, body, false), publishedEvents(t, body, true)
	if !slices.Equal(with, without) || len(with) != 2 {
		t.Errorf("with the copies %v, without %v: want the same two events", detailTypes(with), detailTypes(without))
	}
}

// Through moto, as a consumer's rule on every Shipping event receives them: the tracking and NDR
// samples reach it as Shipping Tracking Updated and Shipping NDR Raised only once the copies are
// switched off (PublishDeprecatedDetailTypes=false), and each also as Shipping Notification by
// default.
func TestAConsumerReceivesNoDeprecatedCopyOnceTheCopiesAreSwitchedOff(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []envOption
		want []string
	}{
		{"by default", nil, []string{shipping.DetailTypeNDR, shipping.DetailTypeOther, shipping.DetailTypeOther, shipping.DetailTypeTrackingUpdated}},
		{"switched off", []envOption{withoutDeprecatedCopies()}, []string{shipping.DetailTypeNDR, shipping.DetailTypeTrackingUpdated}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, append(tc.opts, withRule(allShippingPattern))...)
			for _, sample := range []string{"shipping-tracking-delivered.json", "shipping-ndr.json"} {
				if resp, body := e.post(t, testenv.LoadEvent(t, sample)); resp.StatusCode != 200 || body["status"] != "accepted" {
					t.Fatalf("%s: %d %v", sample, resp.StatusCode, body)
				}
			}
			var got []string
			seen := map[string]bool{}
			for _, ev := range e.consumed(t) {
				// At least once: a PutEvents retried on a slow moto may deliver twice.
				if k := ev.Detail.Metadata.IdempotencyKey; !seen[k] {
					seen[k] = true
					got = append(got, ev.DetailType)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("the consumer received %v, want %v", got, tc.want)
			}
		})
	}
}
