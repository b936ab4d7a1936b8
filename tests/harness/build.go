package harness

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
)

// Build is a webhook function's build in its main.go: the function as Lambda runs it, configured
// from the environment.
type Build func(context.Context, *slog.Logger) (pipeline.LambdaHandler, error)

// Built is the function build makes from the environment the test set, logging to log.
func Built(t testing.TB, build Build, log *slog.Logger) pipeline.LambdaHandler {
	t.Helper()
	return must[pipeline.LambdaHandler](t)(build(context.Background(), log))
}

// BuildFails fails t unless build, from the environment the test set, fails naming want (the
// variable at fault): a misconfigured deployment must fail its init and say why.
func BuildFails(t testing.TB, build Build, want string) {
	t.Helper()
	_, err := build(context.Background(), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want one naming %s", err, want)
	}
}

// Post invokes h with req as Lambda would, with a generous budget (moto is slow), and returns
// the answer and its JSON body; it fails t if h errs or the body is not JSON.
func Post(t testing.TB, h pipeline.LambdaHandler, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := h.Handle(ctx, req)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("response body is not JSON: %q", resp.Body)
	}
	return resp, body
}
