package shipping

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/auth"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
)

type authenticator interface {
	Authenticate(ctx context.Context, req *events.APIGatewayV2HTTPRequest) error
	Challenge() string
}

type otpWriter interface {
	Put(ctx context.Context, o otpstore.OTP) (otpstore.Outcome, error)
}

// storeConcurrency bounds the OTP writes in flight for one delivery.
const storeConcurrency = 16

// DefaultMaxBodyBytes bounds a delivery; an OTP payload is a few hundred bytes per tracking ID.
const DefaultMaxBodyBytes = 256 << 10

// Webhook names this webhook in quarantine records and keys.
const Webhook = "shipping"

// Steps are what Amazon Shipping push notifications need of the pipeline: the sender's
// credentials, the notification's OTPs stored, one event per current OTP and per other entry.
type Steps struct {
	Auth authenticator
	OTPs otpWriter
	// IncludeOTP puts the verification code itself into emitted events.
	IncludeOTP bool
	Now        func() time.Time
}

// Authenticate runs before the body is looked at. A replay was authenticated when it arrived;
// its credentials were not kept.
func (s *Steps) Authenticate(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, replay bool) (struct{}, *slog.Logger, error) {
	if replay {
		return struct{}{}, log, nil
	}
	if err := s.Auth.Authenticate(ctx, req); err != nil {
		if errors.Is(err, auth.ErrUnauthorized) {
			log.Warn("authentication failed")
			rej := pipeline.Reject(401, "unauthorized", "authentication failed")
			if c := s.Auth.Challenge(); c != "" {
				rej.Header = map[string]string{"WWW-Authenticate": c}
			}
			return struct{}{}, log, rej
		}
		log.Error("authentication unavailable", "error", err)
		return struct{}{}, log, pipeline.RetryLater("authentication is temporarily unavailable")
	}
	return struct{}{}, log, nil
}

// Plan parses the notification. An accumulated delivery some of whose entries are invalid is
// quarantined whole (for a replay after a fix) and its valid entries are processed now, because
// their OTPs are needed for pickups today.
func (s *Steps) Plan(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, _ struct{}, replay bool) (pipeline.Delivery, error) {
	if mt := httpapi.MediaType(req); mt != "" && !httpapi.IsJSON(mt) {
		return pipeline.Delivery{}, pipeline.Reject(415, "unsupported_media_type", "Content-Type must be application/json")
	}
	body, err := httpapi.Body(req)
	if err != nil {
		return pipeline.Delivery{}, pipeline.Reject(400, "invalid_encoding", err.Error())
	}
	n, rejected, err := ParsePartial(body)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return pipeline.Delivery{}, pipeline.Invalid(fe.Field, fe.Error())
		}
		return pipeline.Delivery{}, pipeline.Reject(400, "invalid_payload", "payload could not be parsed")
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
	d.Work = func(ctx context.Context, log *slog.Logger) ([]eventbus.Event, error) { return s.store(ctx, log, n) }
	if len(rejected) > 0 {
		first := rejected[0]
		d.Partly = pipeline.Invalid(first.Field, fmt.Sprintf("%d of %d detail entries are invalid (first: %s); the others were processed", len(rejected), len(n.Envelope.Details), first.Error()))
		d.PartlyLog = []any{"invalidEntries", len(rejected)}
	}
	return d, nil
}

// store writes every OTP and returns the events to emit: one per OTP that is now current (stale ones
// would announce a code that is no longer valid), one per other detail entry.
func (s *Steps) store(ctx context.Context, log *slog.Logger, n *Notification) ([]eventbus.Event, error) {
	received := s.now().UTC()
	// An accumulated payload may carry hundreds of tracking IDs: write them concurrently (bounded)
	// so the delivery fits in the function's few seconds instead of timing out on every retry.
	outcomes := make([]otpstore.Outcome, len(n.OTPs))
	errs := make([]error, len(n.OTPs))
	put := func(i int) {
		o := n.OTPs[i]
		outcomes[i], errs[i] = s.OTPs.Put(ctx, otpstore.OTP{
			TrackingID:             o.TrackingID,
			AlternateLegTrackingID: o.AlternateLegTrackingID,
			Code:                   o.VerificationCode,
			ExpiresAt:              o.ExpiresAt(),
			ShipmentType:           o.ShipmentType,
			EventCode:              o.EventCode,
			AppID:                  o.AppID,
			DeliveryID:             n.Envelope.ID,
			EventTime:              n.Envelope.Time,
		})
		// Counted as written, also when another write fails the delivery. An OTP already
		// stored by an earlier attempt is current all the same.
		switch {
		case errs[i] != nil:
		case outcomes[i] == otpstore.Stale:
			metrics.Add(ctx, metrics.OtpsStale, 1)
		default:
			metrics.Add(ctx, metrics.OtpsStored, 1)
		}
	}
	if len(n.OTPs) == 1 {
		put(0) // the usual delivery: no goroutine for one write
	} else {
		sem := make(chan struct{}, storeConcurrency)
		var wg sync.WaitGroup
		for i := range n.OTPs {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				put(i)
			}()
		}
		wg.Wait()
	}
	var evs []eventbus.Event
	for i, o := range n.OTPs {
		if errs[i] != nil {
			return nil, fmt.Errorf("storing OTP for tracking ID %s: %w", o.TrackingID, errs[i])
		}
		log.Info("otp stored", "trackingId", o.TrackingID, "outcome", outcomes[i].String())
		if outcomes[i] == otpstore.Stale {
			continue
		}
		evs = append(evs, OTPEvent(n.Envelope, o, received, s.IncludeOTP))
	}
	for i, o := range n.Others {
		evs = append(evs, OtherEvent(n.Envelope, o, i, received, s.IncludeOTP))
	}
	return evs, nil
}

func (s *Steps) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
