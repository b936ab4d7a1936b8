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

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
	"github.com/amazon-webhook-gateway/gateway/shared/webhooks"
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

// DeferByDefault is DEFER_WHEN_UNAVAILABLE when unset: SNS gives up after about a minute.
const DeferByDefault = true

// Webhook names this webhook in quarantine records and keys.
const Webhook = webhooks.AmazonPay

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
	// Topics labels the allowed topics: TopicArn -> account label (IPN_TOPIC_ARNS entries
	// "label=arn"); a topic not in it is account.Default's.
	Topics map[string]string
	// Merchants are the merchant IDs configured per account: MerchantID -> label (IPN_MERCHANT_IDS).
	// A v2 message whose MerchantID is not one of its account's is quarantined; an account with
	// none configured is not checked.
	Merchants map[string]string
	// OmitDeprecatedCopies publishes a v2 message under its own detail-type only, without the
	// deprecated copy under its India detail-type (Config.OmitDeprecatedCopies); false keeps it.
	OmitDeprecatedCopies bool
}

// verified is an SNS message as far as Authenticate read it, and the account its verified topic
// names.
type verified struct {
	msg     *snsverify.Message
	account string
}

// Account is the label of v's topic (account.Labeled).
func (v verified) Account() string { return v.account }

// Authenticate verifies the SNS message, whose signature is inside the body: the body is parsed
// only as far as needed for that.
func (s *Steps) Authenticate(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, replay bool) (verified, *slog.Logger, error) {
	// SNS posts text/plain; application/json is tolerated, as is a missing type.
	if mt := httpapi.MediaType(req); mt != "" && mt != "text/plain" && !httpapi.IsJSON(mt) {
		return verified{}, log, pipeline.Reject(415, "unsupported_media_type", "Content-Type must be text/plain or application/json")
	}
	body, err := httpapi.Body(req)
	if err != nil {
		return verified{}, log, pipeline.Reject(400, "invalid_encoding", err.Error())
	}
	m, err := snsverify.Parse(body)
	if err != nil {
		log.Warn("malformed SNS message", "error", err)
		return verified{}, log, pipeline.Reject(400, "invalid_payload", err.Error())
	}
	// A replay was authenticated when it arrived.
	if !replay {
		if err := s.authenticate(ctx, log, m); err != nil {
			return verified{}, log, err
		}
	}
	// Only now are the message's values the sender's word, signed by SNS: its topic names its
	// account (a replay's too, verified when it arrived).
	return verified{msg: m, account: s.Topics[m.TopicARN]}, log.With("messageId", m.MessageID, "snsType", m.Type, "topicArn", m.TopicARN), nil
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
				"topicArn", m.TopicARN, "topicAccount", account, "region", region, "messageId", m.MessageID, "verified", true)
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

// Plan keys a verified message once, by its signed text: a redelivery resends the same signed
// fields (SNS keeps the MessageId and the Timestamp, the publish time, on retries: assumed, as
// docs/amazon-pay.md says), and the signed text contains the MessageId, so one key covers a
// redelivery and a copy whose fields were re-split around the same signed text (a MessageId
// carrying "\nSubject\n…", say) without merging two publications. The claim notes the MessageId,
// which tells such a copy (a warning) from a redelivery. An Amazon Pay API v2 message is also keyed
// by its notification (notificationKey), which a re-publication under a new MessageId keeps; its
// work fetches the object it names. A replayed copy kept for a later
// enrichment is keyed apart, and publishes only the fetched state.
func (s *Steps) Plan(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, v verified, replay bool) (pipeline.Delivery, error) {
	d, err := s.plan(ctx, log, req, v.msg, replay)
	if err != nil || d.Work == nil {
		return d, err
	}
	// Every event of the delivery names its account.
	work := d.Work
	d.Work = func(ctx context.Context, log *slog.Logger) ([]eventbus.Event, error) {
		evs, err := work(ctx, log)
		return labeled(evs, account.Of(ctx)), err
	}
	return d, nil
}

func (s *Steps) plan(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, m *snsverify.Message, replay bool) (pipeline.Delivery, error) {
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
	if rej := s.checkMerchant(log, account.Of(ctx), n.data.MerchantID); rej != nil {
		return pipeline.Delivery{}, rej
	}
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
		d.Claims = append(d.Claims, pipeline.Claim{Key: k, Note: m.MessageID, IfDone: "notification already processed under another MessageId (re-published by Amazon Pay)"})
	}
	return d, nil
}

// checkMerchant refuses a v2 message whose MerchantID is not one configured for label, the
// account of its verified topic. SNS vouches for the topic, not for what the message says of the
// merchant: another merchant's notification on our topic means the topic is shared or the map is
// wrong. Published, it would be booked to the wrong merchant; refused (4xx), SNS would drop it.
// Quarantined, it waits for the operator to fix IPN_MERCHANT_IDS or the topic map and replay it.
func (s *Steps) checkMerchant(log *slog.Logger, label, merchantID string) *pipeline.Rejection {
	configured := false
	for _, l := range s.Merchants {
		configured = configured || l == label
	}
	if !configured || s.Merchants[merchantID] == label {
		return nil
	}
	log.Warn("MerchantID is not a merchant of the topic's account", "merchantId", merchantID)
	return &pipeline.Rejection{Status: 400, Code: "merchant_mismatch", Field: "MerchantID",
		Message: "the message's MerchantID is not a merchant configured for the account of its topic"}
}

// labeled sets every event's detail.metadata.account.
func labeled(evs []eventbus.Event, label string) []eventbus.Event {
	for i := range evs {
		if d, ok := evs[i].Detail.(Detail); ok {
			d.Metadata.Account = label
			evs[i].Detail = d
		}
	}
	return evs
}

// delivery is a message's work under its signed-text claim, which notes its MessageId.
func (s *Steps) delivery(log *slog.Logger, m *snsverify.Message, ids map[string]any, work func(context.Context, *slog.Logger) ([]eventbus.Event, error)) pipeline.Delivery {
	return pipeline.Delivery{
		Log: log,
		Claims: []pipeline.Claim{
			{Key: SignedTextKey(m), Note: m.MessageID, IfDone: "signed text already processed under another MessageId"},
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
