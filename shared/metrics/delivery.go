package metrics

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Namespace is the CloudWatch namespace of the gateway's metrics (template.yaml's alarms and
// dashboard use the same literal).
const Namespace = "AmazonWebhookGateway"

// Dimension names.
const (
	DimWebhook = "Webhook"
	DimOutcome = "Outcome"
	DimReason  = "Reason"
)

// Metric names.
const (
	Deliveries      = "Deliveries"
	OtpsStoredName  = "OtpsStored"
	OtpsStaleName   = "OtpsStale"
	EventsPublished = "EventsPublished"
	PublishRetries  = "PublishRetries"
	Latency         = "Latency"
	// DeferredAge is, on a re-drive, how long ago the delivery was deferred (seconds; a live
	// delivery has none): its Maximum is the age of the oldest deferred delivery being re-driven.
	DeferredAge = "DeferredAge"
)

// Outcome is what a delivery came to, as the sender sees it (a bounded dimension value).
type Outcome string

// The outcomes.
const (
	Accepted     Outcome = "accepted"
	Duplicate    Outcome = "duplicate"
	Quarantined  Outcome = "quarantined"
	Unauthorized Outcome = "unauthorized"
	Forbidden    Outcome = "forbidden"   // Amazon Pay: a topic not on the allow-list (403)
	TooLarge     Outcome = "too_large"   // 413
	Rejected     Outcome = "rejected"    // any other 4xx: 400/404/405/409/415
	Unavailable  Outcome = "unavailable" // 429 and 5xx: the sender retries
	// AuthUnavailable: 503 because authentication could not read its secret (Secrets Manager
	// denied it, a missing secret, its KMS key, a malformed value); the sender retries. Counted
	// apart from Unavailable so that the 5xx alarm leaves it out: a blip heals within
	// secrets.FailedReadFloor, and its own alarm pages when it lasts.
	AuthUnavailable Outcome = "auth_unavailable"
	// Deferred: valid, but a dependency was unavailable; kept and re-driven automatically (202).
	Deferred Outcome = "deferred"
	// DeadLettered: a deferred delivery that could not be re-driven within the retention, moved
	// to the dead-letter place.
	DeadLettered Outcome = "dead_lettered"
)

// Outcomes lists every outcome.
var Outcomes = []Outcome{Accepted, Duplicate, Quarantined, Unauthorized, Forbidden, TooLarge, Rejected, Unavailable, AuthUnavailable, Deferred, DeadLettered}

// CodeAuthUnavailable is the code an answer gives its metrics (httpapi.Reply.Code) in place of its
// body's "temporarily_unavailable" when authentication could not read its secret: the sender sees
// the same 503, Classify counts it under AuthUnavailable. It is no Reason: the reason stays the
// body's code.
const CodeAuthUnavailable = "auth_unavailable"

// ReasonNone is the Reason of an accepted or duplicate delivery; ReasonOther of an error code
// outside Reasons.
const (
	ReasonNone  = "none"
	ReasonOther = "other"
)

// Reasons is the closed set of error codes the gateway answers with (the body's "error"), each a
// Reason dimension value as it is. Any other code is recorded as ReasonOther, so that the number
// of metrics stays bounded whatever a future answer says. A test fails when the code answers
// with a code missing here.
var Reasons = map[string]bool{
	"unauthorized":            true,
	"forbidden":               true,
	"payload_too_large":       true,
	"method_not_allowed":      true,
	"not_found":               true,
	"wrong_function":          true,
	"unsupported_media_type":  true,
	"invalid_encoding":        true,
	"invalid_payload":         true,
	"invalid_subscription":    true,
	"merchant_mismatch":       true,
	"ambiguous_parameters":    true,
	"in_progress":             true,
	"temporarily_unavailable": true,
	"internal_error":          true,
	"retention_exceeded":      true,
}

// Classify maps a delivery's answer — its HTTP status, the body's "status" and "error" (or
// CodeAuthUnavailable) — to its outcome and reason. It is the one place that does.
func Classify(status int, bodyStatus, code string) (Outcome, string) {
	reason := code
	if !Reasons[reason] {
		reason = ReasonOther
	}
	switch {
	case status == 200 && bodyStatus == "duplicate":
		return Duplicate, ReasonNone
	case status == 202 && bodyStatus == "deferred":
		return Deferred, reason
	case status == 200 && bodyStatus == "dead_lettered":
		return DeadLettered, reason
	case status >= 200 && status < 300 && status != 202:
		return Accepted, ReasonNone
	case status == 202:
		return Quarantined, reason
	case status == 401:
		return Unauthorized, reason
	case status == 403:
		return Forbidden, reason
	case status == 413:
		return TooLarge, reason
	case status == 503 && code == CodeAuthUnavailable:
		return AuthUnavailable, "temporarily_unavailable"
	case status == 429 || status >= 500:
		return Unavailable, reason
	case status >= 400:
		return Rejected, reason
	default:
		// No answer is 1xx or 3xx; if one were, the sender did not get what it needs.
		return Unavailable, ReasonOther
	}
}

// Counter is a count a delivery adds to as it goes.
type Counter int

// The counters.
const (
	OtpsStored     Counter = iota // Shipping: OTPs written as the current one
	OtpsStale                     // Shipping: OTPs older than the stored one, discarded
	EventPublished                // events PutEvents accepted
	PublishRetry                  // PutEvents attempts beyond the first
	numCounters
)

var counterNames = [numCounters]string{OtpsStoredName, OtpsStaleName, EventsPublished, PublishRetries}

// Delivery collects what one delivery counts; safe for concurrent use.
type Delivery struct {
	counts [numCounters]atomic.Int64
	replay atomic.Bool
	// redrive is set on a re-drive of a deferred delivery; age is how long ago it was deferred.
	redrive atomic.Bool
	age     atomic.Int64 // milliseconds
	// awsRequestID is the Lambda invocation's request id ("" outside Lambda).
	awsRequestID string
}

type deliveryKey struct{}

// Start returns ctx carrying a new Delivery, which Add counts into. The Delivery keeps the
// invocation's Lambda request id, if ctx has one (lambdacontext).
func Start(ctx context.Context) (context.Context, *Delivery) {
	d := &Delivery{}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		d.awsRequestID = lc.AwsRequestID
	}
	return context.WithValue(ctx, deliveryKey{}, d), d
}

// Add adds n to ctx's delivery's counter c; without a Delivery in ctx it does nothing.
func Add(ctx context.Context, c Counter, n int) {
	if d, ok := ctx.Value(deliveryKey{}).(*Delivery); ok && n != 0 {
		d.counts[c].Add(int64(n))
	}
}

// MarkReplay records that ctx's delivery is a replay from the quarantine (a property of the
// object, not a dimension).
func MarkReplay(ctx context.Context) {
	if d, ok := ctx.Value(deliveryKey{}).(*Delivery); ok {
		d.replay.Store(true)
	}
}

// MarkRedrive records that ctx's delivery is a re-drive of one deferred age ago.
func MarkRedrive(ctx context.Context, age time.Duration) {
	if d, ok := ctx.Value(deliveryKey{}).(*Delivery); ok {
		d.redrive.Store(true)
		d.age.Store(max(age, 0).Milliseconds())
	}
}

// Count is the value of counter c so far.
func (d *Delivery) Count(c Counter) int64 { return d.counts[c].Load() }

// Answer is how a delivery ended.
type Answer struct {
	Status     int    // HTTP status
	BodyStatus string // the body's "status"
	Error      string // the body's "error", or CodeAuthUnavailable
	// RequestID is API Gateway's id of the request answered; Account the label of the account
	// that authenticated it ("" before authentication). The record carries each when it is set.
	RequestID, Account string
}

// Level is the log level of a delivery's record: ERROR for a 5xx (but the 503 of a secret that
// could not be read, CodeAuthUnavailable, which its cache logs at ERROR once per
// secrets.FailedReadFloor, not once per answer), WARN for a 4xx, INFO otherwise.
func (a Answer) Level() slog.Level {
	switch {
	case a.Status >= 500 && a.Error != CodeAuthUnavailable:
		return slog.LevelError
	case a.Status >= 400:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// RecordMessage is the "msg" of a delivery's record, the line that ends every delivery.
const RecordMessage = "delivery answered"

// directives are the record's metric directives: Deliveries under its outcome and reason, and
// under Webhook the latency, DeferredAge on a re-drive, and the counters the record carries (in
// counterNames' order). Only metrics the record holds are declared, as EMF requires.
func directives(counted [numCounters]bool, redrive bool) []Directive {
	perWebhook := make([]Metric, 0, 2+numCounters)
	if redrive {
		perWebhook = append(perWebhook, Metric{Name: DeferredAge, Unit: Seconds})
	}
	perWebhook = append(perWebhook, Metric{Name: Latency, Unit: Milliseconds})
	for c, name := range counterNames {
		if counted[c] {
			perWebhook = append(perWebhook, Metric{Name: name, Unit: Count})
		}
	}
	return []Directive{
		{Namespace: Namespace, Dimensions: [][]string{{DimWebhook, DimOutcome}, {DimWebhook, DimOutcome, DimReason}}, Metrics: []Metric{{Name: Deliveries, Unit: Count}}},
		{Namespace: Namespace, Dimensions: [][]string{{DimWebhook}}, Metrics: perWebhook},
	}
}

// Object is the delivery's record: one object that is both its EMF metrics and its log line.
//
// Metrics: Deliveries = 1 under its outcome and reason, and the latency; each counter the delivery
// counted something in (a Shipping delivery's OTPs, the events published, the publish retries),
// DeferredAge on a re-drive. A counter the record leaves out counted 0: every dashboard and
// alarm reads sums, or the maximum, which a missing 0 does not change.
//
// Log members, at the root beside them: level (Answer.Level), msg (RecordMessage), status,
// requestId, awsRequestId and account when known, replay and redrive when true. What does not
// apply is left out rather than written as 0 or false: each line is paid for as log data.
func (d *Delivery) Object(webhook string, at time.Time, a Answer, latency time.Duration) Object {
	outcome, reason := Classify(a.Status, a.BodyStatus, a.Error)
	members := map[string]any{
		DimWebhook: webhook,
		DimOutcome: string(outcome),
		DimReason:  reason,
		Deliveries: 1,
		Latency:    float64(latency.Microseconds()) / 1000,
		// Properties, not dimensions: searchable in Logs Insights, not billed.
		"level":  a.Level().String(),
		"msg":    RecordMessage,
		"status": a.Status,
	}
	if a.RequestID != "" {
		members["requestId"] = a.RequestID
	}
	if d.awsRequestID != "" {
		members["awsRequestId"] = d.awsRequestID
	}
	if a.Account != "" {
		members["account"] = a.Account
	}
	if d.replay.Load() {
		members["replay"] = true
	}
	redrive := d.redrive.Load()
	if redrive {
		members["redrive"] = true
		members[DeferredAge] = float64(d.age.Load()) / 1000
	}
	var counted [numCounters]bool
	for c, name := range counterNames {
		if n := d.counts[c].Load(); n != 0 {
			counted[c] = true
			members[name] = n
		}
	}
	return Object{Timestamp: at, Directives: directives(counted, redrive), Members: members}
}
