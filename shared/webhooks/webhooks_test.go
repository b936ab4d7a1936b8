package webhooks

import "testing"

// PlaceOf reads the place and the webhook of a key in each place, and refuses a key outside the
// places or without a webhook.
func TestPlaceOfReadsThePlaceAndTheWebhookOfAKey(t *testing.T) {
	for _, tt := range []struct {
		key            string
		place, webhook string
		ok             bool
	}{
		{"quarantine/shipping/ab.json", QuarantinePrefix, Shipping, true},
		{"deferred/aps/ab.json", DeferredPrefix, APS, true},
		{"deferred-dead/amazon-pay/ab.json", DeadPrefix, AmazonPay, true},
		{"deferred/shipping", DeferredPrefix, "shipping", false},
		{"quarantine//ab.json", QuarantinePrefix, "", false},
		{"oversized/shipping/ab.json", "", "", false},
		{"", "", "", false},
	} {
		place, webhook, ok := PlaceOf(tt.key)
		if place != tt.place || webhook != tt.webhook || ok != tt.ok {
			t.Errorf("PlaceOf(%q) = %q, %q, %t; want %q, %q, %t", tt.key, place, webhook, ok, tt.place, tt.webhook, tt.ok)
		}
	}
}
