package quarantine

import (
	"testing"
)

// Each function's role may read only quarantine/<its webhook>/: a delivery's key lies under its
// webhook's prefix and WebhookOf reads that webhook back; a key outside the quarantine names none.
func TestAKeyLiesUnderItsWebhooksPrefixAndNamesIt(t *testing.T) {
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
