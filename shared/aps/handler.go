package aps

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
	"github.com/amazon-webhook-gateway/gateway/shared/webhooks"
)

type merchantSource interface {
	Get(ctx context.Context) (Merchant, error)
	// Refresh refetches (rate-limited) and reports whether it did: a signature that matches no
	// phrase may be signed with one rotated in since the last fetch, and an access code that
	// selects no set may be of a set added since.
	Refresh(ctx context.Context) (Merchant, bool, error)
}

// DefaultMaxBodyBytes bounds a message; APS messages are a few kilobytes.
const DefaultMaxBodyBytes = 64 << 10

// DeferByDefault is DEFER_WHEN_UNAVAILABLE when unset: APS retries for about 100 seconds.
const DeferByDefault = true

// Routes maps the API routes to the webhook they serve.
var Routes = map[string]Feedback{
	"/aps/transaction-feedback":  TransactionFeedback,
	"/aps/notification-feedback": NotificationFeedback,
}

// Webhook names this webhook in quarantine records and keys.
const Webhook = webhooks.APS

// Steps are what APS transaction and notification feedback need of the pipeline: the message's
// signature, its validation, one event under the message's own key.
type Steps struct {
	Merchant          merchantSource
	IncludeCardFields bool
	// DetailTypesByCommand classifies by operation and status (OutcomeByCommand), not by status
	// alone (OutcomeOf): ApsDetailTypesByCommand.
	DetailTypesByCommand bool
	Now                  func() time.Time
}

// message is an APS message as far as Authenticate read it.
type message struct {
	feedback Feedback
	params   map[string]string
	text     apssignature.Text // params' signed text
	// account is the label of the phrase set that verified the message ("" on a replay: the
	// quarantine record's).
	account string
}

// Account is the label of the phrase set that verified m (account.Labeled).
func (m message) Account() string { return m.account }

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

// Authenticate finds the webhook from the route and verifies the message's signature, which is
// inside the body: the body is parsed only as far as needed for that.
func (s *Steps) Authenticate(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, replay bool) (message, *slog.Logger, error) {
	feedback, ok := feedbackOf(req)
	if !ok {
		return message{}, log, pipeline.Reject(404, "not_found", "no APS webhook on this path")
	}
	log = log.With("feedback", string(feedback))
	mt := httpapi.MediaType(req)
	if mt != MediaJSON && mt != MediaForm {
		return message{}, log, pipeline.Reject(415, "unsupported_media_type", "Content-Type must be application/json or application/x-www-form-urlencoded")
	}
	body, err := httpapi.Body(req)
	if err != nil {
		return message{}, log, pipeline.Reject(400, "invalid_encoding", err.Error())
	}
	params, err := ParseParams(mt, body)
	if err != nil {
		return message{}, log, fieldError(log, err)
	}
	// The signed text, laid out once for the verification and Plan's checks and key.
	text := apssignature.TextOf(params)
	// A replay was authenticated when it arrived, possibly with a phrase rotated out since.
	if !replay {
		merchant, err := s.Merchant.Get(ctx)
		if err != nil {
			log.Log(ctx, secrets.Level(err), "merchant secret unavailable", "error", err)
			return message{}, log, pipeline.AuthUnavailable(err, "signature verification is temporarily unavailable")
		}
		set, err := authenticate(merchant, params, text.Canonical)
		if err != nil {
			// The message may be signed with a phrase, or for a set, added since the last fetch.
			if fresh, refetched, ferr := s.Merchant.Refresh(ctx); ferr == nil && refetched {
				set, err = authenticate(fresh, params, text.Canonical)
			}
		}
		if errors.Is(err, errUnknownSet) {
			log.Warn("authentication failed", "problem", "no phrase set for the access code")
			return message{}, log, &pipeline.Rejection{Status: 401, Code: "unauthorized", Field: "access_code",
				Message: "access_code and merchant_identifier select no configured phrase set"}
		}
		if err != nil {
			log.Warn("authentication failed", "phraseSet", set.Name)
			return message{}, log, pipeline.Reject(401, "unauthorized", "signature verification failed")
		}
		log = log.With("phraseSet", set.Name)
		return message{feedback: feedback, params: params, text: text, account: set.Account}, log, nil
	}
	return message{feedback: feedback, params: params, text: text}, log, nil
}

// Plan validates a verified message, which is APS's from here on: what cannot be processed is
// quarantined, not refused (APS retries every answer but 2xx and 302).
func (s *Steps) Plan(ctx context.Context, log *slog.Logger, _ *events.APIGatewayV2HTTPRequest, m message, _ bool) (pipeline.Delivery, error) {
	p := m.params
	if err := Validate(p); err != nil {
		return pipeline.Delivery{}, fieldError(log, err)
	}
	// Verified is not enough: the same signature may cover a re-split of what APS sent. The
	// checks and the key read the layout of the signed text that was verified.
	t := m.text
	var amb *AmbiguityError
	if errors.As(ambiguity(p, t), &amb) {
		log.Warn("ambiguous message", "field", amb.Field)
		return pipeline.Delivery{}, &pipeline.Rejection{Status: 400, Code: "ambiguous_parameters", Message: amb.Error(), Field: amb.Field}
	}
	key := keyOf(t.Canonical)
	o := OutcomeOf(p)
	if s.DetailTypesByCommand {
		o = OutcomeByCommand(p)
	}
	ev := event(m.feedback, p, s.now().UTC(), s.IncludeCardFields, key, o, account.Of(ctx))
	return pipeline.Delivery{
		Log:    log.With("idempotencyKey", key, "detailType", ev.DetailType, "merchantReference", p["merchant_reference"], "fortId", p["fort_id"]),
		Claims: []pipeline.Claim{{Key: key}},
		Work:   func(context.Context, *slog.Logger) ([]eventbus.Event, error) { return []eventbus.Event{ev}, nil },
	}, nil
}

// errUnknownSet: the message's access_code and merchant_identifier select no phrase set.
var errUnknownSet = errors.New("aps: no phrase set for the message's access code")

// authenticate verifies p with the one set its access_code and merchant_identifier select, never
// another: those fields are unverified until then, and an attacker holding one set's phrase (a
// test integration's, say) must not sign for another's access code with it.
func authenticate(m Merchant, p map[string]string, canonical string) (PhraseSet, error) {
	set, ok := m.Select(p)
	if !ok {
		return PhraseSet{}, errUnknownSet
	}
	return set, set.Verifier.VerifyText(p, canonical)
}

func fieldError(log *slog.Logger, err error) *pipeline.Rejection {
	var fe *FieldError
	if errors.As(err, &fe) {
		log.Warn("invalid message", "field", fe.Field, "problem", fe.Problem)
		return pipeline.Invalid(fe.Field, fe.Error())
	}
	return pipeline.Reject(400, "invalid_payload", "message could not be parsed")
}

func (s *Steps) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
