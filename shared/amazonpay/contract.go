package amazonpay

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/amazonpayapi"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
)

// The event contract. Changing any of these is a breaking change: add instead.
const (
	EventSource   = "amazon-webhook-gateway.amazon-pay"
	SchemaVersion = "1"

	// DetailTypeCharge and DetailTypeRefund mean a completed India payment or refund. An Amazon
	// Pay API v2 CHARGE or REFUND message still publishes them (deprecated: the state is unknown
	// unless the event is enriched), beside its own detail-type below, until the release
	// CHANGELOG.md names or PublishDeprecatedDetailTypes=false.
	DetailTypeCharge       = "Amazon Pay Charge Notification"
	DetailTypeRefund       = "Amazon Pay Refund Notification"
	DetailTypeIPN          = "Amazon Pay IPN"
	DetailTypeSubscribed   = "Amazon Pay IPN Subscription Confirmed"
	DetailTypeUnsubscribed = "Amazon Pay IPN Unsubscribe Confirmed"

	// Amazon Pay API v2 ("CV2") messages: an object changed (NotificationType STATE_CHANGE or
	// ATTRIBUTE_CHANGE); data.state is what the gateway fetched of it, if enrichment.status is
	// "enriched".
	DetailTypeChargeChanged           = "Amazon Pay Charge Changed"
	DetailTypeRefundChanged           = "Amazon Pay Refund Changed"
	DetailTypeChargePermissionChanged = "Amazon Pay Charge Permission Changed"
	DetailTypeChargebackChanged       = "Amazon Pay Chargeback Changed"

	idempotencyKeyScopePrefix = "amazonpay:"
	// v2KeyPrefix keys the v2 detail-types' events ("amazonpay:v2:<MessageId>"): the deprecated
	// copy of the same message keeps "amazonpay:<MessageId>", and each event has its own key.
	v2KeyPrefix = idempotencyKeyScopePrefix + "v2:"
	// lateSuffix keys the event of a later enrichment ("amazonpay:v2:<MessageId>:enriched").
	lateSuffix = ":enriched"
)

// Enrichment statuses.
const (
	EnrichmentEnriched = "enriched"
	EnrichmentDisabled = "disabled"
	EnrichmentFailed   = "failed"
)

// Metadata is `detail.metadata`.
type Metadata struct {
	SchemaVersion string `json:"schemaVersion"`
	// IdempotencyKey is "amazonpay:" + the SNS MessageId, which SNS keeps on retries; an Amazon Pay
	// API v2 detail-type's event has "amazonpay:v2:" + the MessageId, and a later enrichment's
	// ":enriched" appended. (The gateway also claims SignedTextKey, so a copy of a processed message
	// is never announced under another MessageId.)
	IdempotencyKey string    `json:"idempotencyKey"`
	MessageID      string    `json:"messageId"`
	TopicARN       string    `json:"topicArn"`
	Subject        string    `json:"subject,omitempty"`
	SentAt         string    `json:"sentAt"`
	ReceivedAt     time.Time `json:"receivedAt"`
	// Account is the label of the merchant account the message's verified topic is configured
	// for ("default" unless AmazonPayIpnTopicArns labels it), for per-merchant rules.
	Account string `json:"account"`
	// Deferred is set on the events of a re-driven delivery only (eventbus.Deferral).
	Deferred *eventbus.Deferral `json:"deferred,omitempty"`
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
	// Enrichment says whether State was fetched (Amazon Pay API v2 messages only).
	Enrichment *Enrichment `json:"enrichment,omitempty"`
	// State is the allow-listed part of the object fetched from the Amazon Pay API (enriched only).
	State *State `json:"state,omitempty"`
}

// Enrichment is `detail.data.enrichment` of an Amazon Pay API v2 message's events.
type Enrichment struct {
	Status string `json:"status"` // enriched, disabled, failed
	// Reason says why the state is missing (disabled, failed): a code, then details.
	Reason string `json:"reason,omitempty"`
	// RetryPending: the message is kept (quarantine reason enrichment_pending) for a later
	// enrichment, which publishes a second event keyed "<idempotencyKey>:enriched".
	RetryPending bool       `json:"retryPending,omitempty"`
	FetchedAt    *time.Time `json:"fetchedAt,omitempty"`
	// BuyerDataIncluded: state may hold buyer and address fields (AmazonPayIncludeBuyerData).
	BuyerDataIncluded bool `json:"buyerDataIncluded,omitempty"`
	// LateFor is, in a later enrichment's event, the idempotencyKey of the event it completes.
	LateFor string `json:"lateFor,omitempty"`
}

// Detail is an emitted event's detail.
type Detail struct {
	Metadata Metadata `json:"metadata"`
	Data     Data     `json:"data"`
}

// WithDeferral is d with metadata.deferred set (eventbus.Deferrable).
func (d Detail) WithDeferral(x eventbus.Deferral) any {
	d.Metadata.Deferred = &x
	return d
}

// v2Object is what the gateway does with one Amazon Pay API v2 ObjectType.
type v2Object struct {
	detailType, kind string
	// legacy is the detail-type such a message had before v2 messages had their own.
	legacy, legacyKind string
	// api is the object's GET ("" : Amazon Pay documents none, as for a chargeback).
	api amazonpayapi.Object
}

var v2Objects = map[string]v2Object{
	"CHARGE":            {DetailTypeChargeChanged, "charge", DetailTypeCharge, "charge", amazonpayapi.Charge},
	"REFUND":            {DetailTypeRefundChanged, "refund", DetailTypeRefund, "refund", amazonpayapi.Refund},
	"CHARGE_PERMISSION": {DetailTypeChargePermissionChanged, "charge-permission", DetailTypeIPN, "other", amazonpayapi.ChargePermission},
	"CHARGEBACK":        {DetailTypeChargebackChanged, "chargeback", DetailTypeIPN, "other", ""},
}

// notice is what the gateway reads of a Notification's message.
type notice struct {
	detailType string
	data       Data
	// v2 is set for an Amazon Pay API v2 message (a known ObjectType).
	v2 *v2Object
}

// classify reads the kind of a Notification's message. Both the India IPN names
// (NotificationType ChargeNotification/RefundNotification) and the global Amazon Pay v2 shape
// (ObjectType CHARGE, REFUND, CHARGE_PERMISSION, CHARGEBACK) are recognised, whatever the case of
// the keys (the v2 page's MerchantID/ObjectType, the older page's merchantID/objectType).
func classify(message string) notice {
	var d Data
	var fields map[string]json.RawMessage
	if json.Unmarshal([]byte(message), &fields) != nil || fields == nil {
		d.Message, _ = json.Marshal(message)
		return notice{detailType: DetailTypeIPN, data: withKind(d, "other")}
	}
	d.Message = json.RawMessage(message)
	get := func(names ...string) string {
		for _, n := range names {
			if s, ok := httpapi.JSONString(fields[n]); ok {
				return s
			}
			for k, v := range fields {
				if strings.EqualFold(k, n) {
					if s, ok := httpapi.JSONString(v); ok {
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
	case strings.EqualFold(d.NotificationType, "ChargeNotification"):
		return notice{detailType: DetailTypeCharge, data: withKind(d, "charge")}
	case strings.EqualFold(d.NotificationType, "RefundNotification"):
		return notice{detailType: DetailTypeRefund, data: withKind(d, "refund")}
	}
	if o, ok := v2Objects[strings.ToUpper(d.ObjectType)]; ok {
		return notice{detailType: o.detailType, data: withKind(d, o.kind), v2: &o}
	}
	return notice{detailType: DetailTypeIPN, data: withKind(d, "other")}
}

func withKind(d Data, kind string) Data {
	d.Kind = kind
	return d
}

// notificationKey is the claim that makes a v2 notification Amazon Pay re-publishes (new SNS
// MessageId and Timestamp, same message) a duplicate: its NotificationId, which Amazon calls
// random, scoped by merchant, object and notification type so that only the same notification
// of the same object can match. "" when the message has no NotificationId.
func notificationKey(d Data) string {
	if d.NotificationID == "" {
		return ""
	}
	h := sha256.New()
	for _, s := range []string{d.MerchantID, strings.ToUpper(d.ObjectType), d.ObjectID, strings.ToUpper(d.NotificationType), d.NotificationID} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return idempotencyKeyScopePrefix + "notification:" + hex.EncodeToString(h.Sum(nil))
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

// Event builds the event a verified SNS message had before Amazon Pay API v2 messages had their
// own detail-types: for a v2 message, its deprecated copy, without enrichment.
func Event(m *snsverify.Message, received time.Time) eventbus.Event {
	switch m.Type {
	case snsverify.TypeSubscriptionConfirmation:
		data := Data{Kind: "subscription"}
		data.Message, _ = json.Marshal(m.Message)
		return event(m, received, DetailTypeSubscribed, idempotencyKeyScopePrefix+m.MessageID, data)
	case snsverify.TypeUnsubscribeConfirmation:
		data := Data{Kind: "unsubscribe"}
		data.Message, _ = json.Marshal(m.Message)
		return event(m, received, DetailTypeUnsubscribed, idempotencyKeyScopePrefix+m.MessageID, data)
	}
	n := classify(m.Message)
	if n.v2 != nil {
		n.detailType, n.data.Kind = n.v2.legacy, n.v2.legacyKind
	}
	return event(m, received, n.detailType, idempotencyKeyScopePrefix+m.MessageID, n.data)
}

// v2Events are the events of a v2 message n: its own detail-type's, keyed "amazonpay:v2:<MessageId>",
// and, unless omitCopy (PublishDeprecatedDetailTypes=false), the deprecated copy under the
// detail-type and key it had before, both with the enrichment. The copy stops in the release
// CHANGELOG.md names.
func v2Events(m *snsverify.Message, received time.Time, n notice, enr Enrichment, state *State, omitCopy bool) []eventbus.Event {
	d := n.data
	d.Enrichment, d.State = &enr, state
	own := event(m, received, n.detailType, v2KeyPrefix+m.MessageID, d)
	if omitCopy {
		return []eventbus.Event{own}
	}
	d.Kind = n.v2.legacyKind
	return []eventbus.Event{own, event(m, received, n.v2.legacy, idempotencyKeyScopePrefix+m.MessageID, d)}
}

// lateEvent is the event of a later enrichment of v2 message n: its own detail-type only, keyed
// "amazonpay:v2:<MessageId>:enriched", enrichment.lateFor naming the event it completes.
func lateEvent(m *snsverify.Message, received time.Time, n notice, enr Enrichment, state *State) eventbus.Event {
	d := n.data
	enr.LateFor = v2KeyPrefix + m.MessageID
	d.Enrichment, d.State = &enr, state
	return event(m, received, n.detailType, enr.LateFor+lateSuffix, d)
}

func event(m *snsverify.Message, received time.Time, detailType, key string, data Data) eventbus.Event {
	return eventbus.Event{
		Source:     EventSource,
		DetailType: detailType,
		Resources:  []string{m.TopicARN},
		Detail: Detail{
			Metadata: Metadata{
				SchemaVersion:  SchemaVersion,
				IdempotencyKey: key,
				MessageID:      m.MessageID,
				TopicARN:       m.TopicARN,
				Subject:        m.Subject,
				SentAt:         m.Timestamp,
				ReceivedAt:     received,
				Account:        account.Default, // Plan labels its delivery's events
			},
			Data: data,
		},
	}
}
