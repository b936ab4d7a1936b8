package shipping

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
)

// The event contract consumers write EventBridge rules against. Changing any of these is a
// breaking change: add new detail-types or fields instead.
const (
	EventSource         = "amazon-webhook-gateway.shipping"
	DetailTypeOTP       = "Shipping OTP Generated"
	DetailTypeOther     = "Shipping Notification"
	SchemaVersion       = "1"
	idempotencyKeyScope = "shipping"
)

// DetailTypeOTPExpired is announced instead of DetailTypeOTP for an OTP that was no longer valid
// when it arrived (expired.go).
const DetailTypeOTPExpired = "Shipping OTP Expired On Arrival"

// Detail-types of tracking and NDR entries (contract_tracking.go). For one release these entries
// are also published as DetailTypeOther, which is deprecated for them.
const (
	// DetailTypeTrackingUpdated: the entry is now the latest tracking state of its tracking ID.
	DetailTypeTrackingUpdated = "Shipping Tracking Updated"
	// DetailTypeTrackingStale: a later state of the tracking ID was stored; the entry changed nothing.
	DetailTypeTrackingStale = "Shipping Tracking Stale"
	// DetailTypeNDR: a non-delivery report, which the merchant answers with submitNdrFeedback.
	DetailTypeNDR = "Shipping NDR Raised"
)

// Metadata is the `detail.metadata` block of every emitted event.
type Metadata struct {
	SchemaVersion string `json:"schemaVersion"`
	// DeliveryID is Amazon's envelope id; the same on every redelivery.
	DeliveryID string `json:"deliveryId"`
	// IdempotencyKey is unique per emitted event and stable across redeliveries: consumers dedupe on it.
	IdempotencyKey string    `json:"idempotencyKey"`
	ReceivedAt     time.Time `json:"receivedAt"`
	// Account is the label of the Shipping account whose credential delivered the event
	// ("default" unless configured), for per-account rules. Not origin.account, which is
	// Amazon's AWS account.
	Account string `json:"account"`
	Origin  Origin `json:"origin"`
	// Deferred is set on the events of a re-driven delivery only (eventbus.Deferral).
	Deferred *eventbus.Deferral `json:"deferred,omitempty"`
}

// Origin repeats what Amazon's envelope said.
type Origin struct {
	Source     string    `json:"source"`
	DetailType string    `json:"detailType"`
	Account    string    `json:"account"`
	Region     string    `json:"region,omitempty"`
	Time       time.Time `json:"time"`
}

// OTPData is the `detail.data` block of a "Shipping OTP Generated" event.
type OTPData struct {
	TrackingID             string `json:"trackingId"`
	AlternateLegTrackingID string `json:"alternateLegTrackingId,omitempty"`
	ShipmentType           string `json:"shipmentType,omitempty"`
	EventCode              string `json:"eventCode"`
	AppID                  string `json:"appId,omitempty"`
	// VerificationCode is left out when the deployment says so (IncludeOtpInEvents=false).
	VerificationCode          string    `json:"verificationCode,omitempty"`
	VerificationCodeIncluded  bool      `json:"verificationCodeIncluded"`
	VerificationCodeTTL       int64     `json:"verificationCodeTTL"`
	VerificationCodeExpiresAt time.Time `json:"verificationCodeExpiresAt"`
}

// OtherData is the `detail.data` block of a "Shipping Notification" event.
type OtherData struct {
	TrackingID string          `json:"trackingId,omitempty"`
	EventCode  string          `json:"eventCode,omitempty"`
	Detail     json.RawMessage `json:"detail"`
}

// Detail is an emitted event's detail.
type Detail[T any] struct {
	Metadata Metadata `json:"metadata"`
	Data     T        `json:"data"`
}

// WithDeferral is d with metadata.deferred set (eventbus.Deferrable).
func (d Detail[T]) WithDeferral(x eventbus.Deferral) any {
	d.Metadata.Deferred = &x
	return d
}

func metadata(env Envelope, label, key string, received time.Time) Metadata {
	return Metadata{
		SchemaVersion:  SchemaVersion,
		DeliveryID:     env.ID,
		IdempotencyKey: idempotencyKeyScope + ":" + env.ID + ":" + key,
		ReceivedAt:     received,
		Account:        label,
		Origin: Origin{
			Source: env.Source, DetailType: env.DetailType, Account: env.Account, Region: env.Region, Time: env.Time,
		},
	}
}

// OTPEvent is the normalised event for one OTP, delivered with the credential of account label.
func OTPEvent(env Envelope, label string, o OTP, received time.Time, includeCode bool) eventbus.Event {
	data := OTPData{
		TrackingID:                o.TrackingID,
		AlternateLegTrackingID:    o.AlternateLegTrackingID,
		ShipmentType:              o.ShipmentType,
		EventCode:                 o.EventCode,
		AppID:                     o.AppID,
		VerificationCodeIncluded:  includeCode,
		VerificationCodeTTL:       o.ExpiresAtMillis,
		VerificationCodeExpiresAt: o.ExpiresAt(),
	}
	if includeCode {
		data.VerificationCode = o.VerificationCode
	}
	return eventbus.Event{
		Source:     EventSource,
		DetailType: DetailTypeOTP,
		Detail:     Detail[OTPData]{Metadata: metadata(env, label, o.TrackingID, received), Data: data},
	}
}

// OtherEvent is the normalised event for a detail entry that carries no OTP. When codes are kept
// out of events, a verificationCode in the entry is removed too.
func OtherEvent(env Envelope, label string, o Other, index int, received time.Time, includeCode bool) eventbus.Event {
	raw := o.Raw
	if !includeCode {
		raw = withoutField(raw, "verificationCode")
	}
	// A payload may carry several entries for one tracking ID: the position keeps keys apart.
	key := o.TrackingID + "#" + strconv.Itoa(index)
	return eventbus.Event{
		Source:     EventSource,
		DetailType: DetailTypeOther,
		Detail: Detail[OtherData]{
			Metadata: metadata(env, label, key, received),
			Data:     OtherData{TrackingID: o.TrackingID, EventCode: o.EventCode, Detail: raw},
		},
	}
}

func withoutField(raw json.RawMessage, name string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	if _, ok := m[name]; !ok {
		return raw
	}
	delete(m, name)
	out, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return out
}
