package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/webhooks"
)

type recordReader interface {
	Get(ctx context.Context, key string) (quarantine.Record, error)
}

// Replay is the invocation payload that replays a quarantined delivery (webhooks.Replay).
type Replay = webhooks.Replay

// RedriveOrder is the invocation payload that re-drives a deferred delivery
// (webhooks.RedriveOrder).
type RedriveOrder = webhooks.RedriveOrder

type invocation struct {
	Replay  *Replay       `json:"quarantineReplay"`
	Redrive *RedriveOrder `json:"deferredRedrive"`
	events.APIGatewayV2HTTPRequest
}

// LambdaHandler is a function's entry point: API Gateway requests, replay and re-drive orders,
// and re-drive batches.
type LambdaHandler func(context.Context, json.RawMessage) (events.APIGatewayV2HTTPResponse, error)

// Invoke makes h a lambda.Handler, which lambda.Start serves as it is: the payload reaches h as
// Lambda sent it, decoded once (a handler func would have it decoded into a json.RawMessage
// first), and the answer is encoded as lambda.Start encodes a func's (no HTML escaping), by
// encodeResponse; a re-drive batch's answer is its batch response as it is.
func (h LambdaHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	resp, err := h(ctx, payload)
	if err != nil {
		return nil, err
	}
	if resp.Headers["content-type"] == batchResponseType {
		return []byte(resp.Body), nil
	}
	return encodeResponse(&resp)
}

// Handle invokes h with an API Gateway request, as Lambda would.
func (h LambdaHandler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return h(ctx, payload)
}

// entryFunc is a LambdaHandler whose answer says what its body says, for measure.
type entryFunc func(context.Context, json.RawMessage) (httpapi.Reply, error)

// entryPoint is the function's entry point: API Gateway requests go to handle as they are; a
// Replay reads the delivery from records, a RedriveOrder from the re-drive store, and hands it to
// handle as a replay (replay true: it was authenticated when it arrived, and its credentials were
// not kept).
type entryPoint struct {
	records recordReader
	redrive Redrive
	webhook string
	log     *slog.Logger
	now     func() time.Time
	handle  func(context.Context, events.APIGatewayV2HTTPRequest, bool) httpapi.Reply
}

func (e *entryPoint) serve(ctx context.Context, payload json.RawMessage) (httpapi.Reply, error) {
	var in invocation
	if err := json.Unmarshal(payload, &in); err != nil {
		return httpapi.Reply{}, fmt.Errorf("invocation payload: %w", err)
	}
	switch {
	case in.Replay != nil:
		return e.replay(ctx, in.Replay.Key), nil
	case in.Redrive != nil:
		return e.redriveOne(ctx, in.Redrive.Key), nil
	}
	return e.handle(ctx, in.APIGatewayV2HTTPRequest, false), nil
}

func (e *entryPoint) replay(ctx context.Context, key string) httpapi.Reply {
	// Checked before reading: the function's role may read only its own webhook's prefix, so
	// another webhook's key would fail as access denied (503, "retry later") instead of 409.
	if other, ok := quarantine.WebhookOf(key); ok && other != e.webhook {
		return wrongFunction(other)
	}
	r, err := e.records.Get(ctx, key)
	if errors.Is(err, quarantine.ErrNotFound) {
		e.log.Warn("replay: no such quarantined delivery", "quarantineKey", key)
		return httpapi.ReplyError(404, "not_found", "no quarantined delivery with that key")
	}
	if err != nil {
		e.log.Error("replay: quarantined delivery unreadable", "quarantineKey", key, "error", err)
		return httpapi.ReplyRetryLater("the quarantined delivery could not be read; retry later")
	}
	if r.Webhook != e.webhook {
		return wrongFunction(r.Webhook)
	}
	e.log.Info("replaying quarantined delivery", "quarantineKey", key, "reason", r.Reason)
	metrics.MarkReplay(ctx)
	// A record from before account labels has none: its deployment served one account.
	if r.Account != "" {
		ctx = account.With(ctx, r.Account)
	}
	return e.handle(ctx, r.Request, true)
}

func wrongFunction(webhook string) httpapi.Reply {
	return httpapi.ReplyError(409, "wrong_function", fmt.Sprintf("the delivery belongs to the %s webhook", webhook))
}
