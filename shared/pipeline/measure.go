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
// delivery's outcome and reason (metrics.Classify on the final answer), what it counted on the
// way (metrics.Add) and its latency. A nil w writes nothing.
func measure(w io.Writer, webhook string, log *slog.Logger, now func() time.Time, h LambdaHandler) LambdaHandler {
	if w == nil {
		return h
	}
	out := metrics.NewWriter(w)
	return func(ctx context.Context, payload json.RawMessage) (resp events.APIGatewayV2HTTPResponse, err error) {
		start := now()
		ctx, d := metrics.Start(ctx)
		// Deferred so that a panic, which Lambda turns into a 500, is counted too.
		answered := false
		defer func() {
			a := metrics.Answer{Status: 500}
			if answered && err == nil {
				a = answerOf(resp)
			}
			end := now()
			if werr := out.Write(d.Object(webhook, end, a, end.Sub(start))); werr != nil {
				log.Error("metrics not written", "error", werr)
			}
		}()
		resp, err = h(ctx, payload)
		answered = true
		return resp, err
	}
}

// answerOf reads the status and error code of an answer; bodies are the gateway's own JSON.
func answerOf(resp events.APIGatewayV2HTTPResponse) metrics.Answer {
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	_ = json.Unmarshal([]byte(resp.Body), &body)
	return metrics.Answer{Status: resp.StatusCode, BodyStatus: body.Status, Error: body.Error}
}
