package pipeline

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
)

// measure wraps a function's entry point so that every invocation — a delivery or a replay,
// refused early or processed, even one that panics — writes exactly one EMF line to w: the
// delivery's outcome and reason (metrics.Classify on what the final answer says), what it
// counted on the way (metrics.Add) and its latency. A nil w writes nothing.
func measure(w io.Writer, webhook string, log *slog.Logger, now func() time.Time, h entryFunc) LambdaHandler {
	if w == nil {
		return func(ctx context.Context, payload json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
			r, err := h(ctx, payload)
			return r.APIGatewayV2HTTPResponse, err
		}
	}
	out := metrics.NewWriter(w)
	return func(ctx context.Context, payload json.RawMessage) (resp events.APIGatewayV2HTTPResponse, err error) {
		start := now()
		ctx, d := metrics.Start(ctx)
		// Deferred so that a panic, which Lambda turns into a 500, is counted too.
		a := metrics.Answer{Status: 500}
		defer func() {
			end := now()
			if werr := out.WriteDelivery(d, webhook, end, a, end.Sub(start)); werr != nil {
				log.Error("metrics not written", "error", werr)
			}
		}()
		r, err := h(ctx, payload)
		if err == nil {
			a = metrics.Answer{Status: r.StatusCode, BodyStatus: r.BodyStatus, Error: r.Code}
		}
		return r.APIGatewayV2HTTPResponse, err
	}
}
