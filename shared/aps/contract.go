package aps

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
)

// The event contract. Changing any of these is a breaking change: add instead.
const (
	EventSource   = "amazon-webhook-gateway.aps"
	SchemaVersion = "1"
)

// Detail-types by status (OutcomeOf).
const (
	DetailTypeAuthorizationSucceeded = "APS Authorization Succeeded"
	DetailTypeAuthorizationFailed    = "APS Authorization Failed"
	DetailTypeCaptureSucceeded       = "APS Capture Succeeded"
	DetailTypeCaptureFailed          = "APS Capture Failed"
	DetailTypeRefundSucceeded        = "APS Refund Succeeded"
	DetailTypeRefundFailed           = "APS Refund Failed"
	DetailTypeVoidSucceeded          = "APS Void Succeeded"
	DetailTypeVoidFailed             = "APS Void Failed"
	DetailTypePurchaseFailed         = "APS Purchase Failed"
	DetailTypePurchaseSucceeded      = "APS Purchase Succeeded"
	DetailTypeTokenizationFailed     = "APS Tokenization Failed"
	DetailTypeTokenizationSucceeded  = "APS Tokenization Succeeded"
	// Statuses 15, 19 and 20 do not say of which operation: with ApsDetailTypesByCommand=true a
	// message that names a documented command gets the detail-type of its operation below instead.
	DetailTypeUncertain = "APS Transaction Uncertain"
	DetailTypePending   = "APS Transaction Pending"
	DetailTypeOnHold    = "APS Transaction On Hold"
	// DetailTypeUnknown is the detail-type of a status the gateway does not know.
	DetailTypeUnknown = "APS Transaction Status Unknown"
)

// Detail-types by command (OutcomeByCommand, ApsDetailTypesByCommand=true): uncertain, pending and
// on hold of each operation, which the status alone leaves ambiguous (a pending capture and a
// pending purchase were both DetailTypePending), and a combination the gateway does not know.
const (
	DetailTypeAuthorizationUncertain = "APS Authorization Uncertain"
	DetailTypeAuthorizationPending   = "APS Authorization Pending"
	DetailTypeAuthorizationOnHold    = "APS Authorization On Hold"
	DetailTypePurchaseUncertain      = "APS Purchase Uncertain"
	DetailTypePurchasePending        = "APS Purchase Pending"
	DetailTypePurchaseOnHold         = "APS Purchase On Hold"
	DetailTypeCaptureUncertain       = "APS Capture Uncertain"
	DetailTypeCapturePending         = "APS Capture Pending"
	DetailTypeCaptureOnHold          = "APS Capture On Hold"
	DetailTypeRefundUncertain        = "APS Refund Uncertain"
	DetailTypeRefundPending          = "APS Refund Pending"
	DetailTypeRefundOnHold           = "APS Refund On Hold"
	DetailTypeVoidUncertain          = "APS Void Uncertain"
	DetailTypeVoidPending            = "APS Void Pending"
	DetailTypeVoidOnHold             = "APS Void On Hold"
	// DetailTypeCombinationUnknown: a known status with an operation it does not go with (a
	// capture's status on a REFUND, a tokenization's pending): announced, never refused.
	DetailTypeCombinationUnknown = "APS Transaction Combination Unknown"
)

// Feedback names the APS webhook a message came through.
type Feedback string

const (
	TransactionFeedback  Feedback = "transaction"
	NotificationFeedback Feedback = "notification"
)

// cardFields hold card data; they never reach a log and reach events only when configured.
var cardFields = []string{"card_number", "card_holder_name", "expiry_date", "card_bin"}

// Metadata is `detail.metadata`.
type Metadata struct {
	SchemaVersion string `json:"schemaVersion"`
	// IdempotencyKey is the same for every redelivery of one message; consumers dedupe on it.
	IdempotencyKey string `json:"idempotencyKey"`
	// Feedback is the route the message first arrived on; a copy on the other route is a duplicate.
	Feedback   Feedback  `json:"feedback"`
	ReceivedAt time.Time `json:"receivedAt"`
	// Account is the label of the phrase set that verified the message ("default" unless its
	// set names another), for per-merchant rules.
	Account string `json:"account"`
	// Deferred is set on the events of a re-driven delivery only (eventbus.Deferral).
	Deferred *eventbus.Deferral `json:"deferred,omitempty"`
}

// Data is `detail.data`.
type Data struct {
	MerchantReference string  `json:"merchantReference,omitempty"`
	FortID            string  `json:"fortId,omitempty"`
	Command           string  `json:"command,omitempty"`
	Status            string  `json:"status"`
	StatusDescription string  `json:"statusDescription"`
	ResponseCode      string  `json:"responseCode,omitempty"`
	ResponseMessage   string  `json:"responseMessage,omitempty"`
	Amount            *Amount `json:"amount,omitempty"`
	PaymentOption     string  `json:"paymentOption,omitempty"`
	// DigitalWallet is digital_wallet (APPLE_PAY for an Apple Pay result).
	DigitalWallet string `json:"digitalWallet,omitempty"`
	// Combination is Outcome.Combination: whether the gateway knows the message's operation
	// (Command) with its status; absent when the message names no operation.
	Combination string `json:"combination,omitempty"`
	// CardFieldsIncluded says whether card fields were kept in Fields (ApsIncludeCardFields).
	CardFieldsIncluded bool `json:"cardFieldsIncluded"`
	// Fields is every parameter APS sent except the signature (and card fields unless included).
	Fields map[string]string `json:"fields"`
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

// DefaultDedupeRetentionDays is how long an APS message's dedupe record is kept unless configured
// (template.yaml's ApsDedupeRetentionDays). APS messages carry no timestamp, so a captured one stays
// valid for ever: the record must outlive the months in which refunds and chargebacks follow a
// purchase, not just APS's minutes of retries.
const DefaultDedupeRetentionDays = 400

// IdempotencyKey identifies one message: a hash of the text APS signed (every parameter but the
// signature), and nothing else. Not the route: the same signed message on the other feedback URL
// is a duplicate. Not a subset of fields: a second partial refund differs from the first in some
// parameter and is a message of its own. APS resends the very same parameters, so a retry maps to
// the same key even if the SHA phrase was rotated in between (which changes the signature); so
// does any re-split of the same text, which signs the same.
func IdempotencyKey(p map[string]string) string {
	return keyOf(apssignature.Canonical(p))
}

// keyOf is the idempotency key of a message whose signed text is canonical.
func keyOf(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return "aps:" + hex.EncodeToString(sum[:])
}

// Event builds the normalised event for a verified, validated message, its detail-type by status
// (OutcomeOf), as a deployment with ApsDetailTypesByCommand=false publishes it.
func Event(f Feedback, p map[string]string, received time.Time, includeCard bool) eventbus.Event {
	return event(f, p, received, includeCard, IdempotencyKey(p), OutcomeOf(p), account.Default)
}

// event is Event with p's idempotency key, which Plan has from the text it checked, outcome and
// account label.
func event(f Feedback, p map[string]string, received time.Time, includeCard bool, key string, o Outcome, label string) eventbus.Event {
	fields := maps.Clone(p)
	delete(fields, apssignature.SignatureParam)
	if !includeCard {
		for _, k := range cardFields {
			delete(fields, k)
		}
	}
	d := Data{
		MerchantReference:  p["merchant_reference"],
		FortID:             p["fort_id"],
		Command:            OperationOf(p),
		Status:             o.Status,
		StatusDescription:  o.Description,
		ResponseCode:       p["response_code"],
		ResponseMessage:    p["response_message"],
		PaymentOption:      p["payment_option"],
		DigitalWallet:      p["digital_wallet"],
		Combination:        o.Combination,
		CardFieldsIncluded: includeCard,
		Fields:             fields,
	}
	if a, ok := AmountOf(p); ok {
		d.Amount = &a
	}
	return eventbus.Event{
		Source:     EventSource,
		DetailType: o.DetailType,
		Detail: Detail{
			Metadata: Metadata{SchemaVersion: SchemaVersion, IdempotencyKey: key, Feedback: f, ReceivedAt: received, Account: label},
			Data:     d,
		},
	}
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
