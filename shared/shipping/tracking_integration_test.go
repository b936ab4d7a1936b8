package shipping_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
	"github.com/amazon-webhook-gateway/gateway/shared/trackingstore"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// The rules docs/shipping-tracking.md gives consumers of tracking and NDR events ("Consumer rules"):
// TestTheTrackingRuleExamplesAreTheDocumentedOnes holds the page to them.
const (
	trackingRulePattern   = `{"source":["amazon-webhook-gateway.shipping"],"detail-type":["Shipping Tracking Updated"]}`
	terminalRulePattern   = `{"source":["amazon-webhook-gateway.shipping"],"detail-type":["Shipping Tracking Updated"],"detail":{"data":{"terminal":[true]}}}`
	staleRulePattern      = `{"source":["amazon-webhook-gateway.shipping"],"detail-type":["Shipping Tracking Stale"]}`
	ndrRulePattern        = `{"source":["amazon-webhook-gateway.shipping"],"detail-type":["Shipping NDR Raised"]}`
	deprecatedRulePattern = `{"source":["amazon-webhook-gateway.shipping"],"detail-type":["Shipping Notification"]}`
)

var trackingRules = []string{trackingRulePattern, terminalRulePattern, staleRulePattern, ndrRulePattern, deprecatedRulePattern}

// trackingGateway is the Shipping function as shipping.New wires it (tests/harness), with one
// consumer queue per documented rule.
type trackingGateway struct {
	*harness.Gateway
	queues map[string]string
}

// newTrackingGateway routes the rules patterns (all documented rules when none are given): moto
// matches every event against every rule within the function's 1 s per AWS call attempt, so a
// test routes only what it reads.
func newTrackingGateway(t *testing.T, patterns ...string) *trackingGateway {
	t.Helper()
	g := &trackingGateway{Gateway: harness.Start(t, local), queues: map[string]string{}}
	if len(patterns) == 0 {
		patterns = trackingRules
	}
	for _, p := range patterns {
		g.queues[p] = must[string](t)(localaws.RouteToQueue(context.Background(), local.Config, g.Bus, p))
	}
	return g
}

// trackingEvent is a consumed tracking, NDR or notification event.
type trackingEvent struct {
	DetailType string `json:"detail-type"`
	Detail     struct {
		Metadata shipping.Metadata `json:"metadata"`
		Data     struct {
			shipping.TrackingData
			Reasons map[string]json.RawMessage `json:"reasons"`
		} `json:"data"`
	} `json:"detail"`
}

// consumed reads what the rule pattern delivered, deduplicated on the idempotency key as the
// contract tells consumers to (a slow moto can make the SDK send a PutEvents twice).
func (g *trackingGateway) consumed(t *testing.T, pattern string) []trackingEvent {
	t.Helper()
	var out []trackingEvent
	seen := map[string]bool{}
	for _, e := range testenv.Consume[trackingEvent](t, awsCfg, g.queues[pattern], 100) {
		if !seen[e.Detail.Metadata.IdempotencyKey] {
			seen[e.Detail.Metadata.IdempotencyKey] = true
			out = append(out, e)
		}
	}
	return out
}

// counts reads every queue and counts what each rule received.
func (g *trackingGateway) counts(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for p := range g.queues {
		out[p] = len(g.consumed(t, p))
	}
	return out
}

// deliver sends req as Amazon does (retrying what the local AWS was too slow for) and checks the
// final answer.
func (g *trackingGateway) deliver(t *testing.T, req events.APIGatewayV2HTTPRequest, want int) map[string]any {
	t.Helper()
	resp := g.Send(t, req)
	var body map[string]any
	_ = json.Unmarshal([]byte(resp.Body), &body)
	if resp.StatusCode != want {
		t.Fatalf("answer %d %s, want %d", resp.StatusCode, resp.Body, want)
	}
	return body
}

func (g *trackingGateway) state(t *testing.T, trackingID string) trackingstore.State {
	t.Helper()
	st, err := g.Tracking.Get(context.Background(), trackingID)
	if err != nil {
		t.Fatalf("state of %s: %v", trackingID, err)
	}
	return st
}

func TestTheTrackingSampleYieldsAnUpdatedEventAndAStoredState(t *testing.T) {
	g := newTrackingGateway(t)
	before := time.Now()
	body := g.deliver(t, testenv.LoadEvent(t, "shipping-tracking-delivered.json"), 200)
	if body["status"] != "accepted" || body["events"] != float64(2) {
		t.Errorf("answer %v, want accepted with 2 events (the update and the deprecated notification)", body)
	}

	got := g.consumed(t, trackingRulePattern)
	if len(got) != 1 {
		t.Fatalf("%d Shipping Tracking Updated events, want 1", len(got))
	}
	d := got[0].Detail
	wantTime := time.Date(2025, 1, 28, 10, 2, 11, 0, time.UTC)
	if d.Data.TrackingID != "1709913037944" || d.Data.AlternateLegTrackingID != "1709912326405" || d.Data.ShipmentType != "FORWARD" ||
		d.Data.Status != "Delivered" || d.Data.EventCode != "Delivered" || !d.Data.Terminal || d.Data.EventTime == nil || !d.Data.EventTime.Equal(wantTime) {
		t.Errorf("data = %+v", d.Data)
	}
	if !strings.Contains(string(d.Data.Detail), `"eventTime": "2025-01-28T10:02:11Z"`) {
		t.Errorf("detail %s is not the entry as sent", d.Data.Detail)
	}
	if want := "shipping:2d1cf554-e7f0-2362-6b2d-dd36bd4677e2:tracking:1709913037944#0"; d.Metadata.IdempotencyKey != want {
		t.Errorf("idempotencyKey %q, want %q", d.Metadata.IdempotencyKey, want)
	}
	if d.Metadata.Origin.DetailType != shipping.DetailTypeTracking {
		t.Errorf("origin %+v", d.Metadata.Origin)
	}
	// The terminal rule example matches it; the deprecated notification still comes beside it.
	if n := len(g.consumed(t, terminalRulePattern)); n != 1 {
		t.Errorf("terminal rule received %d events, want 1", n)
	}
	dep := g.consumed(t, deprecatedRulePattern)
	if len(dep) != 1 || dep[0].Detail.Metadata.IdempotencyKey != "shipping:2d1cf554-e7f0-2362-6b2d-dd36bd4677e2:1709913037944#0" {
		t.Errorf("deprecated Shipping Notification: %+v", dep)
	}

	st := g.state(t, "1709913037944")
	if st.Status != "Delivered" || st.EventCode != "Delivered" || !st.EventTime.Equal(wantTime) || !st.Terminal ||
		st.DeliveryID != "2d1cf554-e7f0-2362-6b2d-dd36bd4677e2" || st.AlternateLegTrackingID != "1709912326405" || !json.Valid([]byte(st.Detail)) {
		t.Errorf("stored state %+v", st)
	}
	// TTL attribute: epoch seconds, TrackingRetentionDays (90) after the write.
	if lo, hi := before.Add(90*24*time.Hour).Truncate(time.Second), time.Now().Add(90*24*time.Hour); st.ExpiresAt.Before(lo) || st.ExpiresAt.After(hi) {
		t.Errorf("expiresAt %v, want 90 days after the write (%v..%v)", st.ExpiresAt, lo, hi)
	}

	// A redelivery is a duplicate: nothing more is published.
	if body := g.deliver(t, testenv.LoadEvent(t, "shipping-tracking-delivered.json"), 200); body["status"] != "duplicate" {
		t.Errorf("redelivery: %v", body)
	}
	for p, n := range g.counts(t) {
		if n != 0 {
			t.Errorf("after the duplicate, %s received %d events", p, n)
		}
	}
}

func TestALateOlderEventChangesNothingAndIsAnnouncedStale(t *testing.T) {
	g := newTrackingGateway(t)
	g.deliver(t, testenv.LoadEvent(t, "shipping-tracking-delivered.json"), 200)
	g.counts(t)
	g.deliver(t, testenv.LoadEvent(t, "shipping-tracking-late.json"), 200)

	if st := g.state(t, "1709913037944"); st.EventCode != "Delivered" || st.DeliveryID != "2d1cf554-e7f0-2362-6b2d-dd36bd4677e2" {
		t.Errorf("the late OutForDelivery changed the state: %+v", st)
	}
	if n := len(g.consumed(t, trackingRulePattern)); n != 0 {
		t.Errorf("the late event was announced as updated (%d events)", n)
	}
	stale := g.consumed(t, staleRulePattern)
	if len(stale) != 1 || stale[0].Detail.Data.EventCode != "OutForDelivery" || stale[0].Detail.Data.EstimatedArrival != "2025-01-28T18:00:00Z" || stale[0].Detail.Data.Terminal {
		t.Errorf("Shipping Tracking Stale: %+v", stale)
	}
	if n := len(g.consumed(t, deprecatedRulePattern)); n != 1 {
		t.Errorf("deprecated Shipping Notification: %d events, want 1 (published for every tracking entry this release)", n)
	}
}

// step is one tracking delivery of an ordering case and the detail-type its entry gets.
type step struct {
	code      string
	eventTime any // nil: no eventTime
	envelope  time.Time
	want      string
}

func TestTheNewestTrackingStateWinsWhateverTheArrivalOrder(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	iso := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339) }
	env := func(d time.Duration) time.Time { return t0.Add(time.Hour + d) }
	updated, stale := shipping.DetailTypeTrackingUpdated, shipping.DetailTypeTrackingStale
	tests := []struct {
		name  string
		steps []step
		// wantCode is the eventCode stored at the end.
		wantCode string
	}{
		{"newer after older", []step{{"PickupDone", iso(0), env(0), updated}, {"Departed", iso(time.Minute), env(time.Second), updated}}, "Departed"},
		{"older after newer, though its envelope is later", []step{{"Delivered", iso(time.Hour), env(0), updated}, {"OutForDelivery", iso(0), env(time.Minute), stale}}, "Delivered"},
		{"equal eventTime: terminal beats non-terminal arriving later", []step{{"Delivered", iso(0), env(0), updated}, {"OutForDelivery", iso(0), env(time.Minute), stale}}, "Delivered"},
		{"equal eventTime: terminal replaces non-terminal", []step{{"OutForDelivery", iso(0), env(0), updated}, {"Delivered", iso(0), env(-time.Minute), updated}}, "Delivered"},
		{"equal eventTime, both non-terminal: later envelope time wins", []step{{"Departed", iso(0), env(0), updated}, {"ArrivedAtCarrierFacility", iso(0), env(time.Second), updated}}, "ArrivedAtCarrierFacility"},
		{"equal eventTime, both non-terminal: earlier envelope time is stale", []step{{"Departed", iso(0), env(time.Second), updated}, {"ArrivedAtCarrierFacility", iso(0), env(0), stale}}, "Departed"},
		{"equal eventTime and envelope time: the stored state stays", []step{{"Departed", iso(0), env(0), updated}, {"ArrivedAtCarrierFacility", iso(0), env(0), stale}}, "Departed"},
		{"missing eventTime never overrides a valid one", []step{{"PickupDone", iso(0), env(0), updated}, {"Departed", nil, env(time.Hour), stale}}, "PickupDone"},
		{"unparseable eventTime never overrides a valid one", []step{{"PickupDone", iso(0), env(0), updated}, {"Departed", "yesterday at noon", env(time.Hour), stale}}, "PickupDone"},
		{"local time without offset is unparseable", []step{{"PickupDone", iso(0), env(0), updated}, {"Departed", "2026-03-01T09:00:00", env(time.Hour), stale}}, "PickupDone"},
		{"missing eventTime is stored when nothing is", []step{{"ReadyForReceive", nil, env(0), updated}}, "ReadyForReceive"},
		{"valid eventTime replaces one without", []step{{"ReadyForReceive", nil, env(time.Hour), updated}, {"PickupDone", iso(0), env(0), updated}}, "PickupDone"},
		{"between missing eventTimes the later envelope wins", []step{{"ReadyForReceive", nil, env(0), updated}, {"PickupDone", nil, env(time.Second), updated}, {"Rejected", nil, env(-time.Second), stale}}, "PickupDone"},
		{"epoch milliseconds against RFC 3339", []step{{"PickupDone", iso(0), env(0), updated}, {"Departed", t0.Add(time.Second).UnixMilli(), env(0), updated}, {"Rejected", fmt.Sprint(t0.Add(-time.Second).UnixMilli()), env(time.Hour), stale}}, "Departed"},
		{"ISO 8601 offsets without a colon", []step{{"PickupDone", "2026-03-01T13:30:00+0530", env(0), updated}, {"Departed", "2026-03-01T08:00:01.5Z", env(0), updated}, {"Rejected", "2026-03-01T12:59:59+05", env(time.Hour), stale}}, "Departed"},
		{"the same event under a new envelope id is announced again", []step{{"Departed", iso(0), env(0), updated}, {"Departed", iso(0), env(-time.Minute), updated}}, "Departed"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newTrackingGateway(t, trackingRulePattern, staleRulePattern)
			tid := fmt.Sprintf("TORDER%02d-%d", i, time.Now().UnixNano())
			for j, s := range tc.steps {
				id := fmt.Sprintf("order-%d-%d-%d", i, j, time.Now().UnixNano())
				g.deliver(t, harness.Shipping(harness.ShippingEnvelope(id, shipping.DetailTypeTracking, s.envelope, harness.TrackingEntry(tid, s.code, s.eventTime))), 200)
				var got []string
				for _, p := range []string{trackingRulePattern, staleRulePattern} {
					for _, e := range g.consumed(t, p) {
						got = append(got, e.DetailType+" "+e.Detail.Data.EventCode)
					}
				}
				if want := s.want + " " + s.code; len(got) != 1 || got[0] != want {
					t.Errorf("step %d: events %q, want [%s]", j, got, want)
				}
			}
			if st := g.state(t, tid); st.EventCode != tc.wantCode {
				t.Errorf("stored %s, want %s", st.EventCode, tc.wantCode)
			}
		})
	}
}

// An accumulated delivery may hold several entries of one tracking ID: only the latest is
// written (a transaction writes an item once), the others are stale at once.
func TestOnlyTheLatestEntryOfATrackingIDInOneDeliveryIsWritten(t *testing.T) {
	g := newTrackingGateway(t, trackingRulePattern, staleRulePattern)
	now := time.Now().UTC().Truncate(time.Second)
	body := harness.ShippingEnvelope(fmt.Sprintf("acc-%d", now.UnixNano()), shipping.DetailTypeTracking, now,
		harness.TrackingEntry("TACC1", "OutForDelivery", now.Add(-time.Hour).Format(time.RFC3339)),
		harness.TrackingEntry("TACC1", "Delivered", now.Add(-time.Minute).Format(time.RFC3339)),
		harness.TrackingEntry("TACC2", "PickupDone", nil),
	)
	g.deliver(t, harness.Shipping(body), 200)
	updated := map[string]bool{}
	for _, e := range g.consumed(t, trackingRulePattern) {
		updated[e.Detail.Data.EventCode] = true
	}
	if len(updated) != 2 || !updated["Delivered"] || !updated["PickupDone"] {
		t.Errorf("updated: %v, want Delivered and PickupDone", updated)
	}
	if stale := g.consumed(t, staleRulePattern); len(stale) != 1 || stale[0].Detail.Data.EventCode != "OutForDelivery" {
		t.Errorf("stale events %+v, want the OutForDelivery", stale)
	}
	if st := g.state(t, "TACC1"); st.EventCode != "Delivered" || st.Entry == "" {
		t.Errorf("TACC1: %+v", st)
	}
	if st := g.state(t, "TACC2"); st.EventCode != "PickupDone" || !st.EventTime.IsZero() {
		t.Errorf("TACC2: %+v", st)
	}
}

// Unknown fields and codes, and known fields of an unexpected type, never cost a tracking entry.
func TestUnknownFieldsAndCodesNeverCostATrackingEntry(t *testing.T) {
	g := newTrackingGateway(t, trackingRulePattern)
	entry := map[string]any{
		"trackingId": "TODD1", "eventCode": "PackageReceivedByCarrier", "status": 7, "shipmentType": "SIDEWAYS",
		"eventTime": map[string]any{"at": "noon"}, "newThing": []any{1, "x"}, "estimatedArrivalDate": 1767225600000,
	}
	g.deliver(t, harness.Shipping(harness.ShippingEnvelope(fmt.Sprintf("odd-%d", time.Now().UnixNano()), shipping.DetailTypeTracking, time.Now(), entry)), 200)
	got := g.consumed(t, trackingRulePattern)
	if len(got) != 1 {
		t.Fatalf("%d updated events, want 1", len(got))
	}
	d := got[0].Detail.Data
	if d.EventCode != "PackageReceivedByCarrier" || d.Status != "" || d.ShipmentType != "SIDEWAYS" || d.EventTime != nil || d.Terminal || d.EstimatedArrival != "1767225600000" ||
		!strings.Contains(string(d.Detail), `"newThing": [1, "x"]`) {
		t.Errorf("data %+v detail %s", d.TrackingData, d.Detail)
	}
}

// An entry without a usable trackingId cannot be a tracking state: it is passed on as before, as
// Shipping Notification only, never refused (a refusal would lose it).
func TestATrackingEntryWithoutATrackingIDIsPassedOnOnly(t *testing.T) {
	g := newTrackingGateway(t, trackingRulePattern, staleRulePattern, deprecatedRulePattern)
	body := harness.ShippingEnvelope(fmt.Sprintf("noid-%d", time.Now().UnixNano()), shipping.DetailTypeTracking, time.Now(),
		map[string]any{"eventCode": "Delivered", "eventTime": "2026-03-01T08:00:00Z"})
	if answer := g.deliver(t, harness.Shipping(body), 200); answer["status"] != "accepted" || answer["events"] != float64(1) {
		t.Errorf("answer %v", answer)
	}
	counts := g.counts(t)
	if counts[deprecatedRulePattern] != 1 || counts[trackingRulePattern]+counts[staleRulePattern] != 0 {
		t.Errorf("events per rule: %v", counts)
	}
}

func TestTheNDRSampleYieldsShippingNDRRaised(t *testing.T) {
	g := newTrackingGateway(t)
	g.deliver(t, testenv.LoadEvent(t, "shipping-ndr.json"), 200)
	got := g.consumed(t, ndrRulePattern)
	if len(got) != 1 {
		t.Fatalf("%d Shipping NDR Raised events, want 1", len(got))
	}
	d := got[0].Detail
	if d.Data.TrackingID != "1710012345678" || d.Data.EventCode != "DeliveryAttempted" ||
		string(d.Data.Reasons["ndrReason"]) != `"CUSTOMER_UNAVAILABLE"` || string(d.Data.Reasons["ndrAttemptCount"]) != "1" || len(d.Data.Reasons) != 3 {
		t.Errorf("data %+v", d.Data)
	}
	if want := "shipping:5b8f3e21-0c4d-4a7b-8e6f-2d9c1b0a3f55:ndr:1710012345678#0"; d.Metadata.IdempotencyKey != want {
		t.Errorf("idempotencyKey %q, want %q", d.Metadata.IdempotencyKey, want)
	}
	if n := len(g.consumed(t, deprecatedRulePattern)); n != 1 {
		t.Errorf("deprecated Shipping Notification: %d events, want 1", n)
	}
	// An NDR is not a tracking state.
	if _, err := g.Tracking.Get(context.Background(), "1710012345678"); !errors.Is(err, trackingstore.ErrNotFound) {
		t.Errorf("NDR stored as tracking state: %v", err)
	}
}

// An entry with ndr… fields is an NDR whatever its envelope; in a tracking envelope it is a
// tracking update as well.
func TestNDRFieldsMakeAnNDRWhateverTheEnvelope(t *testing.T) {
	tests := []struct {
		name, detailType string
		wantUpdated      int
	}{
		{"in a tracking envelope", shipping.DetailTypeTracking, 1},
		{"in an unknown envelope", "Something Else", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newTrackingGateway(t, trackingRulePattern, ndrRulePattern)
			entry := harness.TrackingEntry("TNDR1", "DeliveryAttempted", "2026-03-01T08:00:00Z")
			entry["NDRReasonCode"] = "ADDRESS_INCOMPLETE"
			entry["attemptReason"] = "door locked"
			g.deliver(t, harness.Shipping(harness.ShippingEnvelope(fmt.Sprintf("ndrf-%d", time.Now().UnixNano()), tc.detailType, time.Now(), entry)), 200)
			ndr := g.consumed(t, ndrRulePattern)
			if len(ndr) != 1 || len(ndr[0].Detail.Data.Reasons) != 2 {
				t.Errorf("NDR events %+v, want one with 2 reason fields", ndr)
			}
			if n := len(g.consumed(t, trackingRulePattern)); n != tc.wantUpdated {
				t.Errorf("%d updated events, want %d", n, tc.wantUpdated)
			}
		})
	}
}

// Every tracking and NDR sample in events/ gives the detail-types it is meant to.
func TestEveryTrackingAndNDRSampleGivesItsDetailTypes(t *testing.T) {
	want := map[string][]string{
		"shipping-tracking-delivered.json": {trackingRulePattern, terminalRulePattern, deprecatedRulePattern},
		"shipping-tracking-late.json":      {trackingRulePattern, deprecatedRulePattern}, // alone, it is the latest state
		"shipping-ndr.json":                {ndrRulePattern, deprecatedRulePattern},
	}
	names := append(testenv.EventFiles(t, "shipping-tracking-*.json", map[string]bool{"shipping-tracking-delivered.json": true, "shipping-tracking-late.json": true}),
		testenv.EventFiles(t, "shipping-ndr*.json", map[string]bool{"shipping-ndr.json": true})...)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			g := newTrackingGateway(t)
			g.deliver(t, testenv.LoadEvent(t, name), 200)
			counts := g.counts(t)
			for _, p := range trackingRules {
				wantN := 0
				for _, w := range want[name] {
					if w == p {
						wantN = 1
					}
				}
				if counts[p] != wantN {
					t.Errorf("rule %s received %d events, want %d", p, counts[p], wantN)
				}
			}
		})
	}
}

// The rule examples tested above are the ones docs/shipping-tracking.md gives.
func TestTheTrackingRuleExamplesAreTheDocumentedOnes(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(localaws.RepoRoot(), "docs", "shipping-tracking.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range trackingRules {
		if !strings.Contains(string(doc), "'"+p+"'") {
			t.Errorf("docs/shipping-tracking.md does not give the rule %s", p)
		}
	}
}
