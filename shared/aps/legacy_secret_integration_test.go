package aps_test

import (
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/aps"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
)

// The merchant secret's format before phrase sets keeps working against Secrets
// Manager: its one set verifies the web samples, and an Apple Pay result, whose access code it
// does not hold, selects no set.
func TestTheSecretFormatBeforePhraseSetsKeepsWorking(t *testing.T) {
	legacy := `{"shaResponsePhrase":"` + devPhrase + `","previousShaResponsePhrase":"","merchantIdentifier":"MxvOupuG","accessCode":"SILgpo7pWbmzuURp2qri"}`
	tests := []struct {
		sample     string
		want       int
		wantField  string
		detailType string
	}{
		{"aps-transaction-feedback-json.json", 200, "", aps.DetailTypePurchaseSucceeded},
		{"aps-notification-feedback-form.json", 200, "", aps.DetailTypeRefundSucceeded},
		{"aps-apple-pay-purchase.json", 401, "access_code", ""},
		{"aps-bad-signature.json", 401, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.sample, func(t *testing.T) {
			e := newEnv(t, func(c *envConfig) { c.secret = legacy })
			status, body := e.post(t, testenv.LoadEvent(t, tc.sample))
			field, _ := body["field"].(string)
			if status != tc.want || field != tc.wantField {
				t.Fatalf("got %d %v, want %d naming %q", status, body, tc.want, tc.wantField)
			}
			evs := e.consumed(t)
			if tc.detailType == "" && len(evs) != 0 || tc.detailType != "" && (len(evs) == 0 || evs[0].DetailType != tc.detailType) {
				t.Errorf("events %+v, want %q", evs, tc.detailType)
			}
		})
	}
}
