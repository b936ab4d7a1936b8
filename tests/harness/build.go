package harness

import (
	"context"
	"log/slog"
	"strings"
	"testing"

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
