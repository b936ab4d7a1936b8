package shipping

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/auth"
	"github.com/amazon-webhook-gateway/gateway/shared/delivery"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
)

type authenticator interface {
	Authenticate(ctx context.Context, req *events.APIGatewayV2HTTPRequest) error
	Challenge() string
}

type otpWriter interface {
	Put(ctx context.Context, o otpstore.OTP) (otpstore.Outcome, error)
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

// storeConcurrency bounds the OTP writes in flight for one delivery.
const storeConcurrency = 16

// DefaultMaxBodyBytes bounds a delivery; an OTP payload is a few hundred bytes per tracking ID.
const DefaultMaxBodyBytes = 256 << 10

// Webhook names this webhook in quarantine records and keys.
const Webhook = "shipping"

// Handler answers Amazon Shipping push notifications.
type Handler struct {
	Auth        authenticator
	OTPs        otpWriter
	Idempotency onceRunner
	Events      publisher
	// Quarantine keeps authenticated deliveries that cannot be processed.
	Quarantine quarantiner
	// IncludeOTP puts the verification code itself into emitted events.
	IncludeOTP   bool
	MaxBodyBytes int
	Log          *slog.Logger
	Now          func() time.Time
}

// Handle is the Lambda entry point. It never returns an error: every outcome is an HTTP answer,
// because an error would reach Amazon as a bare 500 with no body.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return httpapi.Answer(ctx, h.Log, &req, h.handle), nil
}

func (h *Handler) handle(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	if resp, rejected := httpapi.RejectEarly(req, cmp.Or(h.MaxBodyBytes, DefaultMaxBodyBytes)); rejected {
		return resp
	}
	// Authentication always runs before the body is looked at. A replay was authenticated when it
	// arrived; its credentials were not kept.
	if !quarantine.IsReplay(ctx) {
		if err := h.Auth.Authenticate(ctx, req); err != nil {
			if errors.Is(err, auth.ErrUnauthorized) {
				log.Warn("authentication failed")
				resp := httpapi.Error(401, "unauthorized", "authentication failed")
				if c := h.Auth.Challenge(); c != "" {
					resp = httpapi.WithHeader(resp, "WWW-Authenticate", c)
				}
				return resp
			}
			log.Error("authentication unavailable", "error", err)
			return httpapi.RetryLater("authentication is temporarily unavailable")
		}
	}
	// From here on the delivery is Amazon's: what cannot be processed is quarantined, not refused.
	return h.Quarantine.Guard(ctx, log, req, func() events.APIGatewayV2HTTPResponse {
		if mt := httpapi.MediaType(req); mt != "" && !httpapi.IsJSON(mt) {
			return h.Quarantine.Keep(ctx, log, req, httpapi.Error(415, "unsupported_media_type", "Content-Type must be application/json"))
		}
		body, err := httpapi.Body(req)
		if err != nil {
			return h.Quarantine.Keep(ctx, log, req, httpapi.Error(400, "invalid_encoding", err.Error()))
		}
		n, rejected, err := ParsePartial(body)
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return h.Quarantine.Keep(ctx, log, req, httpapi.FieldError(fe.Field, fe.Error()))
			}
			return h.Quarantine.Keep(ctx, log, req, httpapi.Error(400, "invalid_payload", "payload could not be parsed"))
		}
		log := log.With("deliveryId", n.Envelope.ID, "detailType", n.Envelope.DetailType, "otps", len(n.OTPs), "others", len(n.Others))
		if len(rejected) > 0 {
			return h.processPartly(ctx, log, req, n, rejected)
		}
		return h.process(ctx, log, n)
	})
}

// processPartly handles an accumulated delivery some of whose entries are invalid: the delivery
// is quarantined whole (for a replay after a fix), then the valid entries are processed now,
// because their OTPs are needed for pickups today. The answer is 202 with the quarantine's
// reason and the processing's outcome; 503 if either step failed, so the sender retries both.
func (h *Handler) processPartly(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, n *Notification, rejected []*FieldError) events.APIGatewayV2HTTPResponse {
	first := rejected[0]
	why := fmt.Sprintf("%d of %d detail entries are invalid (first: %s); the others were processed", len(rejected), len(n.Envelope.Details), first.Error())
	kept := h.Quarantine.Keep(ctx, log, req, httpapi.FieldError(first.Field, why))
	if kept.StatusCode != 202 {
		return kept
	}
	done := h.process(ctx, log.With("invalidEntries", len(rejected)), n)
	if done.StatusCode != 200 {
		return done
	}
	body := map[string]any{}
	for _, b := range []string{done.Body, kept.Body} {
		_ = json.Unmarshal([]byte(b), &body)
	}
	body["status"] = "quarantined"
	return httpapi.JSON(202, body)
}

func (h *Handler) process(ctx context.Context, log *slog.Logger, n *Notification) events.APIGatewayV2HTTPResponse {
	key := "shipping:" + n.Envelope.ID
	if quarantine.IsReplay(ctx) {
		// A replay may follow a partly processed delivery whose key is completed: it must run again.
		key += ":replay"
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = h.now().Add(30 * time.Second)
	}
	events := 0
	err := h.Idempotency.Do(ctx, key, deadline, func(ctx context.Context) error {
		evs, err := h.store(ctx, log, n)
		if err != nil {
			return err
		}
		events = len(evs)
		return h.Events.Publish(ctx, evs)
	})
	return delivery.Answer(log, err, map[string]any{"deliveryId": n.Envelope.ID, "events": events})
}

// store writes every OTP and returns the events to emit: one per OTP that is now current (stale ones
// would announce a code that is no longer valid), one per other detail entry.
func (h *Handler) store(ctx context.Context, log *slog.Logger, n *Notification) ([]eventbus.Event, error) {
	received := h.now().UTC()
	// An accumulated payload may carry hundreds of tracking IDs: write them concurrently (bounded)
	// so the delivery fits in the function's few seconds instead of timing out on every retry.
	outcomes := make([]otpstore.Outcome, len(n.OTPs))
	errs := make([]error, len(n.OTPs))
	sem := make(chan struct{}, storeConcurrency)
	var wg sync.WaitGroup
	for i, o := range n.OTPs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			outcomes[i], errs[i] = h.OTPs.Put(ctx, otpstore.OTP{
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
		}()
	}
	wg.Wait()
	var evs []eventbus.Event
	for i, o := range n.OTPs {
		if errs[i] != nil {
			return nil, fmt.Errorf("storing OTP for tracking ID %s: %w", o.TrackingID, errs[i])
		}
		log.Info("otp stored", "trackingId", o.TrackingID, "outcome", outcomes[i].String())
		if outcomes[i] == otpstore.Stale {
			continue
		}
		evs = append(evs, OTPEvent(n.Envelope, o, received, h.IncludeOTP))
	}
	for i, o := range n.Others {
		evs = append(evs, OtherEvent(n.Envelope, o, i, received, h.IncludeOTP))
	}
	return evs, nil
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}
