package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
)

type recordReader interface {
	Get(ctx context.Context, key string) (quarantine.Record, error)
}

// Replay is the invocation payload that replays a quarantined delivery:
// {"quarantineReplay": {"key": "quarantine/shipping/….json"}}. Only principals allowed to invoke
// the function directly can send it; API Gateway's payload never has this shape.
type Replay struct {
	Key string `json:"key"`
}

type invocation struct {
	Replay *Replay `json:"quarantineReplay"`
	events.APIGatewayV2HTTPRequest
}

// LambdaHandler is a function's entry point: API Gateway requests and replay orders.
type LambdaHandler func(context.Context, json.RawMessage) (events.APIGatewayV2HTTPResponse, error)

// Invoke makes h a lambda.Handler, which lambda.Start serves as it is: the payload reaches h as
// Lambda sent it, decoded once (a handler func would have it decoded into a json.RawMessage
// first), and the answer is encoded as lambda.Start encodes a func's (no HTML escaping), by
// appendResponse.
func (h LambdaHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	resp, err := h(ctx, payload)
	if err != nil {
		return nil, err
	}
	return appendResponse(make([]byte, 0, 512+len(resp.Body)), &resp), nil
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

// entry is the function's entry point: API Gateway requests go to handle as they are; a Replay
// reads the delivery from records and hands it to handle as a replay (replay true: it was
// authenticated when it arrived, and its credentials were not kept).
func entry(records recordReader, webhook string, log *slog.Logger, handle func(context.Context, events.APIGatewayV2HTTPRequest, bool) httpapi.Reply) entryFunc {
	return func(ctx context.Context, payload json.RawMessage) (httpapi.Reply, error) {
		var in invocation
		// API Gateway's requests take the fast path; a replay order (and anything unusual) is read
		// by encoding/json.
		if !httpapi.DecodeRequest(payload, &in.APIGatewayV2HTTPRequest) {
			if err := json.Unmarshal(payload, &in); err != nil {
				return httpapi.Reply{}, fmt.Errorf("invocation payload: %w", err)
			}
		}
		if in.Replay == nil {
			return handle(ctx, in.APIGatewayV2HTTPRequest, false), nil
		}
		// Checked before reading: the function's role may read only its own webhook's prefix, so
		// another webhook's key would fail as access denied (503, "retry later") instead of 409.
		if other, ok := quarantine.WebhookOf(in.Replay.Key); ok && other != webhook {
			return httpapi.ReplyError(409, "wrong_function", fmt.Sprintf("the delivery belongs to the %s webhook", other)), nil
		}
		r, err := records.Get(ctx, in.Replay.Key)
		if errors.Is(err, quarantine.ErrNotFound) {
			log.Warn("replay: no such quarantined delivery", "quarantineKey", in.Replay.Key)
			return httpapi.ReplyError(404, "not_found", "no quarantined delivery with that key"), nil
		}
		if err != nil {
			log.Error("replay: quarantined delivery unreadable", "quarantineKey", in.Replay.Key, "error", err)
			return httpapi.ReplyRetryLater("the quarantined delivery could not be read; retry later"), nil
		}
		if r.Webhook != webhook {
			return httpapi.ReplyError(409, "wrong_function", fmt.Sprintf("the delivery belongs to the %s webhook", r.Webhook)), nil
		}
		log.Info("replaying quarantined delivery", "quarantineKey", in.Replay.Key, "reason", r.Reason)
		metrics.MarkReplay(ctx)
		// A record from before account labels has none: its deployment served one account.
		if r.Account != "" {
			ctx = account.With(ctx, r.Account)
		}
		return handle(ctx, r.Request, true), nil
	}
}
