package shipping

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
)

// DetailTypeTracking is the envelope `detail-type` of Amazon Shipping's tracking push (facts §5.1).
const DetailTypeTracking = "Tracking Detail"

// DefaultNDRDetailTypes are the envelope detail-types taken to carry NDRs when the deployment names
// none (ShippingNdrDetailTypes). Inferred, not confirmed: Amazon documents the NDR push's envelope
// only as far as `{"version":"0","id":…`, and these follow the naming of "Tracking Detail" and
// "PN Event". Entries with `ndr`-prefixed fields are NDRs whatever the detail-type.
var DefaultNDRDetailTypes = []string{"NDR Detail", "NDR Event"}

// terminalCodes end a shipment's tracking: nothing further is expected for its tracking ID.
// Rejected and Undeliverable are not among them: a return (RTO) follows them on the same shipment.
var terminalCodes = []string{"Delivered", "Lost", "Destroyed", "PickupCancelled"}

// estimatedArrivalFields are the names Amazon's latest estimated arrival may have: its name is
// unconfirmed (facts §5.1), so the first one present is read.
var estimatedArrivalFields = []string{"estimatedArrivalDate", "latestEstimatedArrivalDate", "estimatedDeliveryDate", "estimatedArrival", "promisedDeliveryDate"}

// Tracking is one tracking update: an entry of a `Tracking Detail` envelope. Only trackingId is
// required; every other field is read when it is a string and otherwise left in Raw.
type Tracking struct {
	// Index is the entry's position among the delivery's Others, as in its Shipping Notification key.
	Index                  int
	TrackingID             string
	AlternateLegTrackingID string
	ShipmentType           string
	Status                 string
	EventCode              string
	// EventTimeText is eventTime as sent ("" when absent); EventTime is its instant, zero when
	// eventTime is missing or unparseable (ParseEventTime).
	EventTimeText string
	EventTime     time.Time
	// FutureEventTime: eventTime was more than MaxEventTimeSkew after the receipt, so EventTime
	// is zero as for an unparseable one.
	FutureEventTime  bool
	EstimatedArrival string
	Terminal         bool
	Raw              json.RawMessage
}

// NDR is one non-delivery report: an entry of an NDR envelope, or any entry with `ndr` fields.
type NDR struct {
	Index      int
	TrackingID string
	EventCode  string
	Status     string
	// Reasons are the entry's fields named ndr… or …reason…, as sent.
	Reasons map[string]json.RawMessage
	Raw     json.RawMessage
}

// classify adds o, the entry d, to n's tracking updates and NDRs when it is one, before o joins
// n.Others. Either needs a trackingId (a string, or an integer's digits): an entry without one
// is passed on only, as every entry was before tracking and NDRs were recognised, and never
// refused, which would lose it.
func classify(n *Notification, o Other, d map[string]json.RawMessage, opts Options) {
	tracking := n.Envelope.DetailType == DetailTypeTracking
	ndr := slices.Contains(opts.NDRDetailTypes, n.Envelope.DetailType) || hasNDRField(d)
	if !tracking && !ndr {
		return
	}
	tid := o.TrackingID
	if text := rawText(d["trackingId"]); tid == "" && text != "" && strings.Trim(text, "0123456789") == "" {
		tid = text
	}
	if tid == "" {
		return
	}
	index := len(n.Others)
	if tracking {
		t := Tracking{
			Index: index, TrackingID: tid, Raw: o.Raw,
			AlternateLegTrackingID: looseString(d, "alternateLegTrackingId"),
			ShipmentType:           looseString(d, "shipmentType"),
			Status:                 looseString(d, "status"),
			EventCode:              looseString(d, "eventCode"),
		}
		t.EventTimeText = rawText(d["eventTime"])
		t.EventTime, _ = ParseEventTime(d["eventTime"])
		if !opts.Received.IsZero() && t.EventTime.After(opts.Received.Add(MaxEventTimeSkew)) {
			// Later than any clock skew explains: it would pin the state, so it counts for none.
			t.EventTime, t.FutureEventTime = time.Time{}, true
		}
		for _, name := range estimatedArrivalFields {
			if t.EstimatedArrival = rawText(d[name]); t.EstimatedArrival != "" {
				break
			}
		}
		t.Terminal = IsTerminal(t.Status) || IsTerminal(t.EventCode)
		n.Tracking = append(n.Tracking, t)
	}
	if ndr {
		r := NDR{Index: index, TrackingID: tid, EventCode: looseString(d, "eventCode"), Status: looseString(d, "status"), Reasons: map[string]json.RawMessage{}, Raw: o.Raw}
		for k, v := range d {
			if isNDRField(k) || strings.Contains(strings.ToLower(k), "reason") {
				r.Reasons[k] = v
			}
		}
		n.NDRs = append(n.NDRs, r)
	}
}

// recognised are the indexes among n.Others of the tracking updates and NDRs: the entries whose
// Shipping Notification is the deprecated copy of their own event.
func (n *Notification) recognised() map[int]bool {
	out := make(map[int]bool, len(n.Tracking)+len(n.NDRs))
	for _, t := range n.Tracking {
		out[t.Index] = true
	}
	for _, r := range n.NDRs {
		out[r.Index] = true
	}
	return out
}

func isNDRField(name string) bool { return len(name) >= 3 && strings.EqualFold(name[:3], "ndr") }

func hasNDRField(d map[string]json.RawMessage) bool {
	for k := range d {
		if isNDRField(k) {
			return true
		}
	}
	return false
}

// IsTerminal says whether a tracking status or event code ends the shipment's tracking.
func IsTerminal(code string) bool {
	return slices.ContainsFunc(terminalCodes, func(c string) bool { return strings.EqualFold(c, code) })
}

// looseString is a string field trimmed, "" when it is absent, not a string or too long: the
// tracking and NDR shapes are unconfirmed, so a field of another type is passed on, not refused.
func looseString(d map[string]json.RawMessage, name string) string {
	s, err := optString(d, "", name, maxIDLength)
	if err != nil {
		return ""
	}
	return s
}

// rawText is a string or a number as text (trimmed, at most 64 bytes); "" for anything else.
func rawText(raw json.RawMessage) string {
	text := strings.TrimSpace(string(raw))
	if s, ok := httpapi.JSONString(raw); ok {
		text = strings.TrimSpace(s)
	} else if text == "" || !strings.ContainsRune("-0123456789", rune(text[0])) {
		return ""
	}
	if len(text) > 64 {
		return ""
	}
	return text
}

// eventTimeLayouts are the ISO 8601 forms eventTime is read in besides RFC 3339: an offset
// without a colon or without minutes, a space for the T. A time without an offset is ambiguous
// (UTC or the shipment's local time?) and so unparseable.
var eventTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
}

// ParseEventTime reads a tracking eventTime, whose format Amazon has not confirmed: RFC 3339 /
// ISO 8601 with an offset, or Unix epoch milliseconds as a JSON integer or a string of digits.
// It reports false for anything else, and for instants outside the epoch-millisecond range the
// OTP TTL accepts (2001..5138): seconds and garbage are not mistaken for times.
func ParseEventTime(raw json.RawMessage) (time.Time, bool) {
	if raw == nil || isNull(raw) {
		return time.Time{}, false
	}
	if ms, err := epochMillis(map[string]json.RawMessage{"t": raw}, "", "t"); err == nil {
		return time.UnixMilli(ms).UTC(), true
	}
	s, ok := httpapi.JSONString(raw)
	if !ok || len(s) > 64 {
		return time.Time{}, false
	}
	s = strings.TrimSpace(s)
	for _, layout := range eventTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			if ms := t.UnixMilli(); ms < 1e12 || ms >= 1e14 {
				return time.Time{}, false
			}
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
