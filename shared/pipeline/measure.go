package pipeline

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
)

// measure wraps a function's entry point so that every invocation — a delivery or a replay,
// refused early or processed, even one that panics — writes exactly one record to w
// (metrics.Measure): its EMF metrics and its "delivery answered" log line, classified on what the
// final answer says. A nil w writes nothing.
func measure(w io.Writer, webhook string, log *slog.Logger, now func() time.Time, h entryFunc) LambdaHandler {
	return metrics.Measure(w, webhook, log, now, func(ctx context.Context, payload json.RawMessage) (events.APIGatewayV2HTTPResponse, metrics.Answer, error) {
		r, err := h(ctx, payload)
		return r.APIGatewayV2HTTPResponse, answerOf(r), err
	})
}

// answerOf is what the record needs of a reply.
func answerOf(r httpapi.Reply) metrics.Answer {
	return metrics.Answer{Status: r.StatusCode, BodyStatus: r.BodyStatus, Error: r.Code, RequestID: r.RequestID, Account: r.Account}
}
