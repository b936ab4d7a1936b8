package aps

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/delivery"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
)

type merchantSource interface {
	Get(ctx context.Context) (Merchant, error)
	// Refresh refetches (rate-limited) and reports whether it did: a signature that matches no
	// phrase may be signed with one rotated in since the last fetch.
	Refresh(ctx context.Context) (Merchant, bool, error)
}

type onceRunner interface {
	Do(ctx context.Context, key string, inProgressUntil time.Time, work func(context.Context) error) error
}

type quarantiner interface {
	Keep(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, rejection events.APIGatewayV2HTTPResponse) events.APIGatewayV2HTTPResponse
	Guard(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, process func() events.APIGatewayV2HTTPResponse) events.APIGatewayV2HTTPResponse
}

type publisher interface {
	Publish(ctx context.Context, evs []eventbus.Event) error
}

// DefaultMaxBodyBytes bounds a message; APS messages are a few kilobytes.
const DefaultMaxBodyBytes = 64 << 10

// Routes maps the API routes to the webhook they serve.
var Routes = map[string]Feedback{
	"/aps/transaction-feedback":  TransactionFeedback,
	"/aps/notification-feedback": NotificationFeedback,
}

// Webhook names this webhook in quarantine records and keys.
const Webhook = "aps"

// Handler answers APS transaction and notification feedback.
type Handler struct {
	Merchant          merchantSource
	Idempotency       onceRunner
	Events            publisher
	Quarantine        quarantiner
	IncludeCardFields bool
	MaxBodyBytes      int
	Log               *slog.Logger
	Now               func() time.Time
}

// Handle is the Lambda entry point; every outcome is an HTTP answer, never an error.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return httpapi.Answer(ctx, h.Log, &req, h.handle), nil
}

// feedbackOf finds the webhook from the route, which API Gateway sets from the template's path;
// with a custom domain's base path, the raw path ends with the route's path.
func feedbackOf(req *events.APIGatewayV2HTTPRequest) (Feedback, bool) {
	if _, path, ok := strings.Cut(req.RouteKey, " "); ok {
		if f, ok := Routes[path]; ok {
			return f, true
		}
	}
	for path, f := range Routes {
		if strings.HasSuffix(strings.TrimSuffix(req.RawPath, "/"), path) {
			return f, true
		}
	}
	return "", false
}

func (h *Handler) handle(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	if resp, rejected := httpapi.RejectEarly(req, cmp.Or(h.MaxBodyBytes, DefaultMaxBodyBytes)); rejected {
		return resp
	}
	feedback, ok := feedbackOf(req)
	if !ok {
		return httpapi.Error(404, "not_found", "no APS webhook on this path")
	}
	log = log.With("feedback", string(feedback))
	mt := httpapi.MediaType(req)
	if mt != MediaJSON && mt != MediaForm {
		return httpapi.Error(415, "unsupported_media_type", "Content-Type must be application/json or application/x-www-form-urlencoded")
	}
	body, err := httpapi.Body(req)
	if err != nil {
		return httpapi.Error(400, "invalid_encoding", err.Error())
	}
	// The signature is inside the body: parse only as far as needed to verify it.
	params, err := ParseParams(mt, body)
	if err != nil {
		return fieldError(log, err)
	}
	// A replay was authenticated when it arrived, possibly with a phrase rotated out since.
	if !quarantine.IsReplay(ctx) {
		merchant, err := h.Merchant.Get(ctx)
		if err != nil {
			log.Error("merchant secret unavailable", "error", err)
			return httpapi.RetryLater("signature verification is temporarily unavailable")
		}
		if !authentic(merchant, params) {
			fresh, refetched, err := h.Merchant.Refresh(ctx)
			if err != nil || !refetched || !authentic(fresh, params) {
				log.Warn("authentication failed")
				return httpapi.Error(401, "unauthorized", "signature verification failed")
			}
		}
	}
	// From here on the message is APS's: what cannot be processed is quarantined, not refused
	// (APS retries every answer but 2xx and 302).
	return h.Quarantine.Guard(ctx, log, req, func() events.APIGatewayV2HTTPResponse {
		if err := Validate(params); err != nil {
			return h.Quarantine.Keep(ctx, log, req, fieldError(log, err))
		}
		// Verified is not enough: the same signature may cover a re-split of what APS sent.
		var amb *AmbiguityError
		if errors.As(Ambiguity(params), &amb) {
			log.Warn("ambiguous message", "field", amb.Field)
			return h.Quarantine.Keep(ctx, log, req, httpapi.JSON(400, httpapi.ErrorBody{Error: "ambiguous_parameters", Message: amb.Error(), Field: amb.Field}))
		}
		return h.process(ctx, log, feedback, params)
	})
}

func (h *Handler) process(ctx context.Context, log *slog.Logger, f Feedback, p map[string]string) events.APIGatewayV2HTTPResponse {
	ev := Event(f, p, h.now().UTC(), h.IncludeCardFields)
	key := ev.Detail.(Detail).Metadata.IdempotencyKey // hashed once, in Event
	log = log.With("idempotencyKey", key, "detailType", ev.DetailType, "merchantReference", p["merchant_reference"], "fortId", p["fort_id"])
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = h.now().Add(30 * time.Second)
	}
	err := h.Idempotency.Do(ctx, key, deadline, func(ctx context.Context) error {
		return h.Events.Publish(ctx, []eventbus.Event{ev})
	})
	return delivery.Answer(log, err, nil)
}

// authentic: signed with one of the merchant's phrases, and naming this merchant.
func authentic(m Merchant, p map[string]string) bool {
	return m.Verifier.Verify(p) == nil && m.Owns(p)
}

func fieldError(log *slog.Logger, err error) events.APIGatewayV2HTTPResponse {
	var fe *FieldError
	if errors.As(err, &fe) {
		log.Warn("invalid message", "field", fe.Field, "problem", fe.Problem)
		return httpapi.FieldError(fe.Field, fe.Error())
	}
	return httpapi.Error(400, "invalid_payload", "message could not be parsed")
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}
