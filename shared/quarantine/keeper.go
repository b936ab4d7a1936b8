package quarantine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
)

type recordWriter interface {
	Put(ctx context.Context, r Record) (string, error)
}

type recordReader interface {
	Get(ctx context.Context, key string) (Record, error)
}

// putTimeout bounds writing a record; it fits in httpapi.AnswerReserve.
const putTimeout = 400 * time.Millisecond

// credentialHeaders never go into a record, whatever the function's authentication settings.
var credentialHeaders = []string{"authorization", "proxy-authorization", "cookie", "x-api-key", "x-amz-security-token"}

// Keeper quarantines one webhook's deliveries. Handlers call Keep with the rejection they would
// have sent, and Guard around the work that follows authentication.
type Keeper struct {
	Store    recordWriter
	Webhook  string // "shipping", "aps", "amazon-pay"
	Function string // the Lambda function's name, for the record
	// SecretHeaders and SecretQuery name further credentials to strip (the API key header, the
	// query-string parameter): configurable names are not in credentialHeaders.
	SecretHeaders []string
	SecretQuery   []string
	Now           func() time.Time
}

// Keep quarantines req, which authenticated but cannot be processed, for the reason rejection
// states (an httpapi error body), and answers 202 with that reason and the quarantine key. If the
// quarantine cannot be written it answers 503, so that the sender keeps the delivery.
func (k *Keeper) Keep(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, rejection events.APIGatewayV2HTTPResponse) events.APIGatewayV2HTTPResponse {
	var why httpapi.ErrorBody
	_ = json.Unmarshal([]byte(rejection.Body), &why)
	if why.Error == "" {
		why.Error, why.Message = "unprocessable", fmt.Sprintf("answer %d", rejection.StatusCode)
	}
	now := time.Now
	if k.Now != nil {
		now = k.Now
	}
	// Kept even when the work ran out of time (a panic late in the budget), bounded like the
	// idempotency release so that the answer still goes out.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(putTimeout, remaining(ctx)))
	defer cancel()
	key, err := k.Store.Put(ctx, Record{
		Webhook:       k.Webhook,
		Function:      k.Function,
		Reason:        why.Error,
		Field:         why.Field,
		Message:       why.Message,
		QuarantinedAt: now().UTC(),
		Request:       k.redact(req),
	})
	if err != nil {
		log.Error("quarantine unavailable", "reason", why.Error, "error", err)
		return httpapi.RetryLater("the delivery could not be processed or kept; retry later")
	}
	log.Warn("delivery quarantined", "reason", why.Error, "field", why.Field, "quarantineKey", key, "replay", IsReplay(ctx))
	return httpapi.JSON(202, Answer{Status: "quarantined", Error: why.Error, Message: why.Message, Field: why.Field, QuarantineKey: key})
}

// Answer is the 202 body of a quarantined delivery: the rejection it would have been, and where
// it is kept.
type Answer struct {
	Status        string `json:"status"` // "quarantined"
	Error         string `json:"error"`
	Message       string `json:"message"`
	Field         string `json:"field,omitempty"`
	QuarantineKey string `json:"quarantineKey"`
}

// Guard runs process, the work after authentication, and quarantines the delivery if process
// panics: a bug fails every retry the same way, so the delivery is kept for replay after a fix.
func (k *Keeper) Guard(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, process func() events.APIGatewayV2HTTPResponse) (resp events.APIGatewayV2HTTPResponse) {
	defer func() {
		if p := recover(); p != nil {
			// The panic value and stack go to the log only; they may describe the payload.
			log.Error("handler panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp = k.Keep(ctx, log, req, httpapi.Error(500, "internal_error", "the function failed on this delivery"))
		}
	}()
	return process()
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

// Replay is the invocation payload that replays a quarantined delivery:
// {"quarantineReplay": {"key": "quarantine/shipping/….json"}}. Only principals allowed to invoke
// the function directly can send it; API Gateway's payload never has this shape.
type Replay struct {
	Key string `json:"key"`
}

type invocation struct {
	Replay *Replay `json:"quarantineReplay"`
	events.APIGatewayV2HTTPRequest
}

type replayKey struct{}

// IsReplay reports whether ctx belongs to the replay of a quarantined delivery. Such a delivery
// was authenticated when it arrived and comes from the function's own bucket, so handlers skip
// the sender's authentication (its credentials were not kept).
func IsReplay(ctx context.Context) bool { return ctx.Value(replayKey{}) != nil }

// Handler is a Lambda handler for API Gateway requests.
type Handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// LambdaHandler is a function's entry point: API Gateway requests and replay orders.
type LambdaHandler func(context.Context, json.RawMessage) (events.APIGatewayV2HTTPResponse, error)

// Handle invokes h with an API Gateway request, as Lambda would.
func (h LambdaHandler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return h(ctx, payload)
}

// Entry returns the function's Lambda handler: API Gateway requests go to handle as they are;
// a Replay reads the delivery from store and hands it to handle in a replay context.
func Entry(store recordReader, webhook string, log *slog.Logger, handle Handler) LambdaHandler {
	return func(ctx context.Context, payload json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
		var in invocation
		if err := json.Unmarshal(payload, &in); err != nil {
			return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("invocation payload: %w", err)
		}
		if in.Replay == nil {
			return handle(ctx, in.APIGatewayV2HTTPRequest)
		}
		// Checked before reading: the function's role may read only its own webhook's prefix, so
		// another webhook's key would fail as access denied (503, "retry later") instead of 409.
		if other, ok := WebhookOf(in.Replay.Key); ok && other != webhook {
			return httpapi.Error(409, "wrong_function", fmt.Sprintf("the delivery belongs to the %s webhook", other)), nil
		}
		r, err := store.Get(ctx, in.Replay.Key)
		if errors.Is(err, ErrNotFound) {
			log.Warn("replay: no such quarantined delivery", "quarantineKey", in.Replay.Key)
			return httpapi.Error(404, "not_found", "no quarantined delivery with that key"), nil
		}
		if err != nil {
			log.Error("replay: quarantined delivery unreadable", "quarantineKey", in.Replay.Key, "error", err)
			return httpapi.RetryLater("the quarantined delivery could not be read; retry later"), nil
		}
		if r.Webhook != webhook {
			return httpapi.Error(409, "wrong_function", fmt.Sprintf("the delivery belongs to the %s webhook", r.Webhook)), nil
		}
		log.Info("replaying quarantined delivery", "quarantineKey", in.Replay.Key, "reason", r.Reason)
		return handle(context.WithValue(ctx, replayKey{}, in.Replay.Key), r.Request)
	}
}

// remaining is the time left before ctx's deadline (0 without one).
func remaining(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d)
	}
	return 0
}
