package harness

import "github.com/amazon-webhook-gateway/gateway/shared/apssignature"

// The development merchant secret's Apple Pay phrase set (events/dev/aps-merchant.json):
// its own access code, response phrase and algorithm beside the web integration's (APSPhrase,
// SHA-256) on the same routes.
const (
	ApplePayAccessCode = "dev-apple-pay-access-code"
	ApplePayPhrase     = "dev-apple-pay-response-phrase-0123"
	ApplePayAlgorithm  = apssignature.SHA512
)

// SignApplePay returns params with the Apple Pay set's signature.
func SignApplePay(params map[string]string) map[string]string {
	p := map[string]string{}
	for k, v := range params {
		p[k] = v
	}
	s, _ := apssignature.NewSigner(ApplePayAlgorithm, ApplePayPhrase)
	p["signature"] = s.Sign(p)
	return p
}
