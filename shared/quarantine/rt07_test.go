package quarantine

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
)

// countingReader counts reads: a function's role may read only its own webhook's prefix.
type countingReader struct {
	*memory
	gets int
}

func (c *countingReader) Get(ctx context.Context, key string) (Record, error) {
	c.gets++
	return c.memory.Get(ctx, key)
}

// RT-07: each function's role may read only quarantine/<its webhook>/. A replay order naming
// another webhook's delivery is answered 409 without reading it: the read would be denied in
// AWS and answered 503 ("retry later"), sending the operator after a fault that is not there.
func TestRT07_ReplayOfAnotherWebhooksDeliveryIsRefusedWithoutReadingIt(t *testing.T) {
	store := &countingReader{memory: &memory{}}
	own, _ := store.Put(context.Background(), Record{Webhook: "shipping", Request: delivery()})
	other, _ := store.Put(context.Background(), Record{Webhook: "aps", Request: events.APIGatewayV2HTTPRequest{RawPath: "/aps/transaction-feedback"}})
	for _, tc := range []struct {
		name      string
		key       string
		status    int
		wantReads int
	}{
		{"own webhook", own, 200, 1},
		{"another webhook", other, 409, 0},
		{"another webhook, no such delivery", WebhookPrefix("amazon-pay") + "nope.json", 409, 0},
		{"own webhook, no such delivery", WebhookPrefix("shipping") + "nope.json", 404, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store.gets = 0
			handled := 0
			entry := Entry(store, "shipping", slog.New(slog.DiscardHandler), func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				handled++
				return httpapi.JSON(200, nil), nil
			})
			order, _ := json.Marshal(map[string]Replay{"quarantineReplay": {Key: tc.key}})
			resp, err := entry(context.Background(), order)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || store.gets != tc.wantReads {
				t.Errorf("got %d after %d reads, want %d after %d: %s", resp.StatusCode, store.gets, tc.status, tc.wantReads, resp.Body)
			}
			if tc.status != 200 && handled != 0 {
				t.Error("the handler ran")
			}
		})
	}
}

func TestRT07_KeysAndPrefixesAgree(t *testing.T) {
	req := delivery()
	for _, webhook := range []string{"shipping", "aps", "amazon-pay"} {
		key := Key(webhook, &req)
		if got, ok := WebhookOf(key); !ok || got != webhook || key[:len(WebhookPrefix(webhook))] != WebhookPrefix(webhook) {
			t.Errorf("%s: key %s, WebhookOf %q %v", webhook, key, got, ok)
		}
	}
	for _, key := range []string{"oversized/x/y.json", "quarantine/", "quarantine", ""} {
		if w, ok := WebhookOf(key); ok {
			t.Errorf("WebhookOf(%q) = %q", key, w)
		}
	}
}
