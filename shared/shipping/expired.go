package shipping

import (
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
)

// ExpiredOTPData is the `detail.data` block of a "Shipping OTP Expired On Arrival" event: an OTP
// whose verificationCodeTTL was not later than its receipt. It has no field for the code, so no
// setting (IncludeOtpInEvents) can put an unusable code on the bus.
type ExpiredOTPData struct {
	TrackingID             string `json:"trackingId"`
	AlternateLegTrackingID string `json:"alternateLegTrackingId,omitempty"`
	ShipmentType           string `json:"shipmentType,omitempty"`
	EventCode              string `json:"eventCode"`
	AppID                  string `json:"appId,omitempty"`
	// VerificationCodeIncluded is always false; it is there so that one consumer can read both
	// OTP detail-types alike.
	VerificationCodeIncluded  bool      `json:"verificationCodeIncluded"`
	VerificationCodeTTL       int64     `json:"verificationCodeTTL"`
	VerificationCodeExpiresAt time.Time `json:"verificationCodeExpiresAt"`
}

// ExpiredOTPEvent is the normalised event for an OTP that had expired when it was received. Its
// idempotency key is the one the OTP would have had as "Shipping OTP Generated": an entry is
// announced as one or the other.
func ExpiredOTPEvent(env Envelope, label string, o OTP, received time.Time) eventbus.Event {
	return eventbus.Event{
		Source:     EventSource,
		DetailType: DetailTypeOTPExpired,
		Detail: Detail[ExpiredOTPData]{Metadata: metadata(env, label, o.TrackingID, received), Data: ExpiredOTPData{
			TrackingID:                o.TrackingID,
			AlternateLegTrackingID:    o.AlternateLegTrackingID,
			ShipmentType:              o.ShipmentType,
			EventCode:                 o.EventCode,
			AppID:                     o.AppID,
			VerificationCodeTTL:       o.ExpiresAtMillis,
			VerificationCodeExpiresAt: o.ExpiresAt(),
		}},
	}
}
