package lookup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/trackingstore"
)

// Config is the shipping-lookup function's configuration (template.yaml, ShippingLookupFunction).
type Config struct {
	OTPTable, TrackingTable string
	// Now is the clock an OTP's expiry is judged by, read once per request; nil is time.Now.
	Now func() time.Time
	// Metrics receives one record per lookup, its EMF metrics and its "delivery answered" log line
	// (the function's stdout); nil writes none.
	Metrics io.Writer
}

// ReadConfig reads the function's environment; its errors name the variable.
func ReadConfig() (Config, error) {
	c := Config{Metrics: os.Stdout}
	var err error
	if c.OTPTable, err = envconfig.Required("OTP_TABLE_NAME"); err != nil {
		return Config{}, err
	}
	if c.TrackingTable, err = envconfig.Required("TRACKING_TABLE_NAME"); err != nil {
		return Config{}, err
	}
	return c, nil
}

// LambdaHandler is the function's entry point, which lambda.Start serves.
type LambdaHandler func(context.Context, json.RawMessage) (events.APIGatewayV2HTTPResponse, error)

// New builds the function's Lambda handler on awsCfg. It does not use the webhooks' pipeline:
// a lookup claims nothing, stores nothing and publishes nothing.
func New(awsCfg aws.Config, c Config, log *slog.Logger) (LambdaHandler, error) {
	if c.OTPTable == "" || c.TrackingTable == "" {
		return nil, errors.New("lookup: both tables must be named")
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	db := dynamodb.NewFromConfig(awsCfg)
	// The stores' own clocks are not used: CurrentIn is given the request's moment.
	h := &Handler{OTPs: otpstore.New(db, c.OTPTable, now), Tracking: trackingstore.New(db, c.TrackingTable, 0, now), Now: now, Log: log}
	// Latency is real time, not the injected clock that judges expiry.
	return metrics.Measure(c.Metrics, MetricsName, log, time.Now, h.entry), nil
}

// MetricsName is the Webhook dimension of the lookups' records: each lookup is counted as the
// webhooks count a delivery (Deliveries by Outcome and Reason, Latency), under its own name.
const MetricsName = "shipping-lookup"

// The stores' reads within one account's key space: another account's items are never found.
type otps interface {
	CurrentIn(ctx context.Context, label, id string, at time.Time) (otpstore.OTP, error)
}

type states interface {
	GetIn(ctx context.Context, label, trackingID string) (trackingstore.State, error)
}

// Handler answers lookups.
type Handler struct {
	OTPs     otps
	Tracking states
	Now      func() time.Time
	Log      *slog.Logger
}

// The 404 bodies. One per kind, whatever the reason and whichever the route: an expired OTP, an
// ID never seen and an account without the ID (or unknown) must be indistinguishable.
var (
	noOTP      = httpapi.ErrorBody{Error: "not_found", Message: "no current OTP for this tracking ID"}
	noTracking = httpapi.ErrorBody{Error: "not_found", Message: "no tracking state for this tracking ID"}
)

// entry is the function's entry point: one API Gateway request (payload 2.0) in, one answer out,
// and what its record says of it.
func (h *Handler) entry(ctx context.Context, payload json.RawMessage) (events.APIGatewayV2HTTPResponse, metrics.Answer, error) {
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return events.APIGatewayV2HTTPResponse{}, metrics.Answer{}, fmt.Errorf("invocation payload: %w", err)
	}
	r := h.Handle(ctx, &req)
	return r.APIGatewayV2HTTPResponse, metrics.Answer{Status: r.StatusCode, BodyStatus: r.BodyStatus, Error: r.Code, RequestID: r.RequestID, Account: r.Account}, nil
}

// Handle answers req. Every answer carries Cache-Control: no-store (httpapi's headers): an OTP
// must not outlive its validity in a cache.
func (h *Handler) Handle(ctx context.Context, req *events.APIGatewayV2HTTPRequest) httpapi.Reply {
	at := h.Now()
	return httpapi.Answer(ctx, h.Log, req, func(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest) httpapi.Reply {
		r, p := Parse(req)
		if p != nil {
			// Nothing of the request is logged but the route: the identity is missing or the ID unusable.
			log.Warn("lookup refused", "routeKey", req.RouteKey, "reason", p.Code)
			return httpapi.ReplyJSON(p.Status, httpapi.ErrorBody{Error: p.Code, Message: p.Message, Field: p.Field}, "", p.Code)
		}
		// Who asked for what, in which account's key space; never the code.
		log = log.With("lookup", r.Kind.String(), "account", r.Account, "userArn", r.Caller.UserARN, "trackingId", r.TrackingID)
		var reply httpapi.Reply
		var err error
		switch r.Kind {
		case OTP:
			reply, err = h.otp(ctx, r.Account, r.TrackingID, at)
		default:
			reply, err = h.tracking(ctx, r.Account, r.TrackingID)
		}
		if err != nil {
			log.Error("lookup failed", "error", err)
			return httpapi.ReplyRetryLater("the lookup could not be made; retry later")
		}
		log.Info("lookup answered", "found", reply.StatusCode == 200)
		return reply
	})
}

// OTPBody is the 200 body of the OTP routes: the fields of the "Shipping OTP Generated" event's
// data, and the label of the account whose key space holds it.
type OTPBody struct {
	TrackingID                string    `json:"trackingId"`
	AlternateLegTrackingID    string    `json:"alternateLegTrackingId,omitempty"`
	ShipmentType              string    `json:"shipmentType,omitempty"`
	EventCode                 string    `json:"eventCode,omitempty"`
	AppID                     string    `json:"appId,omitempty"`
	VerificationCode          string    `json:"verificationCode"`
	VerificationCodeTTL       int64     `json:"verificationCodeTTL"`
	VerificationCodeExpiresAt time.Time `json:"verificationCodeExpiresAt"`
	// Account is added last (additive): default on the default routes.
	Account string `json:"account"`
}

func (h *Handler) otp(ctx context.Context, label, id string, at time.Time) (httpapi.Reply, error) {
	o, err := h.OTPs.CurrentIn(ctx, label, id, at)
	if errors.Is(err, otpstore.ErrNotFound) {
		return httpapi.ReplyJSON(404, noOTP, "", noOTP.Error), nil
	}
	if err != nil {
		return httpapi.Reply{}, err
	}
	return httpapi.ReplyJSON(200, OTPBody{
		TrackingID: o.TrackingID, AlternateLegTrackingID: o.AlternateLegTrackingID, ShipmentType: o.ShipmentType,
		EventCode: o.EventCode, AppID: o.AppID, VerificationCode: o.Code,
		VerificationCodeTTL: o.ExpiresAt.UnixMilli(), VerificationCodeExpiresAt: o.ExpiresAt, Account: label,
	}, "", ""), nil
}

// TrackingBody is the 200 body of the tracking routes: the fields of the "Shipping Tracking
// Updated" event's data, when the state was stored, and the label of the account whose key space
// holds it.
type TrackingBody struct {
	TrackingID             string                     `json:"trackingId"`
	AlternateLegTrackingID string                     `json:"alternateLegTrackingId,omitempty"`
	ShipmentType           string                     `json:"shipmentType,omitempty"`
	Status                 string                     `json:"status,omitempty"`
	EventCode              string                     `json:"eventCode,omitempty"`
	EventTime              *time.Time                 `json:"eventTime,omitempty"`
	EstimatedArrival       string                     `json:"estimatedArrival,omitempty"`
	Terminal               bool                       `json:"terminal"`
	UpdatedAt              time.Time                  `json:"updatedAt"`
	Detail                 map[string]json.RawMessage `json:"detail"`
	// Account is added last (additive): default on the default routes.
	Account string `json:"account"`
}

func (h *Handler) tracking(ctx context.Context, label, id string) (httpapi.Reply, error) {
	st, err := h.Tracking.GetIn(ctx, label, id)
	if errors.Is(err, trackingstore.ErrNotFound) {
		return httpapi.ReplyJSON(404, noTracking, "", noTracking.Error), nil
	}
	if err != nil {
		return httpapi.Reply{}, err
	}
	body := TrackingBody{
		TrackingID: st.TrackingID, AlternateLegTrackingID: st.AlternateLegTrackingID, ShipmentType: st.ShipmentType,
		Status: st.Status, EventCode: st.EventCode, EstimatedArrival: st.EstimatedArrival, Terminal: st.Terminal,
		UpdatedAt: st.UpdatedAt, Detail: map[string]json.RawMessage{}, Account: label,
	}
	if !st.EventTime.IsZero() {
		body.EventTime = &st.EventTime
	}
	var detail map[string]json.RawMessage
	if json.Unmarshal([]byte(st.Detail), &detail) == nil && detail != nil {
		// A tracking entry may carry an OTP, valid or not: codes are handed out by the OTP route
		// only, which checks their expiry.
		delete(detail, "verificationCode")
		body.Detail = detail
	}
	return httpapi.ReplyJSON(200, body, "", ""), nil
}
