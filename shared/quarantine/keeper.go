package quarantine

import (
	"context"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
)

type recordWriter interface {
	PutAt(ctx context.Context, key string, r Record) error
}

// putTimeout bounds writing a record; it fits in httpapi.AnswerReserve.
const putTimeout = 400 * time.Millisecond

// credentialHeaders never go into a record, whatever the function's authentication settings.
var credentialHeaders = []string{"authorization", "proxy-authorization", "cookie", "x-api-key", "x-amz-security-token"}

// Keeper quarantines one webhook's deliveries: the pipeline calls Keep with the rejection it
// would have sent. With Place DeferredPrefix it defers them instead: same record, same redaction,
// answered "deferred".
type Keeper struct {
	Store    recordWriter
	Webhook  string // "shipping", "aps", "amazon-pay"
	Function string // the Lambda function's name, for the record
	// Place is where the records go: Prefix ("" too) or DeferredPrefix.
	Place string
	// SecretHeaders and SecretQuery name further credentials to strip (the API key header, the
	// query-string parameter): configurable names are not in credentialHeaders.
	SecretHeaders []string
	SecretQuery   []string
	Now           func() time.Time
}

// Reason is why a delivery is quarantined: the rejection it would have been.
type Reason struct {
	Error   string // the error code ("invalid_payload")
	Message string
	Field   string
}

// Keep quarantines req, which authenticated but cannot be processed, for the reason why, and
// answers 202 with that reason and the quarantine key. If the quarantine cannot be written it
// answers 503, so that the sender keeps the delivery. replay says the delivery is being replayed
// from the quarantine, for the log.
func (k *Keeper) Keep(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, why Reason, replay bool) httpapi.Reply {
	kept, ok := k.Kept(ctx, log, req, why, replay)
	if !ok {
		return httpapi.ReplyRetryLater("the delivery could not be processed or kept; retry later")
	}
	return httpapi.ReplyJSON(202, kept, kept.Status, kept.Error)
}

// Kept is Keep's work, for a caller that puts the quarantine's answer into an answer of its own:
// the 202 body, or false when the quarantine could not be written (logged).
func (k *Keeper) Kept(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, why Reason, replay bool) (Answer, bool) {
	now := time.Now
	if k.Now != nil {
		now = k.Now
	}
	place, status := k.Place, "quarantined"
	if place == "" {
		place = Prefix
	}
	// Kept even when the work ran out of time (a panic late in the budget), bounded like the
	// idempotency release so that the answer still goes out. A deferral, answered 2xx, is kept
	// within the caller's deadline only.
	budget := max(putTimeout, remaining(ctx))
	if place == DeferredPrefix {
		status, budget = "deferred", remaining(ctx)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	defer cancel()
	key := KeyIn(place, k.Webhook, req)
	err := k.Store.PutAt(ctx, key, Record{
		Webhook:       k.Webhook,
		Function:      k.Function,
		Account:       account.Of(ctx),
		Reason:        why.Error,
		Field:         why.Field,
		Message:       why.Message,
		QuarantinedAt: now().UTC(),
		Request:       k.redact(req),
	})
	if err != nil {
		log.Error("quarantine unavailable", "place", place, "reason", why.Error, "error", err)
		return Answer{}, false
	}
	if status == "deferred" {
		log.Warn("delivery deferred", "reason", why.Error, "deferredKey", key)
		return Answer{Status: status, Error: why.Error, Message: why.Message, DeferredKey: key}, true
	}
	log.Warn("delivery quarantined", "reason", why.Error, "field", why.Field, "quarantineKey", key, "replay", replay)
	return Answer{Status: status, Error: why.Error, Message: why.Message, Field: why.Field, QuarantineKey: key}, true
}

// Answer is the 202 body of a quarantined (or deferred) delivery: the rejection it would have
// been, and where it is kept.
type Answer struct {
	Status        string `json:"status"` // "quarantined" or "deferred"
	Error         string `json:"error"`
	Message       string `json:"message"`
	Field         string `json:"field,omitempty"`
	QuarantineKey string `json:"quarantineKey,omitempty"`
	DeferredKey   string `json:"deferredKey,omitempty"`
}

func (k *Keeper) redact(req *events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
	r := *req
	r.Headers = map[string]string{}
	for name, v := range req.Headers {
		if !slices.Contains(credentialHeaders, strings.ToLower(name)) && !slices.ContainsFunc(k.SecretHeaders, func(s string) bool { return strings.EqualFold(s, name) }) {
			r.Headers[name] = v
		}
	}
	r.Cookies = nil
	if len(k.SecretQuery) > 0 && (req.RawQueryString != "" || len(req.QueryStringParameters) > 0) {
		r.QueryStringParameters = map[string]string{}
		for name, v := range req.QueryStringParameters {
			if !slices.Contains(k.SecretQuery, name) {
				r.QueryStringParameters[name] = v
			}
		}
		q, _ := url.ParseQuery(req.RawQueryString)
		for _, name := range k.SecretQuery {
			q.Del(name)
		}
		r.RawQueryString = q.Encode()
	}
	return r
}

// remaining is the time left before ctx's deadline (0 without one).
func remaining(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d)
	}
	return 0
}
