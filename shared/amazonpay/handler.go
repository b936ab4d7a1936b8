// Package amazonpay receives Amazon Pay Instant Payment Notifications, delivered as Amazon SNS
// HTTP(S) messages: it verifies each message's SNS signature and topic, confirms the subscription,
// and re-emits normalised events.
package amazonpay

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/delivery"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
)

type verifier interface {
	Verify(ctx context.Context, m *snsverify.Message) error
	Confirm(ctx context.Context, m *snsverify.Message) error
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

// DefaultMaxBodyBytes: an SNS message is at most 256 KiB, plus its envelope.
const DefaultMaxBodyBytes = 320 << 10

// Webhook names this webhook in quarantine records and keys.
const Webhook = "amazon-pay"

// Handler answers SNS deliveries of Amazon Pay IPNs.
type Handler struct {
	SNS         verifier
	Idempotency onceRunner
	Events      publisher
	// Quarantine keeps verified messages the function fails on.
	Quarantine   quarantiner
	MaxBodyBytes int
	Log          *slog.Logger
	Now          func() time.Time
}

// Handle is the Lambda entry point; every outcome is an HTTP answer, never an error.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return httpapi.Answer(ctx, h.Log, &req, h.handle), nil
}

func (h *Handler) handle(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	if resp, rejected := httpapi.RejectEarly(req, cmp.Or(h.MaxBodyBytes, DefaultMaxBodyBytes)); rejected {
		return resp
	}
	// SNS posts text/plain; application/json is tolerated, as is a missing type.
	if mt := httpapi.MediaType(req); mt != "" && mt != "text/plain" && !httpapi.IsJSON(mt) {
		return httpapi.Error(415, "unsupported_media_type", "Content-Type must be text/plain or application/json")
	}
	body, err := httpapi.Body(req)
	if err != nil {
		return httpapi.Error(400, "invalid_encoding", err.Error())
	}
	// The signature is inside the body: parse only as far as needed to verify it.
	m, err := snsverify.Parse(body)
	if err != nil {
		log.Warn("malformed SNS message", "error", err)
		return httpapi.Error(400, "invalid_payload", err.Error())
	}
	log = log.With("messageId", m.MessageID, "snsType", m.Type, "topicArn", m.TopicARN)
	// A replay was authenticated when it arrived.
	if !quarantine.IsReplay(ctx) {
		if err := h.SNS.Verify(ctx, m); err != nil {
			switch {
			case errors.Is(err, snsverify.ErrTopicNotAllowed):
				log.Warn("topic not allowed")
				return httpapi.Error(403, "forbidden", "topic not allowed")
			case errors.Is(err, snsverify.ErrInvalidSignature):
				log.Warn("authentication failed", "error", err)
				return httpapi.Error(401, "unauthorized", "signature verification failed")
			default:
				log.Error("signature verification unavailable", "error", err)
				return httpapi.RetryLater("signature verification is temporarily unavailable")
			}
		}
	}
	return h.Quarantine.Guard(ctx, log, req, func() events.APIGatewayV2HTTPResponse { return h.process(ctx, log, req, m) })
}

func (h *Handler) process(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, m *snsverify.Message) events.APIGatewayV2HTTPResponse {
	ev := Event(m, h.now().UTC())
	log = log.With("detailType", ev.DetailType)
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = h.now().Add(30 * time.Second)
	}
	err := h.Idempotency.Do(ctx, idempotencyKeyScopePrefix+m.MessageID, deadline, func(ctx context.Context) error {
		if m.Type == snsverify.TypeSubscriptionConfirmation {
			if err := h.SNS.Confirm(ctx, m); err != nil {
				return err
			}
			// Logged without the SubscribeURL: its query holds the confirmation token.
			log.Info("SNS subscription confirmed")
		}
		if m.Type == snsverify.TypeUnsubscribeConfirmation {
			log.Warn("SNS unsubscribe confirmation received; not resubscribing")
		}
		return h.Events.Publish(ctx, []eventbus.Event{ev})
	})
	// A signed confirmation whose SubscribeURL the verifier refuses (not https, not an SNS host)
	// fails the same way on every retry: keep it instead of asking SNS to retry.
	if errors.Is(err, snsverify.ErrInvalidSignature) || errors.Is(err, snsverify.ErrMalformed) {
		return h.Quarantine.Keep(ctx, log, req, httpapi.Error(400, "invalid_subscription", "the SubscribeURL is not an https URL on an SNS host"))
	}
	return delivery.Answer(log, err, map[string]any{"messageId": m.MessageID})
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}
