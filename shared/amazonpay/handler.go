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
	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
)

type verifier interface {
	Verify(ctx context.Context, m *snsverify.Message) error
	Confirm(ctx context.Context, m *snsverify.Message) error
	// Discover verifies a SubscriptionConfirmation from a topic not on the allow-list, in set-up
	// mode only (else ErrTopicNotAllowed, without a network call); it never confirms.
	Discover(ctx context.Context, m *snsverify.Message) error
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
	// A replay was authenticated when it arrived.
	if !quarantine.IsReplay(ctx) {
		if resp, ok := h.authenticate(ctx, log, m); !ok {
			return resp
		}
	}
	// Only now are the message's values the sender's word, signed by SNS.
	log = log.With("messageId", m.MessageID, "snsType", m.Type, "topicArn", m.TopicARN)
	return h.Quarantine.Guard(ctx, log, req, func() events.APIGatewayV2HTTPResponse { return h.process(ctx, log, req, m) })
}

// authenticate verifies m; when it cannot, it logs the message's values as unverified claims and
// returns the answer.
func (h *Handler) authenticate(ctx context.Context, log *slog.Logger, m *snsverify.Message) (events.APIGatewayV2HTTPResponse, bool) {
	err := h.SNS.Verify(ctx, m)
	if err == nil {
		return events.APIGatewayV2HTTPResponse{}, true
	}
	// Anyone can send anything: these are the sender's claims, not facts.
	claimed := log.With("claimedMessageId", m.MessageID, "claimedSnsType", m.Type, "claimedTopicArn", m.TopicARN, "verified", false)
	if errors.Is(err, snsverify.ErrTopicNotAllowed) && m.Type == snsverify.TypeSubscriptionConfirmation {
		// Set-up mode: a verified SubscriptionConfirmation names a topic SNS really sent from, but
		// anyone can subscribe this URL to a topic of their own. It is never confirmed; the operator
		// decides from the log (the topic's account, and when it arrived).
		switch derr := h.SNS.Discover(ctx, m); {
		case derr == nil:
			_, region, account, _ := snsverify.SplitTopicARN(m.TopicARN)
			log.Warn("set-up: verified SubscriptionConfirmation from a topic not on the allow-list; not confirmed",
				"topicArn", m.TopicARN, "account", account, "region", region, "messageId", m.MessageID, "verified", true)
			return httpapi.Error(403, "forbidden", "topic not allowed"), false
		case !errors.Is(derr, snsverify.ErrTopicNotAllowed):
			err = derr
		}
	}
	switch {
	case errors.Is(err, snsverify.ErrTopicNotAllowed):
		claimed.Warn("topic not allowed")
		return httpapi.Error(403, "forbidden", "topic not allowed"), false
	case errors.Is(err, snsverify.ErrInvalidSignature):
		claimed.Warn("authentication failed", "error", err)
		return httpapi.Error(401, "unauthorized", "signature verification failed"), false
	case errors.Is(err, snsverify.ErrMalformed):
		claimed.Warn("malformed SNS message", "error", err)
		return httpapi.Error(400, "invalid_payload", err.Error()), false
	default:
		claimed.Error("signature verification unavailable", "error", err)
		return httpapi.RetryLater("signature verification is temporarily unavailable"), false
	}
}

func (h *Handler) process(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, m *snsverify.Message) events.APIGatewayV2HTTPResponse {
	ev := Event(m, h.now().UTC())
	log = log.With("detailType", ev.DetailType)
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = h.now().Add(30 * time.Second)
	}
	// Two claims: the MessageId (the documented key, which SNS keeps on retries) and the signed
	// text, so that a copy whose fields were re-split around the same signed text (RT-01) is a
	// duplicate whatever MessageId it claims.
	err := h.Idempotency.Do(ctx, idempotencyKeyScopePrefix+m.MessageID, deadline, func(ctx context.Context) error {
		err := h.Idempotency.Do(ctx, SignedTextKey(m), deadline, func(ctx context.Context) error { return h.work(ctx, log, m, ev) })
		if errors.Is(err, idempotency.ErrCompleted) {
			log.Warn("signed text already processed under another MessageId")
		}
		return err
	})
	// A signed confirmation whose SubscribeURL the verifier refuses (not https, not an SNS host)
	// fails the same way on every retry: keep it instead of asking SNS to retry.
	if errors.Is(err, snsverify.ErrInvalidSignature) || errors.Is(err, snsverify.ErrMalformed) {
		return h.Quarantine.Keep(ctx, log, req, httpapi.Error(400, "invalid_subscription", "the SubscribeURL is not an https URL on an SNS host"))
	}
	return delivery.Answer(log, err, map[string]any{"messageId": m.MessageID})
}

// work is what a new message causes: the confirmation of a subscription, and its event.
func (h *Handler) work(ctx context.Context, log *slog.Logger, m *snsverify.Message, ev eventbus.Event) error {
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
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}
