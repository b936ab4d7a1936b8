package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpay"
	"github.com/amazon-webhook-gateway/gateway/shared/aps"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
)

// The schemas are written here by hand, field by field, from the contract pages (docs/shipping.md,
// docs/aps.md, docs/amazon-pay.md), not derived from the Go structs: a schema derived from the
// code would follow a renamed field instead of catching it.
//
// Every object the contract may extend says so with "additionalProperties": true; the tests
// validate the gateway's own events with those objects closed (tests/testenv), so a field missing
// from a schema fails there. Objects without "properties" (an Amazon entry, an IPN message) are
// free-form.

type obj = map[string]any

// eventType is one detail-type the gateway emits and its schema.
type eventType struct {
	Source, DetailType, Description string
	Metadata                        obj
	Data                            obj
	// FullOnly lists data fields required in a whole event but dropped from a reduced (oversized)
	// one: objects and arrays (eventbus keeps scalars only).
	FullOnly    []string
	Definitions obj // more definitions (Origin, Amount)
	Resources   obj // the envelope's resources; nil: an array of strings
}

func str(desc string) obj {
	o := obj{"type": "string"}
	if desc != "" {
		o["description"] = desc
	}
	return o
}

func pattern(p, desc string) obj {
	o := str(desc)
	o["pattern"] = p
	return o
}

func enum(desc string, values ...string) obj {
	o := str(desc)
	o["enum"] = values
	return o
}

func dateTime(desc string) obj {
	o := str(desc)
	o["format"] = "date-time"
	return o
}

func boolean(desc string) obj { return obj{"type": "boolean", "description": desc} }

// object is an object open to additive change.
func object(desc string, props obj, required ...string) obj {
	o := obj{"type": "object", "properties": props, "additionalProperties": true}
	if desc != "" {
		o["description"] = desc
	}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

func ref(name string) obj { return obj{"$ref": "#/definitions/" + name} }

const schemaVersionDesc = "Changes only when the meaning of a field changes; new fields are added without a change."

// catalog is every detail-type the gateway emits, in a stable order.
func catalog() []eventType {
	var out []eventType
	out = append(out, shippingTypes()...)
	out = append(out, apsTypes()...)
	out = append(out, amazonPayTypes()...)
	return out
}

// deferred is metadata.deferred, present only on the events of a re-driven delivery
// (eventbus.Deferral).
func deferred() obj {
	return object("Present only when the delivery was deferred (a dependency was unavailable) and re-driven later; receivedAt is then when the re-drive processed it.", obj{
		"receivedAt": dateTime("When the gateway received the delivery and deferred it."),
	}, "receivedAt")
}

// accountPattern is what account.Check accepts: detail.metadata.account of every event.
const accountPattern = "^[a-z0-9][a-z0-9._-]{0,63}$"

func shippingTypes() []eventType {
	metadata := func(keyPattern string) obj {
		return object("", obj{
			"schemaVersion":  enum(schemaVersionDesc, shipping.SchemaVersion),
			"deliveryId":     pattern(".", "Amazon's envelope id; the same on every redelivery."),
			"idempotencyKey": pattern(keyPattern, "Unique per event, stable across redeliveries: consumers dedupe on it."),
			"receivedAt":     dateTime("When the gateway received the delivery."),
			"account":        pattern(accountPattern, "The label of the Shipping account whose credential delivered the event (\"default\" unless configured); not origin.account, Amazon's AWS account."),
			"origin":         ref("Origin"),
			"deferred":       deferred(),
		}, "schemaVersion", "deliveryId", "idempotencyKey", "receivedAt", "account", "origin")
	}
	origin := func(detailType obj) obj {
		return object("What Amazon's envelope said.", obj{
			"source":     enum("", shipping.SourceAmazonShipping),
			"detailType": detailType,
			"account":    str(""),
			"region":     str(""),
			"time":       dateTime(""),
		}, "source", "detailType", "account", "time")
	}
	otp := eventType{
		Source: shipping.EventSource, DetailType: shipping.DetailTypeOTP,
		Description: "An OTP Amazon Shipping generated for a delivery (one event per tracking ID).",
		Metadata:    metadata("^shipping:.+:.+$"),
		Definitions: obj{"Origin": origin(enum("", shipping.DetailTypePN))},
		Data: withOneOf(object("", obj{
			"trackingId":                pattern(".", ""),
			"alternateLegTrackingId":    str(""),
			"shipmentType":              enum("", "FORWARD", "REVERSE"),
			"eventCode":                 enum("", shipping.EventCodePinGenerated),
			"appId":                     str(""),
			"verificationCode":          pattern(`^\S+$`, "The OTP; present only when verificationCodeIncluded is true (IncludeOtpInEvents)."),
			"verificationCodeIncluded":  boolean("Whether the deployment puts the code in events."),
			"verificationCodeTTL":       obj{"type": "integer", "description": "Expiry of the code, Unix epoch milliseconds, as Amazon sent it."},
			"verificationCodeExpiresAt": dateTime("verificationCodeTTL as a timestamp."),
		}, "trackingId", "eventCode", "verificationCodeIncluded", "verificationCodeTTL", "verificationCodeExpiresAt"),
			obj{"properties": obj{"verificationCodeIncluded": obj{"enum": []bool{true}}}, "required": []string{"verificationCode"}},
			obj{"properties": obj{"verificationCodeIncluded": obj{"enum": []bool{false}}}, "not": obj{"required": []string{"verificationCode"}}},
		),
	}
	// No verificationCode, whatever IncludeOtpInEvents says: refused even by an open validator.
	expiredData := object("", obj{
		"trackingId":                pattern(".", ""),
		"alternateLegTrackingId":    str(""),
		"shipmentType":              enum("", "FORWARD", "REVERSE"),
		"eventCode":                 enum("", shipping.EventCodePinGenerated),
		"appId":                     str(""),
		"verificationCodeIncluded":  obj{"type": "boolean", "enum": []bool{false}, "description": "Always false: the code of an expired OTP is never published."},
		"verificationCodeTTL":       obj{"type": "integer", "description": "Expiry of the code, Unix epoch milliseconds, as Amazon sent it: not later than metadata.receivedAt."},
		"verificationCodeExpiresAt": dateTime("verificationCodeTTL as a timestamp."),
	}, "trackingId", "eventCode", "verificationCodeIncluded", "verificationCodeTTL", "verificationCodeExpiresAt")
	expiredData["not"] = obj{"required": []string{"verificationCode"}}
	expired := eventType{
		Source: shipping.EventSource, DetailType: shipping.DetailTypeOTPExpired,
		Description: "An OTP that had already expired when the gateway received it (one event per tracking ID), announced without its code.",
		Metadata:    metadata("^shipping:.+:.+$"),
		Definitions: obj{"Origin": origin(enum("", shipping.DetailTypePN))},
		Data:        expiredData,
	}
	other := eventType{
		Source: shipping.EventSource, DetailType: shipping.DetailTypeOther,
		Description: "An Amazon Shipping notification entry that carries no OTP, passed on whole.",
		Metadata:    metadata("^shipping:.+#[0-9]+$"),
		Definitions: obj{"Origin": origin(str(""))},
		Data: object("", obj{
			"trackingId": str(""),
			"eventCode":  str(""),
			"detail":     obj{"type": "object", "description": "Amazon's detail entry as sent (without verificationCode when IncludeOtpInEvents is false)."},
		}),
		FullOnly: []string{"detail"},
	}
	trackingData := func() obj {
		return object("", obj{
			"trackingId":             pattern(".", ""),
			"alternateLegTrackingId": str(""),
			"shipmentType":           str("FORWARD or REVERSE as Amazon sent it (not checked)."),
			"status":                 str(""),
			"eventCode":              str("Amazon's event code; unknown codes are passed on."),
			"eventTime":              dateTime("The entry's eventTime in UTC; absent when it was missing or unparseable."),
			"estimatedArrival":       str("The latest estimated arrival as sent (its field name is unconfirmed)."),
			"terminal":               boolean("Delivered, Lost, Destroyed or PickupCancelled: no further tracking is expected."),
			"detail":                 obj{"type": "object", "description": "Amazon's detail entry as sent."},
		}, "trackingId", "terminal", "detail")
	}
	updated := eventType{
		Source: shipping.EventSource, DetailType: shipping.DetailTypeTrackingUpdated,
		Description: "A tracking entry that is now the latest state of its tracking ID (TrackingTable).",
		Metadata:    metadata("^shipping:.+:tracking:.+#[0-9]+$"),
		Definitions: obj{"Origin": origin(enum("", shipping.DetailTypeTracking))},
		Data:        trackingData(),
		FullOnly:    []string{"detail"},
	}
	stale := eventType{
		Source: shipping.EventSource, DetailType: shipping.DetailTypeTrackingStale,
		Description: "A tracking entry that arrived after a later state of its tracking ID and changed nothing.",
		Metadata:    metadata("^shipping:.+:tracking:.+#[0-9]+$"),
		Definitions: obj{"Origin": origin(enum("", shipping.DetailTypeTracking))},
		Data:        trackingData(),
		FullOnly:    []string{"detail"},
	}
	ndr := eventType{
		Source: shipping.EventSource, DetailType: shipping.DetailTypeNDR,
		Description: "A non-delivery report (India); the merchant answers with submitNdrFeedback.",
		Metadata:    metadata("^shipping:.+:ndr:.+#[0-9]+$"),
		Definitions: obj{"Origin": origin(str(""))},
		Data: object("", obj{
			"trackingId": pattern(".", ""),
			"eventCode":  str(""),
			"status":     str(""),
			"reasons":    obj{"type": "object", "description": "The entry's ndr… and …reason… fields as sent; empty when it has none."},
			"detail":     obj{"type": "object", "description": "Amazon's detail entry as sent."},
		}, "trackingId", "reasons", "detail"),
		FullOnly: []string{"reasons", "detail"},
	}
	return []eventType{otp, other, expired, updated, stale, ndr}
}

// apsCardFields are the parameters that reach an event only with ApsIncludeCardFields.
var apsCardFields = []string{"card_number", "card_holder_name", "expiry_date", "card_bin"}

func apsTypes() []eventType {
	// Every status the gateway maps, found through aps.OutcomeOf as a message would reach it.
	type known struct{ status, desc, detailType string }
	var outcomes []known
	var statuses []string
	for i := range 100 {
		s := fmt.Sprintf("%02d", i)
		if o := aps.OutcomeOf(map[string]string{"status": s}); o.DetailType != aps.DetailTypeUnknown {
			outcomes = append(outcomes, known{s, o.Description, o.DetailType})
			statuses = append(statuses, s)
		}
	}
	var cardRules []any
	for _, f := range apsCardFields {
		cardRules = append(cardRules, obj{"required": []string{f}})
	}
	metadata := object("", obj{
		"schemaVersion":  enum(schemaVersionDesc, aps.SchemaVersion),
		"idempotencyKey": pattern("^aps:[0-9a-f]{64}$", "The same for every redelivery of one message: consumers dedupe on it."),
		"feedback":       enum("The APS route the message first arrived on.", string(aps.TransactionFeedback), string(aps.NotificationFeedback)),
		"receivedAt":     dateTime("When the gateway received the message."),
		"account":        pattern(accountPattern, "The label of the phrase set (merchant) that verified the message (\"default\" unless configured)."),
		"deferred":       deferred(),
	}, "schemaVersion", "idempotencyKey", "feedback", "receivedAt", "account")
	amount := object("The transaction amount.", obj{
		"minorUnits": obj{"type": "integer", "minimum": 0},
		"value":      pattern(`^[0-9]+(\.[0-9]+)?$`, "minorUnits as a decimal string."),
		"currency":   pattern("^[A-Z]{3}$", "ISO 4217 code."),
		"exponent":   obj{"type": "integer", "enum": []int{0, 2, 3}},
	}, "minorUnits", "value", "currency", "exponent")
	combinationDesc := "Whether the gateway knows the message's operation (command) with its status; absent when the message names no operation."
	// command and combination are what a by-command detail-type adds: nil keeps them optional.
	data := func(status, description, responseCode, command, combination obj) obj {
		props := obj{
			"merchantReference":  str(""),
			"fortId":             str(""),
			"command":            str("command, or service_command."),
			"status":             status,
			"statusDescription":  description,
			"responseCode":       responseCode,
			"responseMessage":    str(""),
			"amount":             ref("Amount"),
			"paymentOption":      str(""),
			"digitalWallet":      str("digital_wallet: APPLE_PAY for an Apple Pay result."),
			"combination":        enum(combinationDesc, aps.CombinationKnown, aps.CombinationUnknown),
			"cardFieldsIncluded": boolean("Whether card fields are kept in fields (ApsIncludeCardFields)."),
			"fields": obj{
				"type": "object", "description": "Every parameter APS sent, but the signature (and card fields unless included).",
				"additionalProperties": obj{"type": "string"},
				"not":                  obj{"required": []string{"signature"}},
			},
		}
		required := []string{"status", "statusDescription", "cardFieldsIncluded"}
		if command != nil {
			props["command"], props["combination"] = command, combination
			required = append(required, "command", "combination")
		}
		return withOneOf(object("", props, required...),
			obj{"properties": obj{"cardFieldsIncluded": obj{"enum": []bool{true}}}},
			obj{"properties": obj{"cardFieldsIncluded": obj{"enum": []bool{false}}, "fields": obj{"not": obj{"anyOf": cardRules}}}},
		)
	}
	byStatus := func(k known) eventType {
		return eventType{
			Source: aps.EventSource, DetailType: k.detailType,
			Description: fmt.Sprintf("An APS message with status %s (%s).", k.status, k.desc),
			Metadata:    metadata, Definitions: obj{"Amount": amount}, FullOnly: []string{"fields"},
			Data: data(enum("", k.status), enum("", k.desc), pattern("^"+k.status+"[0-9]{3}$", ""), nil, nil),
		}
	}
	var out []eventType
	for _, k := range outcomes {
		out = append(out, byStatus(k))
	}
	unknown := pattern("^[0-9]{2}$", "The raw status code, kept.")
	unknown["not"] = obj{"enum": statuses}
	out = append(out, eventType{
		Source: aps.EventSource, DetailType: aps.DetailTypeUnknown,
		Description: "An APS message with a status the gateway does not map to a detail-type: never dropped.",
		Metadata:    metadata, Definitions: obj{"Amount": amount}, FullOnly: []string{"fields"},
		Data: data(unknown, enum("", aps.OutcomeOf(map[string]string{"status": "99"}).Description), pattern("^[0-9]{5}$", ""), nil, nil),
	})
	// The detail-types by command (ApsDetailTypesByCommand=true) that no status has alone.
	descOf := map[string]string{}
	for _, k := range outcomes {
		descOf[k.status] = k.desc
	}
	for _, c := range aps.Combinations() {
		if slices.ContainsFunc(out, func(e eventType) bool { return e.DetailType == c.DetailType }) {
			continue
		}
		out = append(out, eventType{
			Source: aps.EventSource, DetailType: c.DetailType,
			Description: fmt.Sprintf("An APS message with command %s and status %s (%s), published so with ApsDetailTypesByCommand=true.", c.Operation, c.Status, descOf[c.Status]),
			Metadata:    metadata, Definitions: obj{"Amount": amount}, FullOnly: []string{"fields"},
			Data: data(enum("", c.Status), enum("", descOf[c.Status]), pattern("^"+c.Status+"[0-9]{3}$", ""),
				enum("", c.Operation), enum(combinationDesc, aps.CombinationKnown)),
		})
	}
	mismatch := pattern("^[0-9]{2}$", "A status the gateway knows.")
	mismatch["enum"] = statuses
	out = append(out, eventType{
		Source: aps.EventSource, DetailType: aps.DetailTypeCombinationUnknown,
		Description: "An APS message whose operation (command, else service_command) the gateway does not know with its status, published so with ApsDetailTypesByCommand=true: announced, never dropped.",
		Metadata:    metadata, Definitions: obj{"Amount": amount}, FullOnly: []string{"fields"},
		Data: data(mismatch, str(""), pattern("^[0-9]{5}$", ""), pattern(".", "command, or service_command."), enum(combinationDesc, aps.CombinationUnknown)),
	})
	return out
}

func amazonPayTypes() []eventType {
	metadata := object("", obj{
		"schemaVersion": enum(schemaVersionDesc, amazonpay.SchemaVersion),
		"idempotencyKey": pattern("^amazonpay:.+$", `"amazonpay:" + the SNS MessageId; for the Amazon Pay API v2 detail-types "amazonpay:v2:" + the MessageId, `+
			`and ":enriched" appended for a later enrichment's event. Unique per event: consumers dedupe on it.`),
		"messageId":  pattern(".", "The SNS MessageId."),
		"topicArn":   pattern("^arn:[^:]+:sns:", ""),
		"subject":    str(""),
		"sentAt":     dateTime("The SNS Timestamp."),
		"receivedAt": dateTime("When the gateway received the message."),
		"account":    pattern(accountPattern, "The label of the merchant account the verified topic is configured for (\"default\" unless configured)."),
		"deferred":   deferred(),
	}, "schemaVersion", "idempotencyKey", "messageId", "topicArn", "sentAt", "receivedAt", "account")
	fields := func(kind obj, message obj) obj {
		return obj{
			"kind":               kind,
			"notificationType":   str("India: ChargeNotification, RefundNotification; Amazon Pay API v2: STATE_CHANGE or ATTRIBUTE_CHANGE."),
			"objectType":         str("Amazon Pay API v2: CHARGE, REFUND, CHARGE_PERMISSION, CHARGEBACK."),
			"objectId":           str(""),
			"chargePermissionId": str(""),
			"notificationId":     str("Amazon Pay API v2: random, for tracking."),
			"merchantId":         str(""),
			"message":            message,
			"enrichment":         ref("Enrichment"),
			"state":              ref("State"),
		}
	}
	// The state is there exactly when the enrichment says "enriched" (a reduced event has neither).
	stateRule := func(o obj) obj {
		return withOneOf(o,
			obj{"properties": obj{"enrichment": obj{"properties": obj{"status": obj{"enum": []string{amazonpay.EnrichmentEnriched}}}}}, "required": []string{"state"}},
			obj{"properties": obj{"enrichment": obj{"properties": obj{"status": obj{"not": obj{"enum": []string{amazonpay.EnrichmentEnriched}}}}}}, "not": obj{"required": []string{"state"}}},
		)
	}
	price := object("An amount: a decimal string (never a float) and its currency.", obj{
		"amount":       pattern(`^-?[0-9]+(\.[0-9]+)?$`, ""),
		"currencyCode": pattern("^[A-Z]{3}$", ""),
	}, "amount", "currencyCode")
	anyObject := func(desc string) obj { return obj{"type": "object", "description": desc} }
	defs := obj{
		"Enrichment": object("Whether the gateway fetched the object's state from the Amazon Pay API (Amazon Pay API v2 messages only).", obj{
			"status": enum("enriched: data.state was fetched; disabled: no API key is configured, or the object has no GET (chargebacks), and no call was made; failed: the call failed (data.state is missing).",
				amazonpay.EnrichmentEnriched, amazonpay.EnrichmentDisabled, amazonpay.EnrichmentFailed),
			"reason":            str("Why there is no state: a code (no_api_key, no_get_api, timeout, api_unavailable, api_key_refused, api_key_unavailable, invalid_response, invalid_object_id, no_time_left), then details."),
			"retryPending":      boolean("The message is kept (quarantine reason enrichment_pending) for a later enrichment, which publishes one more event."),
			"fetchedAt":         dateTime("When the state was fetched."),
			"buyerDataIncluded": boolean("data.state may hold buyer and address fields (AmazonPayIncludeBuyerData)."),
			"lateFor":           pattern("^amazonpay:v2:.+$", "In a later enrichment's event: the idempotencyKey of the event it completes."),
		}, "status"),
		"State": object("The allow-listed part of the fetched Charge, Refund or Charge Permission.", obj{
			"chargeId":             str(""),
			"refundId":             str(""),
			"chargePermissionId":   str(""),
			"chargePermissionType": str(""),
			"merchantReferenceId":  str("merchantMetadata.merchantReferenceId."),
			"statusDetails": object("", obj{
				"state":                pattern(".", "Charge: AuthorizationInitiated, Authorized, CaptureInitiated, Captured, Canceled, Declined; Refund: RefundInitiated, Refunded, Declined; Charge Permission: Chargeable, NonChargeable, Closed. Treat others as not final."),
				"reasonCode":           str(""),
				"reasonDescription":    str(""),
				"reasons":              obj{"type": "array", "items": object("", obj{"reasonCode": str(""), "reasonDescription": str("")}, "reasonCode")},
				"lastUpdatedTimestamp": str("As Amazon writes it (20190714T155300Z)."),
			}, "state"),
			"chargeAmount":        ref("Price"),
			"captureAmount":       ref("Price"),
			"refundedAmount":      ref("Price"),
			"convertedAmount":     ref("Price"),
			"refundAmount":        ref("Price"),
			"limits":              object("", obj{"amountLimit": ref("Price"), "amountBalance": ref("Price")}),
			"presentmentCurrency": str(""),
			"creationTimestamp":   str(""),
			"expirationTimestamp": str(""),
			"releaseEnvironment":  str("Sandbox or Live."),
			"buyer":               anyObject("Only with AmazonPayIncludeBuyerData."),
			"shippingAddress":     anyObject("Only with AmazonPayIncludeBuyerData."),
			"billingAddress":      anyObject("Only with AmazonPayIncludeBuyerData."),
		}, "statusDetails"),
		"Price": price,
	}
	parsed := obj{"type": "object", "description": "The SNS Message, parsed as JSON."}
	text := obj{"type": "string", "description": "The SNS Message, as text."}
	either := obj{"type": []string{"object", "string"}, "description": "The SNS Message parsed as JSON, or as text when it is not a JSON object."}
	resources := obj{"type": "array", "minItems": 1, "maxItems": 1, "items": pattern("^arn:[^:]+:sns:", "The SNS topic.")}
	mk := func(detailType, desc, kind string, message obj) eventType {
		full := []string{"message"}
		if message["type"] == "string" {
			full = nil // a short text is kept in a reduced event
		}
		data := object("", fields(enum("", kind), message), "kind")
		if message["type"] == "string" {
			delete(data["properties"].(obj), "enrichment")
			delete(data["properties"].(obj), "state")
			return eventType{Source: amazonpay.EventSource, DetailType: detailType, Description: desc,
				Metadata: metadata, Data: data, FullOnly: full, Resources: resources}
		}
		return eventType{Source: amazonpay.EventSource, DetailType: detailType, Description: desc,
			Metadata: metadata, Data: stateRule(data), FullOnly: full, Resources: resources, Definitions: defs}
	}
	v2 := func(detailType, desc, kind string) eventType {
		return eventType{Source: amazonpay.EventSource, DetailType: detailType, Description: desc,
			Metadata: metadata, Data: stateRule(object("", fields(enum("", kind), parsed), "kind", "objectType")),
			FullOnly: []string{"message", "enrichment"}, Resources: resources, Definitions: defs}
	}
	deprecated := func(about, instead string) string {
		return " Also published, for one release, for an Amazon Pay API v2 message about " + about +
			" (deprecated: there it means only that the object changed, and its state is unknown unless enrichment.status is enriched); consume " + instead + " instead."
	}
	return []eventType{
		mk(amazonpay.DetailTypeCharge, "An Amazon Pay (India) IPN about a completed charge."+deprecated("a charge", amazonpay.DetailTypeChargeChanged), "charge", parsed),
		mk(amazonpay.DetailTypeRefund, "An Amazon Pay (India) IPN about a completed refund."+deprecated("a refund", amazonpay.DetailTypeRefundChanged), "refund", parsed),
		mk(amazonpay.DetailTypeIPN, "Any other Amazon Pay IPN."+deprecated("a charge permission or a chargeback", amazonpay.DetailTypeChargePermissionChanged+" or "+amazonpay.DetailTypeChargebackChanged), "other", either),
		mk(amazonpay.DetailTypeSubscribed, "The gateway confirmed the SNS subscription of an IPN topic.", "subscription", text),
		mk(amazonpay.DetailTypeUnsubscribed, "SNS confirmed the end of an IPN topic's subscription.", "unsubscribe", text),
		v2(amazonpay.DetailTypeChargeChanged, "An Amazon Pay API v2 charge changed (its state or an attribute): data.state is the fetched charge when enrichment.status is enriched.", "charge"),
		v2(amazonpay.DetailTypeRefundChanged, "An Amazon Pay API v2 refund changed: data.state is the fetched refund when enrichment.status is enriched.", "refund"),
		v2(amazonpay.DetailTypeChargePermissionChanged, "An Amazon Pay API v2 charge permission changed: data.state is the fetched charge permission when enrichment.status is enriched.", "charge-permission"),
		v2(amazonpay.DetailTypeChargebackChanged, "An Amazon Pay API v2 chargeback changed. Amazon Pay documents no GET for a chargeback: enrichment.status is disabled and there is no data.state.", "chargeback"),
	}
}

// withOneOf adds rules of which exactly one holds.
func withOneOf(o obj, rules ...obj) obj {
	o["oneOf"] = rules
	return o
}

var nonAlnum = regexp.MustCompile(`[^A-Za-z0-9]`)

// Name is the registry's schema name, after EventBridge's own "<source>@<DetailType>".
func (e eventType) Name() string { return e.Source + "@" + nonAlnum.ReplaceAllString(e.DetailType, "") }

// LogicalID is the template resource of the schema.
func (e eventType) LogicalID() string {
	return "EventSchema" + nonAlnum.ReplaceAllString(e.DetailType, "")
}

// File is the schema's file name in docs/schemas.
func (e eventType) File() string { return e.Name() + ".json" }

// Document is the schema of the whole event as a consumer's target receives it.
func (e eventType) Document() obj {
	resources := e.Resources
	if resources == nil {
		resources = obj{"type": "array", "items": obj{"type": "string"}}
	}
	full := obj{"description": "The whole event.", "not": obj{"required": []string{"offloadedPayload"}}}
	if len(e.FullOnly) > 0 {
		full["properties"] = obj{"data": obj{"required": e.FullOnly}}
	}
	prefix := regexp.QuoteMeta(eventbus.OffloadPrefix(e.Source))
	defs := obj{
		"Detail": withOneOf(object("", obj{
			"metadata":         ref("Metadata"),
			"data":             ref("Data"),
			"offloadedPayload": ref("OffloadedPayload"),
		}, "metadata", "data"),
			full,
			obj{"description": "An oversized event: metadata whole, data without its objects and arrays (and any field over 1 KB); the full detail is at offloadedPayload.location.",
				"required": []string{"offloadedPayload"}},
		),
		"Metadata": e.Metadata,
		"Data":     e.Data,
		"OffloadedPayload": object("Where the full detail of an oversized event is stored.", obj{
			"location": pattern("^s3://[^/]+/"+prefix+"[0-9a-f]{64}\\.json$", "s3://bucket/key of the full detail, as JSON."),
			"bytes":    obj{"type": "integer", "minimum": 1},
			"sha256":   pattern("^[0-9a-f]{64}$", "Hex SHA-256 of the full detail."),
		}, "location", "bytes", "sha256"),
	}
	for k, v := range e.Definitions {
		defs[k] = v
	}
	return obj{
		"$schema":     "http://json-schema.org/draft-04/schema#",
		"title":       e.Name(),
		"description": e.Description + " Source " + e.Source + ", detail-type " + e.DetailType + ".",
		"type":        "object",
		"properties": obj{
			"version":     str(""),
			"id":          str(""),
			"detail-type": enum("", e.DetailType),
			"source":      enum("", e.Source),
			"account":     str(""),
			"time":        dateTime(""),
			"region":      str(""),
			"resources":   resources,
			"detail":      ref("Detail"),
		},
		"required":             []string{"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"},
		"additionalProperties": true,
		"definitions":          defs,
	}
}

// checkCatalog refuses two schemas for one name.
func checkCatalog(types []eventType) error {
	var names []string
	for _, e := range types {
		if slices.Contains(names, e.Name()) || strings.ContainsAny(e.Name(), " /") {
			return fmt.Errorf("schema name %q is not unique or not a file name", e.Name())
		}
		names = append(names, e.Name())
	}
	return nil
}
