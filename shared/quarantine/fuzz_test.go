package quarantine

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
)

// FuzzEntry: whatever the invocation payload, Entry never panics; it hands the handler either an
// API Gateway request (never in a replay context) or, only for a top-level replay order naming a
// record of this webhook, the record's request in a replay context.
func FuzzEntry(f *testing.F) {
	for _, seed := range []string{
		`{"version":"2.0","rawPath":"/shipping/notifications","body":"{}"}`,
		`{"quarantineReplay":{"key":"quarantine/shipping/abc.json"}}`,
		`{"quarantineReplay":{"key":"quarantine/aps/abc.json"}}`,
		`{"quarantineReplay":null,"body":"x"}`,
		`{"body":"{\"quarantineReplay\":{\"key\":\"quarantine/shipping/abc.json\"}}"}`,
		`{"quarantineReplay":{}}`, `[]`, `null`, `"x"`, ``,
	} {
		f.Add(seed)
	}
	store := &memory{records: map[string]Record{
		"quarantine/shipping/abc.json": {Webhook: "shipping", Request: events.APIGatewayV2HTTPRequest{Body: "kept"}},
		"quarantine/aps/abc.json":      {Webhook: "aps", Request: events.APIGatewayV2HTTPRequest{Body: "other"}},
	}}
	f.Fuzz(func(t *testing.T, payload string) {
		var replayed bool
		var body string
		entry := Entry(store, "shipping", slog.New(slog.DiscardHandler), func(ctx context.Context, r events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			replayed, body = IsReplay(ctx), r.Body
			return httpapi.JSON(200, nil), nil
		})
		_, _ = entry(context.Background(), json.RawMessage(payload))
		if !replayed {
			return
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal([]byte(payload), &top); err != nil {
			t.Fatalf("replayed from a payload that is not an object: %q", payload)
		}
		// encoding/json matches keys case-insensitively: the order may be under any case.
		hasOrder := false
		for k := range top {
			hasOrder = hasOrder || strings.EqualFold(k, "quarantineReplay")
		}
		if !hasOrder || body != "kept" {
			t.Fatalf("replay from %q handed body %q", payload, body)
		}
	})
}
