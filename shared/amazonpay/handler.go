// Package amazonpay receives Amazon Pay Instant Payment Notifications, delivered as Amazon SNS
// HTTP(S) messages: it verifies each message's SNS signature and topic, confirms the subscription,
// and re-emits normalised events.
package amazonpay

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
)

type verifier interface {
	Verify(ctx context.Context, m *snsverify.Message) error
	Confirm(ctx context.Context, m *snsverify.Message) error
	// Discover verifies a SubscriptionConfirmation from a topic not on the allow-list, in set-up
	// mode only (else ErrTopicNotAllowed, without a network call); it never confirms.
	Discover(ctx context.Context, m *snsverify.Message) error
}

// DefaultMaxBodyBytes: an SNS message is at most 256 KiB, plus its envelope.
const DefaultMaxBodyBytes = 320 << 10

// Webhook names this webhook in quarantine records and keys.
const Webhook = "amazon-pay"

// Steps are what SNS deliveries of Amazon Pay IPNs need of the pipeline: the SNS signature and
// topic, the subscription confirmed, one event per message.
type Steps struct {
	SNS verifier
	Now func() time.Time
	// API fetches the object an Amazon Pay API v2 message names; nil disables enrichment.
	API objectGetter
	// IncludeBuyerData keeps buyer and address fields in a fetched state.
	IncludeBuyerData bool
	// FetchTimeout bounds one API call (DefaultFetchTimeout when 0).
	FetchTimeout time.Duration
	// Pending keeps a v2 message whose fetch failed for a later enrichment (the quarantine).
	Pending pendingKeeper
}

// Authenticate verifies the SNS message, whose signature is inside the body: the body is parsed
// only as far as needed for that.
func (s *Steps) Authenticate(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, replay bool) (*snsverify.Message, *slog.Logger, error) {
	// SNS posts text/plain; application/json is tolerated, as is a missing type.
	if mt := httpapi.MediaType(req); mt != "" && mt != "text/plain" && !httpapi.IsJSON(mt) {
		return nil, log, pipeline.Reject(415, "unsupported_media_type", "Content-Type must be text/plain or application/json")
	}
	body, err := httpapi.Body(req)
	if err != nil {
		return nil, log, pipeline.Reject(400, "invalid_encoding", err.Error())
	}
	m, err := snsverify.Parse(body)
	if err != nil {
		log.Warn("malformed SNS message", "error", err)
		return nil, log, pipeline.Reject(400, "invalid_payload", err.Error())
	}
	// A replay was authenticated when it arrived.
	if !replay {
		if err := s.authenticate(ctx, log, m); err != nil {
			return nil, log, err
		}
	}
	// Only now are the message's values the sender's word, signed by SNS.
	return m, log.With("messageId", m.MessageID, "snsType", m.Type, "topicArn", m.TopicARN), nil
}

// authenticate verifies m; when it cannot, it logs the message's values as unverified claims and
// returns the answer.
func (s *Steps) authenticate(ctx context.Context, log *slog.Logger, m *snsverify.Message) *pipeline.Rejection {
	err := s.SNS.Verify(ctx, m)
	if err == nil {
		return nil
	}
	// Anyone can send anything: these are the sender's claims, not facts.
	claimed := log.With("claimedMessageId", m.MessageID, "claimedSnsType", m.Type, "claimedTopicArn", m.TopicARN, "verified", false)
	if errors.Is(err, snsverify.ErrTopicNotAllowed) && m.Type == snsverify.TypeSubscriptionConfirmation {
		// Set-up mode: a verified SubscriptionConfirmation names a topic SNS really sent from, but
		// anyone can subscribe this URL to a topic of their own. It is never confirmed; the operator
		// decides from the log (the topic's account, and when it arrived).
		switch derr := s.SNS.Discover(ctx, m); {
		case derr == nil:
			_, region, account, _ := snsverify.SplitTopicARN(m.TopicARN)
			log.Warn("set-up: verified SubscriptionConfirmation from a topic not on the allow-list; not confirmed",
				"topicArn", m.TopicARN, "account", account, "region", region, "messageId", m.MessageID, "verified", true)
			return pipeline.Reject(403, "forbidden", "topic not allowed")
		case !errors.Is(derr, snsverify.ErrTopicNotAllowed):
			err = derr
		}
	}
	switch {
	case errors.Is(err, snsverify.ErrTopicNotAllowed):
		claimed.Warn("topic not allowed")
		return pipeline.Reject(403, "forbidden", "topic not allowed")
	case errors.Is(err, snsverify.ErrInvalidSignature):
		claimed.Warn("authentication failed", "error", err)
		return pipeline.Reject(401, "unauthorized", "signature verification failed")
	case errors.Is(err, snsverify.ErrMalformed):
		claimed.Warn("malformed SNS message", "error", err)
		return pipeline.Reject(400, "invalid_payload", err.Error())
	default:
		claimed.Error("signature verification unavailable", "error", err)
		return pipeline.RetryLater("signature verification is temporarily unavailable")
	}
}

// Plan keys a verified message twice: by its MessageId (the documented key, which SNS keeps on
// retries) and by its signed text, so that a copy whose fields were re-split around the same
// signed text (RT-01) is a duplicate whatever MessageId it claims. An Amazon Pay API v2 message is
// also keyed by its notification (notificationKey), which a re-publication keeps; its work fetches
// the object it names. A replayed copy kept for a later enrichment is keyed apart, and publishes
// only the fetched state.
func (s *Steps) Plan(_ context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, m *snsverify.Message, replay bool) (pipeline.Delivery, error) {
	received := s.now().UTC()
	ids := map[string]any{"messageId": m.MessageID}
	if m.Type != snsverify.TypeNotification {
		ev := Event(m, received)
		return s.delivery(log.With("detailType", ev.DetailType), m, ids, func(ctx context.Context, log *slog.Logger) ([]eventbus.Event, error) {
			if err := s.confirm(ctx, log, m); err != nil {
				return nil, err
			}
			return []eventbus.Event{ev}, nil
		}), nil
	}
	n := classify(m.Message)
	log = log.With("detailType", n.detailType)
	if n.v2 == nil {
		ev := event(m, received, n.detailType, idempotencyKeyScopePrefix+m.MessageID, n.data)
		return s.delivery(log, m, ids, func(context.Context, *slog.Logger) ([]eventbus.Event, error) {
			return []eventbus.Event{ev}, nil
		}), nil
	}
	log = log.With("objectType", n.data.ObjectType, "objectId", n.data.ObjectID, "notificationId", n.data.NotificationID)
	if isPendingReplay(req, replay) {
		return pipeline.Delivery{
			Log:    log,
			Claims: []pipeline.Claim{{Key: v2KeyPrefix + m.MessageID + lateSuffix}},
			IDs:    ids,
			Work: func(ctx context.Context, log *slog.Logger) ([]eventbus.Event, error) {
				return s.lateWork(ctx, log, m, n, received)
			},
		}, nil
	}
	d := s.delivery(log, m, ids, func(ctx context.Context, log *slog.Logger) ([]eventbus.Event, error) {
		return s.v2Work(ctx, log, req, m, n, received, replay)
	})
	if k := notificationKey(n.data); k != "" {
		d.Claims = append(d.Claims, pipeline.Claim{Key: k, IfDone: "notification already processed under another MessageId (re-published by Amazon Pay)"})
	}
	return d, nil
}

// delivery is a message's work under its MessageId and signed-text claims.
func (s *Steps) delivery(log *slog.Logger, m *snsverify.Message, ids map[string]any, work func(context.Context, *slog.Logger) ([]eventbus.Event, error)) pipeline.Delivery {
	return pipeline.Delivery{
		Log: log,
		Claims: []pipeline.Claim{
			{Key: idempotencyKeyScopePrefix + m.MessageID},
			{Key: SignedTextKey(m), IfDone: "signed text already processed under another MessageId"},
		},
		IDs:  ids,
		Work: work,
	}
}

// confirm confirms the subscription a SubscriptionConfirmation asks for.
func (s *Steps) confirm(ctx context.Context, log *slog.Logger, m *snsverify.Message) error {
	if m.Type == snsverify.TypeSubscriptionConfirmation {
		err := s.SNS.Confirm(ctx, m)
		// A signed confirmation whose SubscribeURL the verifier refuses (not https, not an SNS
		// host) fails the same way on every retry: keep it instead of asking SNS to retry.
		if errors.Is(err, snsverify.ErrInvalidSignature) || errors.Is(err, snsverify.ErrMalformed) {
			return pipeline.Reject(400, "invalid_subscription", "the SubscribeURL is not an https URL on an SNS host")
		}
		if err != nil {
			return err
		}
		// Logged without the SubscribeURL: its query holds the confirmation token.
		log.Info("SNS subscription confirmed")
	}
	if m.Type == snsverify.TypeUnsubscribeConfirmation {
		log.Warn("SNS unsubscribe confirmation received; not resubscribing")
	}
	return nil
}

func (s *Steps) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
