package shipping

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/auth"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
	"github.com/amazon-webhook-gateway/gateway/shared/webhooks"
)

type authenticator interface {
	// Identify authenticates req and names the account whose credential it carries.
	Identify(ctx context.Context, req *events.APIGatewayV2HTTPRequest) (auth.Identity, error)
	Challenge() string
}

type otpWriter interface {
	Write(o otpstore.OTP) (*types.Put, func(ctx context.Context, old map[string]types.AttributeValue) (otpstore.Outcome, error))
}

// DefaultMaxBodyBytes bounds a delivery; an OTP payload is a few hundred bytes per tracking ID.
const DefaultMaxBodyBytes = 256 << 10

// DeferByDefault is DEFER_WHEN_UNAVAILABLE when unset: its sender retries for 24 hours.
const DeferByDefault = false

// Webhook names this webhook in quarantine records and keys.
const Webhook = webhooks.Shipping

// Steps are what Amazon Shipping push notifications need of the pipeline: the sender's
// credentials, the notification's OTPs stored, one event per current OTP and per other entry.
type Steps struct {
	Auth authenticator
	OTPs otpWriter
	// IncludeOTP puts the verification code itself into emitted events.
	IncludeOTP bool
	Now        func() time.Time
	// Tracking keeps the latest state per tracking ID (TrackingTable); nil keeps none.
	Tracking trackingWriter
	// NDRDetailTypes are the envelope detail-types of NDR entries; nil: DefaultNDRDetailTypes.
	NDRDetailTypes []string
	// MaxOTPTTL bounds an OTP's validity after its receipt (Config.MaxOTPTTL); 0: DefaultMaxOTPTTL.
	MaxOTPTTL time.Duration
	// KeepStrayCodes keeps a verificationCode found outside an OTP entry (Config.KeepStrayCodes).
	KeepStrayCodes bool
	// OmitDeprecatedCopies stops publishing each tracking and NDR entry also as the deprecated
	// Shipping Notification (Config.OmitDeprecatedCopies); false keeps the copy, as before.
	OmitDeprecatedCopies bool
}

// Authenticate runs before the body is looked at; the credential names the delivery's account.
// A replay was authenticated when it arrived; its credentials were not kept, so its account is
// the quarantine record's.
func (s *Steps) Authenticate(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, replay bool) (auth.Identity, *slog.Logger, error) {
	if replay {
		return auth.Identity{}, log, nil
	}
	id, err := s.Auth.Identify(ctx, req)
	if err != nil {
		if errors.Is(err, auth.ErrUnauthorized) {
			log.Warn("authentication failed")
			rej := pipeline.Reject(401, "unauthorized", "authentication failed")
			if c := s.Auth.Challenge(); c != "" {
				rej.Header = map[string]string{"WWW-Authenticate": c}
			}
			return auth.Identity{}, log, rej
		}
		log.Log(ctx, secrets.Level(err), "authentication unavailable", "error", err)
		return auth.Identity{}, log, pipeline.AuthUnavailable(err, "authentication is temporarily unavailable")
	}
	return id, log, nil
}

// Plan parses the notification. An accumulated delivery some of whose entries are invalid is
// quarantined whole (for a replay after a fix) and its valid entries are processed now, because
// their OTPs are needed for pickups today.
func (s *Steps) Plan(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, id auth.Identity, replay bool) (pipeline.Delivery, error) {
	if mt := httpapi.MediaType(req); mt != "" && !httpapi.IsJSON(mt) {
		return pipeline.Delivery{}, pipeline.Reject(415, "unsupported_media_type", "Content-Type must be application/json")
	}
	body, err := httpapi.Body(req)
	if err != nil {
		return pipeline.Delivery{}, pipeline.Reject(400, "invalid_encoding", err.Error())
	}
	// One receipt time decides how an OTP is bounded, stored and announced.
	received := s.now().UTC()
	maxTTL := s.MaxOTPTTL
	if maxTTL <= 0 {
		maxTTL = DefaultMaxOTPTTL
	}
	n, rejected, err := ParseWith(body, Options{NDRDetailTypes: s.NDRDetailTypes, Received: received, MaxOTPTTL: maxTTL, KeepStrayCodes: s.KeepStrayCodes})
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			warnOfPins(log, &Notification{}, []*FieldError{fe}, account.Of(ctx))
			return pipeline.Delivery{}, pipeline.Invalid(fe.Field, fe.Error())
		}
		return pipeline.Delivery{}, pipeline.Reject(400, "invalid_payload", "payload could not be parsed")
	}
	checkAppIDs(log, n, id.AppIDs)
	label := account.Of(ctx)
	warnOfPins(log, n, rejected, label)
	if n.StrayCodes > 0 {
		log.Warn("verificationCode removed from entries that are not OTPs", "removed", n.StrayCodes)
	}
	key := "shipping:" + n.Envelope.ID
	if replay {
		// A replay may follow a partly processed delivery whose key is completed: it must run again.
		key += ":replay"
	}
	d := pipeline.Delivery{
		Log:         log.With("deliveryId", n.Envelope.ID, "detailType", n.Envelope.DetailType, "otps", len(n.OTPs), "others", len(n.Others)),
		Claims:      []pipeline.Claim{{Key: key}},
		IDs:         map[string]any{"deliveryId": n.Envelope.ID},
		CountEvents: true,
	}
	// The OTPs are written in the same transaction as the claim: one round trip, not two.
	outcomes := make([]otpstore.Outcome, len(n.OTPs))
	d.Writes = s.writes(n, label, received, outcomes)
	// Tracking states too (tracking_steps.go).
	tr := s.track(n, label)
	d.Writes = append(d.Writes, tr.writes...)
	d.Work = func(ctx context.Context, log *slog.Logger) ([]eventbus.Event, error) {
		evs := s.events(ctx, log, n, label, received, outcomes)
		return append(evs, tr.events(log, label, received, s.IncludeOTP)...), nil
	}
	if len(rejected) > 0 {
		first := rejected[0]
		d.Partly = pipeline.Invalid(first.Field, fmt.Sprintf("%d of %d detail entries are invalid (first: %s); the others were processed", len(rejected), len(n.Envelope.Details), first.Error()))
		d.PartlyLog = []any{"invalidEntries", len(rejected)}
	}
	return d, nil
}

// writes are the conditional writes of n's OTPs; each records its outcome in outcomes (Stored
// unless its condition finds a newer or the same OTP; ExpiredOnArrival for an OTP that was no
// longer valid at received, which the store keeps only as an audit item).
func (s *Steps) writes(n *Notification, label string, received time.Time, outcomes []otpstore.Outcome) []idempotency.Write {
	ws := make([]idempotency.Write, 0, len(n.OTPs))
	for i, o := range n.OTPs {
		stored := otpstore.OTP{
			TrackingID:             o.TrackingID,
			AlternateLegTrackingID: o.AlternateLegTrackingID,
			Code:                   o.VerificationCode,
			ExpiresAt:              o.ExpiresAt(),
			ShipmentType:           o.ShipmentType,
			EventCode:              o.EventCode,
			AppID:                  o.AppID,
			DeliveryID:             n.Envelope.ID,
			EventTime:              n.Envelope.Time,
			ReceivedAt:             received,
			Account:                label,
		}
		if stored.ExpiredOnArrival() {
			// Its audit item's key is in a space no tracking ID reaches: never another write's.
			outcomes[i] = otpstore.ExpiredOnArrival
		}
		put, refused := s.OTPs.Write(stored)
		ws = append(ws, idempotency.Write{Put: put, Refused: func(ctx context.Context, old map[string]types.AttributeValue) error {
			out, err := refused(ctx, old)
			if err != nil {
				return fmt.Errorf("storing OTP for tracking ID %s: %w", o.TrackingID, err)
			}
			outcomes[i] = out
			return nil
		}})
	}
	return ws
}

// events are the events to emit once the OTPs are written: one per OTP that is now current (stale
// ones would announce a code that is no longer valid), one without its code per OTP expired on
// arrival, one per other detail entry (but a tracking or NDR entry's with OmitDeprecatedCopies).
func (s *Steps) events(ctx context.Context, log *slog.Logger, n *Notification, label string, received time.Time, outcomes []otpstore.Outcome) []eventbus.Event {
	var evs []eventbus.Event
	for i, o := range n.OTPs {
		log.Debug("otp stored", "trackingId", o.TrackingID, "outcome", outcomes[i].String())
		// An OTP already stored by an earlier attempt is current all the same.
		switch outcomes[i] {
		case otpstore.Stale:
			metrics.Add(ctx, metrics.OtpsStale, 1)
			continue
		case otpstore.ExpiredOnArrival:
			evs = append(evs, ExpiredOTPEvent(n.Envelope, label, o, received))
			continue
		}
		metrics.Add(ctx, metrics.OtpsStored, 1)
		evs = append(evs, OTPEvent(n.Envelope, label, o, received, s.IncludeOTP))
	}
	var recognised map[int]bool
	if s.OmitDeprecatedCopies {
		recognised = n.recognised()
	}
	for i, o := range n.Others {
		if recognised[i] {
			// Its tracking or NDR event is published without the deprecated copy.
			continue
		}
		evs = append(evs, OtherEvent(n.Envelope, label, o, i, received, s.IncludeOTP))
	}
	return evs
}

// warnOfPins names, for the operator, the account whose credential sent an OTP valid beyond the
// bound or a tracking eventTime in the future: attempts to pin a tracking ID's state, or a
// sender's clock gone wrong. The answer names no account.
func warnOfPins(log *slog.Logger, n *Notification, rejected []*FieldError, label string) {
	for _, fe := range rejected {
		if strings.HasSuffix(fe.Field, ".verificationCodeTTL") || fe.Field == "detail.verificationCodeTTL" {
			log.Warn("OTP valid beyond the bound after its receipt: entry quarantined", "field", fe.Field, "account", label)
		}
	}
	for _, t := range n.Tracking {
		if t.FutureEventTime {
			log.Warn("tracking eventTime after the receipt beyond the clock skew: taken for none", "trackingId", t.TrackingID, "eventTime", t.EventTimeText, "account", label)
		}
	}
}

// checkAppIDs warns of OTPs whose appId is not one the account's secret configures. The label
// stays: it comes from the credential, and the body's appId is only the sender's word (Amazon's
// envelope `account` is Amazon's AWS account, not the shipper's).
func checkAppIDs(log *slog.Logger, n *Notification, want []string) {
	if len(want) == 0 {
		return
	}
	for _, o := range n.OTPs {
		if o.AppID != "" && !slices.Contains(want, o.AppID) {
			log.Warn("appId differs from the account's configured app IDs; the account label is kept", "appId", o.AppID, "trackingId", o.TrackingID)
		}
	}
}

func (s *Steps) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
