package metrics_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
)

// BenchmarkMeasure: one delivery's record, as Measure writes it around every invocation.
func BenchmarkMeasure(b *testing.B) {
	h := metrics.Measure(io.Discard, "shipping", slog.New(slog.DiscardHandler), time.Now,
		func(ctx context.Context, _ json.RawMessage) (events.APIGatewayV2HTTPResponse, metrics.Answer, error) {
			metrics.Add(ctx, metrics.OtpsStored, 1)
			metrics.Add(ctx, metrics.EventPublished, 2)
			return events.APIGatewayV2HTTPResponse{StatusCode: 200}, metrics.Answer{Status: 200, BodyStatus: "accepted", RequestID: "Jx1a2b3c4d5e6fA=", Account: "default"}, nil
		})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWrite: an Object written by the Writer.
func BenchmarkWrite(b *testing.B) {
	w, o := metrics.NewWriter(io.Discard), valid()
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(o); err != nil {
			b.Fatal(err)
		}
	}
}
