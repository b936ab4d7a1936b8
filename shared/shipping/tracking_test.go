package shipping_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
)

func TestParseEventTimeAcceptsOnlyUnambiguousInstants(t *testing.T) {
	at := time.Date(2025, 1, 28, 10, 2, 11, 0, time.UTC)
	tests := []struct {
		raw  string
		want time.Time // zero: unparseable
	}{
		{`"2025-01-28T10:02:11Z"`, at},
		{`"2025-01-28T15:32:11+05:30"`, at},
		{`"2025-01-28T15:32:11+0530"`, at},
		{`"2025-01-28T15:02:11+05"`, at},
		{`"2025-01-28 10:02:11Z"`, at},
		{`"2025-01-28T10:02:11.250Z"`, at.Add(250 * time.Millisecond)},
		{`" 2025-01-28T10:02:11Z "`, at},
		{`1738058531000`, at},
		{`"1738058531000"`, at},
		{`"2025-01-28T10:02:11"`, time.Time{}}, // no offset: ambiguous
		{`"2025-01-28"`, time.Time{}},
		{`1738058531`, time.Time{}}, // seconds
		{`1738058531000.5`, time.Time{}},
		{`-1738058531000`, time.Time{}},
		{`"1999-12-31T23:59:59Z"`, time.Time{}}, // before 2001
		{`"yesterday"`, time.Time{}},
		{`""`, time.Time{}},
		{`null`, time.Time{}},
		{`{"at":"2025-01-28T10:02:11Z"}`, time.Time{}},
		{`true`, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			got, ok := shipping.ParseEventTime(json.RawMessage(tc.raw))
			if ok != !tc.want.IsZero() || !got.Equal(tc.want) {
				t.Errorf("ParseEventTime(%s) = %v, %v; want %v", tc.raw, got, ok, tc.want)
			}
			if ok && got.Location() != time.UTC {
				t.Errorf("not UTC: %v", got)
			}
		})
	}
}

// trackingBody is an envelope of detailType with the given detail entries (JSON).
func trackingBody(detailType string, entries ...string) []byte {
	detail := entries[0]
	if len(entries) > 1 {
		detail = "[" + strings.Join(entries, ",") + "]"
	}
	return fmt.Appendf(nil, `{"version":"0","id":"d-1","detail-type":%q,"source":"AmazonShipping","account":"1","time":"2025-01-28T10:02:14Z","detail":%s}`, detailType, detail)
}

func TestEachEntryIsClassifiedAsTrackingNDROrPassedOnOnly(t *testing.T) {
	ndrTypes := []string{"NDR Detail", "Custom NDR"}
	tests := []struct {
		name                       string
		body                       []byte
		tracking, ndrs, others     int
		terminal                   []bool
		wantReasons, wantEstimated string
		wantTrackingID             string // "": T1
	}{
		{name: "tracking", body: trackingBody("Tracking Detail", `{"trackingId":"T1","eventCode":"Delivered"}`), tracking: 1, others: 1, terminal: []bool{true}},
		{name: "status decides terminal too", body: trackingBody("Tracking Detail", `{"trackingId":"T1","status":"lost","eventCode":"X"}`), tracking: 1, others: 1, terminal: []bool{true}},
		{name: "rejected is not terminal", body: trackingBody("Tracking Detail", `{"trackingId":"T1","status":"Rejected"}`), tracking: 1, others: 1, terminal: []bool{false}},
		{name: "estimated arrival by its first known name", body: trackingBody("Tracking Detail", `{"trackingId":"T1","promisedDeliveryDate":"b","latestEstimatedArrivalDate":"a"}`), tracking: 1, others: 1, terminal: []bool{false}, wantEstimated: "a"},
		// Without a trackingId an entry is passed on only, as before: a refusal would lose it.
		{name: "tracking without trackingId", body: trackingBody("Tracking Detail", `{"eventCode":"Delivered"}`), others: 1},
		{name: "tracking with an empty trackingId", body: trackingBody("Tracking Detail", `{"trackingId":" "}`), others: 1},
		{name: "tracking with an object trackingId", body: trackingBody("Tracking Detail", `{"trackingId":{"id":"T"}}`), others: 1},
		{name: "tracking with a fractional trackingId", body: trackingBody("Tracking Detail", `{"trackingId":1.5}`), others: 1},
		{name: "tracking with an integer trackingId", body: trackingBody("Tracking Detail", `{"trackingId":1709913037944}`), tracking: 1, others: 1, terminal: []bool{false}, wantTrackingID: "1709913037944"},
		{name: "one entry of an accumulated delivery without trackingId", body: trackingBody("Tracking Detail", `{"trackingId":"T1"}`, `{"status":"x"}`), tracking: 1, others: 2, terminal: []bool{false}},
		{name: "NDR without trackingId", body: trackingBody("NDR Detail", `{"ndrReason":"R"}`), others: 1},
		{name: "configured NDR detail-type", body: trackingBody("Custom NDR", `{"trackingId":"T1","reasonCode":"R"}`), ndrs: 1, others: 1, wantReasons: "reasonCode"},
		{name: "ndr fields in any envelope", body: trackingBody("Whatever", `{"trackingId":"T1","NdrStatus":"OPEN","other":1}`), ndrs: 1, others: 1, wantReasons: "NdrStatus"},
		{name: "ndr fields in a tracking envelope: both", body: trackingBody("Tracking Detail", `{"trackingId":"T1","ndrReason":"R"}`), tracking: 1, ndrs: 1, others: 1, terminal: []bool{false}, wantReasons: "ndrReason"},
		{name: "unconfigured detail-type: only passed on", body: trackingBody("NDR Event", `{"trackingId":"T1"}`), others: 1},
		{name: "unknown entry without trackingId: passed on", body: trackingBody("Whatever", `{"x":1}`), others: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, rejected, err := shipping.ParsePartialNDR(tc.body, ndrTypes)
			if err != nil || len(rejected) > 0 {
				t.Fatal(err, rejected)
			}
			wantID := tc.wantTrackingID
			if wantID == "" {
				wantID = "T1"
			}
			if len(n.Tracking) != tc.tracking || len(n.NDRs) != tc.ndrs || len(n.Others) != tc.others {
				t.Fatalf("%d tracking, %d NDRs, %d others; want %d, %d, %d", len(n.Tracking), len(n.NDRs), len(n.Others), tc.tracking, tc.ndrs, tc.others)
			}
			for i, tr := range n.Tracking {
				if tr.Terminal != tc.terminal[i] {
					t.Errorf("Tracking[%d].Terminal = %v", i, tr.Terminal)
				}
				if tr.TrackingID != wantID {
					t.Errorf("TrackingID = %q, want %q", tr.TrackingID, wantID)
				}
				if tr.EstimatedArrival != tc.wantEstimated {
					t.Errorf("EstimatedArrival = %q, want %q", tr.EstimatedArrival, tc.wantEstimated)
				}
			}
			for _, r := range n.NDRs {
				if _, ok := r.Reasons[tc.wantReasons]; !ok || len(r.Reasons) != 1 {
					t.Errorf("Reasons = %v, want only %s", r.Reasons, tc.wantReasons)
				}
			}
		})
	}
}

// FuzzTrackingEntries: for any body, every tracking and NDR entry ParsePartialNDR keeps is one of
// its Others (same position, same bytes) with a non-empty trackingId; a tracking entry comes from a
// Tracking Detail envelope; a parsed eventTime is UTC and within the accepted range; and an NDR's
// reasons are fields of its entry.
func FuzzTrackingEntries(f *testing.F) {
	for _, seed := range [][]byte{
		trackingBody("Tracking Detail", `{"trackingId":"T1","eventCode":"Delivered","eventTime":"2025-01-28T10:02:11Z","estimatedArrivalDate":"2025-01-29"}`),
		trackingBody("Tracking Detail", `{"trackingId":"T1","eventTime":1738058531000}`, `{"trackingId":"T1","eventTime":"2025-01-28T15:32:11+0530","status":"Lost"}`, `{"eventCode":"x"}`),
		trackingBody("NDR Detail", `{"trackingId":"T2","ndrReason":"CUSTOMER_UNAVAILABLE","ndrAttemptCount":1}`),
		trackingBody("PN Event", `{"trackingId":"T3","eventCode":"PIN_EXPIRED","NDRx":null}`),
		trackingBody("Tracking Detail", `{"trackingId":" ","status":7,"eventTime":{"a":1}}`),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, _, err := shipping.ParsePartialNDR(body, shipping.DefaultNDRDetailTypes)
		if err != nil {
			return
		}
		check := func(kind string, index int, trackingID string, raw json.RawMessage) {
			if index < 0 || index >= len(n.Others) || !bytes.Equal(n.Others[index].Raw, raw) {
				t.Fatalf("%s entry at Others[%d] is not that entry", kind, index)
			}
			if trackingID == "" || len(trackingID) > 256 {
				t.Fatalf("%s entry with trackingId %q", kind, trackingID)
			}
		}
		for _, tr := range n.Tracking {
			check("tracking", tr.Index, tr.TrackingID, tr.Raw)
			if n.Envelope.DetailType != shipping.DetailTypeTracking {
				t.Fatalf("tracking entry from detail-type %q", n.Envelope.DetailType)
			}
			if !tr.EventTime.IsZero() {
				if ms := tr.EventTime.UnixMilli(); tr.EventTime.Location() != time.UTC || ms < 1e12 || ms >= 1e14 {
					t.Fatalf("eventTime %v", tr.EventTime)
				}
			}
			if tr.Terminal != (shipping.IsTerminal(tr.Status) || shipping.IsTerminal(tr.EventCode)) {
				t.Fatalf("terminal %v for %q/%q", tr.Terminal, tr.Status, tr.EventCode)
			}
		}
		for _, r := range n.NDRs {
			check("NDR", r.Index, r.TrackingID, r.Raw)
			var entry map[string]json.RawMessage
			if err := json.Unmarshal(r.Raw, &entry); err != nil {
				t.Fatal(err)
			}
			for k := range r.Reasons {
				if _, ok := entry[k]; !ok {
					t.Fatalf("reason %q is no field of the entry", k)
				}
			}
		}
		if !slices.IsSortedFunc(n.Tracking, func(a, b shipping.Tracking) int { return a.Index - b.Index }) {
			t.Fatal("tracking entries out of order")
		}
	})
}

// FuzzEventTime: ParseEventTime never panics, accepts only instants in 2001..5138 in UTC, and
// agrees with itself on a time it formats back in RFC 3339 or epoch milliseconds.
func FuzzEventTime(f *testing.F) {
	for _, seed := range []string{`"2025-01-28T10:02:11Z"`, `"2025-01-28T15:32:11+0530"`, `1738058531000`, `"1738058531000"`, `"2025-01-28T10:02:11"`, `1e12`, `"\u0032025-01-28T10:02:11Z"`, `null`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := shipping.ParseEventTime(raw)
		if !ok {
			if !got.IsZero() {
				t.Fatalf("unparseable but %v", got)
			}
			return
		}
		if ms := got.UnixMilli(); got.Location() != time.UTC || ms < 1e12 || ms >= 1e14 {
			t.Fatalf("%s read as %v", raw, got)
		}
		for _, again := range []string{fmt.Sprintf("%q", got.Format(time.RFC3339Nano)), fmt.Sprint(got.UnixMilli())} {
			back, ok := shipping.ParseEventTime(json.RawMessage(again))
			if !ok || back.UnixMilli() != got.UnixMilli() {
				t.Fatalf("%s read as %v, but %s as %v, %v", raw, got, again, back, ok)
			}
		}
	})
}
