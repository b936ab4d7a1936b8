package testenv

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// SetFunctionEnv sets, for the test, the environment template.yaml gives logicalID, with the
// given values. It fails when the template and values disagree on the names, so a function's main
// and the deployed template cannot drift apart.
func SetFunctionEnv(t testing.TB, logicalID string, values map[string]string) {
	t.Helper()
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	names := tmpl.FunctionEnv(logicalID)
	for _, n := range names {
		v, ok := values[n]
		if !ok {
			t.Fatalf("template.yaml gives %s %s, which main does not read", logicalID, n)
		}
		t.Setenv(n, v)
	}
	for n := range values {
		if !slices.Contains(names, n) {
			t.Fatalf("main reads %s but template.yaml does not give it to %s", n, logicalID)
		}
	}
}

// Consume reads a consumer's queue (ReceiveAll: up to max messages, until it stays empty for a
// quiet period) as EventBridge events of type T.
func Consume[T any](t testing.TB, cfg aws.Config, queueURL string, max int) []T {
	t.Helper()
	bodies, err := ReceiveAll(context.Background(), cfg, queueURL, max)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]T, 0, len(bodies))
	for _, b := range bodies {
		var ev T
		if err := json.Unmarshal([]byte(b), &ev); err != nil {
			t.Fatalf("queue message is not an EventBridge event: %v", err)
		}
		out = append(out, ev)
	}
	return out
}
