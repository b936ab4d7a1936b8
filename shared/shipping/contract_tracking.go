package shipping

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
)

// TrackingData is the `detail.data` block of "Shipping Tracking Updated" and "Shipping Tracking Stale".
type TrackingData struct {
	TrackingID             string `json:"trackingId"`
	AlternateLegTrackingID string `json:"alternateLegTrackingId,omitempty"`
	ShipmentType           string `json:"shipmentType,omitempty"`
	Status                 string `json:"status,omitempty"`
	EventCode              string `json:"eventCode,omitempty"`
	// EventTime is the entry's eventTime in RFC 3339 UTC; absent when missing or unparseable.
	EventTime *time.Time `json:"eventTime,omitempty"`
	// EstimatedArrival is the latest estimated arrival as sent (its field name is unconfirmed).
	EstimatedArrival string `json:"estimatedArrival,omitempty"`
	Terminal         bool   `json:"terminal"`
	// Detail is Amazon's entry as sent: every field, known or not.
	Detail json.RawMessage `json:"detail"`
}

// NDRData is the `detail.data` block of "Shipping NDR Raised".
type NDRData struct {
	TrackingID string `json:"trackingId"`
	EventCode  string `json:"eventCode,omitempty"`
	Status     string `json:"status,omitempty"`
	// Reasons are the entry's ndr… and …reason… fields as sent ({} when it has none).
	Reasons map[string]json.RawMessage `json:"reasons"`
	Detail  json.RawMessage            `json:"detail"`
}

// TrackingEvent is the event for one tracking entry: Updated when it is (or already was) the
// stored state, else Stale. Both share the entry's idempotency key: one entry is announced once.
// As in OtherEvent, a verificationCode in the entry is removed when codes are kept out of events.
func TrackingEvent(env Envelope, label string, t Tracking, stale bool, received time.Time, includeCode bool) eventbus.Event {
	data := TrackingData{
		TrackingID: t.TrackingID, AlternateLegTrackingID: t.AlternateLegTrackingID, ShipmentType: t.ShipmentType,
		Status: t.Status, EventCode: t.EventCode, EstimatedArrival: t.EstimatedArrival, Terminal: t.Terminal, Detail: t.Raw,
	}
	if !includeCode {
		data.Detail = withoutField(t.Raw, "verificationCode")
	}
	if !t.EventTime.IsZero() {
		data.EventTime = &t.EventTime
	}
	dt := DetailTypeTrackingUpdated
	if stale {
		dt = DetailTypeTrackingStale
	}
	return eventbus.Event{
		Source:     EventSource,
		DetailType: dt,
		Detail:     Detail[TrackingData]{Metadata: metadata(env, label, "tracking:"+t.TrackingID+"#"+strconv.Itoa(t.Index), received), Data: data},
	}
}

// NDREvent is the event for one NDR entry.
func NDREvent(env Envelope, label string, r NDR, received time.Time, includeCode bool) eventbus.Event {
	if !includeCode {
		r.Raw = withoutField(r.Raw, "verificationCode")
	}
	return eventbus.Event{
		Source:     EventSource,
		DetailType: DetailTypeNDR,
		Detail: Detail[NDRData]{
			Metadata: metadata(env, label, "ndr:"+r.TrackingID+"#"+strconv.Itoa(r.Index), received),
			Data:     NDRData{TrackingID: r.TrackingID, EventCode: r.EventCode, Status: r.Status, Reasons: r.Reasons, Detail: r.Raw},
		},
	}
}
