package amazonpay

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/jsonobject"
	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
)

// The event contract. Changing any of these is a breaking change: add instead.
const (
	EventSource   = "amazon-webhook-gateway.amazon-pay"
	SchemaVersion = "1"

	DetailTypeCharge          = "Amazon Pay Charge Notification"
	DetailTypeRefund          = "Amazon Pay Refund Notification"
	DetailTypeIPN             = "Amazon Pay IPN"
	DetailTypeSubscribed      = "Amazon Pay IPN Subscription Confirmed"
	DetailTypeUnsubscribed    = "Amazon Pay IPN Unsubscribe Confirmed"
	idempotencyKeyScopePrefix = "amazonpay:"
)

// Metadata is `detail.metadata`.
type Metadata struct {
	SchemaVersion string `json:"schemaVersion"`
	// IdempotencyKey is "amazonpay:" + the SNS MessageId, which SNS keeps on retries. (The gateway
	// also claims SignedTextKey, so a copy of a processed message is never announced under another
	// MessageId.)
	IdempotencyKey string    `json:"idempotencyKey"`
	MessageID      string    `json:"messageId"`
	TopicARN       string    `json:"topicArn"`
	Subject        string    `json:"subject,omitempty"`
	SentAt         string    `json:"sentAt"`
	ReceivedAt     time.Time `json:"receivedAt"`
}

// Data is `detail.data`. Amazon does not publish the IPN message's field names, so the fields the
// gateway recognises are lifted out and the whole parsed message is kept under Message.
type Data struct {
	Kind               string `json:"kind"`                         // charge, refund, subscription, unsubscribe, other
	NotificationType   string `json:"notificationType,omitempty"`   // ChargeNotification, RefundNotification, STATE_CHANGE...
	ObjectType         string `json:"objectType,omitempty"`         // Amazon Pay v2: CHARGE, REFUND, CHARGE_PERMISSION...
	ObjectID           string `json:"objectId,omitempty"`           // Amazon Pay v2: the charge or refund id
	ChargePermissionID string `json:"chargePermissionId,omitempty"` // Amazon Pay v2
	NotificationID     string `json:"notificationId,omitempty"`     // Amazon Pay v2
	MerchantID         string `json:"merchantId,omitempty"`
	// Message is the SNS Message parsed as JSON, or a JSON string when it is not JSON.
	Message json.RawMessage `json:"message"`
}

// Detail is an emitted event's detail.
type Detail struct {
	Metadata Metadata `json:"metadata"`
	Data     Data     `json:"data"`
}

// classify reads the kind of a Notification's message. Both the India IPN names
// (NotificationType ChargeNotification/RefundNotification) and the global Amazon Pay v2 shape
// (ObjectType CHARGE/REFUND with NotificationType STATE_CHANGE) are recognised, whatever the case
// of the keys' first letter.
func classify(message string) (string, Data) {
	var d Data
	fields, ok := jsonobject.Members([]byte(message))
	if !ok && (json.Unmarshal([]byte(message), &fields) != nil || fields == nil) {
		d.Message, _ = json.Marshal(message)
		return DetailTypeIPN, withKind(d, "other")
	}
	d.Message = json.RawMessage(message)
	get := func(names ...string) string {
		for _, n := range names {
			if s, ok := jsonobject.String(fields[n]); ok {
				return s
			}
			for k, v := range fields {
				if strings.EqualFold(k, n) {
					if s, ok := jsonobject.String(v); ok {
						return s
					}
				}
			}
		}
		return ""
	}
	d.NotificationType = get("NotificationType")
	d.ObjectType = get("ObjectType")
	d.ObjectID = get("ObjectId")
	d.ChargePermissionID = get("ChargePermissionId")
	d.NotificationID = get("NotificationId")
	d.MerchantID = get("MerchantID", "MerchantId", "SellerId")
	switch {
	case strings.EqualFold(d.NotificationType, "ChargeNotification"), strings.EqualFold(d.ObjectType, "CHARGE"):
		return DetailTypeCharge, withKind(d, "charge")
	case strings.EqualFold(d.NotificationType, "RefundNotification"), strings.EqualFold(d.ObjectType, "REFUND"):
		return DetailTypeRefund, withKind(d, "refund")
	}
	return DetailTypeIPN, withKind(d, "other")
}

func withKind(d Data, kind string) Data {
	d.Kind = kind
	return d
}

// SignedTextKey is the second idempotency record of a message: "amazonpay:signed:" + the hex SHA-256
// of SNS's string to sign, so that a message whose signed text was processed before is a duplicate
// whatever its fields say. It is an internal record, not in the event: consumers keep deduping on
// IdempotencyKey.
func SignedTextKey(m *snsverify.Message) string {
	s, _ := snsverify.StringToSign(m) // Parse checked every signed field
	sum := sha256.Sum256([]byte(s))
	return idempotencyKeyScopePrefix + "signed:" + hex.EncodeToString(sum[:])
}

// Event builds the normalised event for a verified SNS message.
func Event(m *snsverify.Message, received time.Time) eventbus.Event {
	var detailType string
	var data Data
	switch m.Type {
	case snsverify.TypeSubscriptionConfirmation:
		detailType = DetailTypeSubscribed
		data = Data{Kind: "subscription"}
		data.Message, _ = json.Marshal(m.Message)
	case snsverify.TypeUnsubscribeConfirmation:
		detailType = DetailTypeUnsubscribed
		data = Data{Kind: "unsubscribe"}
		data.Message, _ = json.Marshal(m.Message)
	default:
		detailType, data = classify(m.Message)
	}
	return eventbus.Event{
		Source:     EventSource,
		DetailType: detailType,
		Resources:  []string{m.TopicARN},
		Detail: Detail{
			Metadata: Metadata{
				SchemaVersion:  SchemaVersion,
				IdempotencyKey: idempotencyKeyScopePrefix + m.MessageID,
				MessageID:      m.MessageID,
				TopicARN:       m.TopicARN,
				Subject:        m.Subject,
				SentAt:         m.Timestamp,
				ReceivedAt:     received,
			},
			Data: data,
		},
	}
}
