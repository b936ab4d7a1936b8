package metrics

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Entry is a function's Lambda entry point that also says what its answer was.
type Entry func(context.Context, json.RawMessage) (events.APIGatewayV2HTTPResponse, Answer, error)

// Measure wraps h so that every invocation — even one that fails or panics — writes exactly one
// record to w under the Webhook dimension name (Delivery.Object): the outcome and reason (Classify
// on h's Answer; a failure or panic counts as a 500), what the invocation counted on the way
// (Add), its latency, and what its log line says of it. The record is the invocation's EMF object
// and its "delivery answered" log line in one: it is written to w whatever level log is set to,
// because it carries the metrics. A nil w writes nothing.
func Measure(w io.Writer, name string, log *slog.Logger, now func() time.Time, h Entry) func(context.Context, json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
	if w == nil {
		return func(ctx context.Context, payload json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
			resp, _, err := h(ctx, payload)
			return resp, err
		}
	}
	out := NewWriter(w)
	return func(ctx context.Context, payload json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
		start := now()
		ctx, d := Start(ctx)
		// Deferred so that a panic, which Lambda turns into a 500, is counted too.
		a := Answer{Status: 500}
		defer func() {
			end := now()
			if werr := out.Write(d.Object(name, end, a, end.Sub(start))); werr != nil {
				log.Error("metrics not written", "error", werr)
			}
		}()
		resp, answer, err := h(ctx, payload)
		if err == nil {
			a = answer
		}
		return resp, err
	}
}
