package badinput

import (
	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
)

// A message is verified only with the phrase set its access_code and
// merchant_identifier select; one that selects none is a 401 naming access_code.

func (c *corpus) apsNoPhraseSet(name string, req events.APIGatewayV2HTTPRequest) {
	c.t.Helper()
	c.aps(name, req, 401, "unauthorized", "access_code")
}

// applePayParams is an authentic, unsigned Apple Pay purchase success.
func (c *corpus) applePayParams() map[string]string {
	p := c.apsParams()
	p["access_code"], p["digital_wallet"] = harness.ApplePayAccessCode, "APPLE_PAY"
	return p
}

func apsPhraseSetCases(c *corpus) {
	for _, enc := range apsEncodings {
		sign := func(p map[string]string, alg apssignature.Algorithm, phrase string) events.APIGatewayV2HTTPRequest {
			p["signature"] = apsSign(alg, phrase, p)
			return enc.req(p)
		}
		c.apsOK(enc.name+" Apple Pay result signed with its own phrase", enc.req(harness.SignApplePay(c.applePayParams())))
		c.apsUnauthorized(enc.name+" Apple Pay result signed with the web phrase", enc.req(signed(c.applePayParams())))
		c.apsUnauthorized(enc.name+" Apple Pay result signed with the web phrase under its algorithm", sign(c.applePayParams(), harness.ApplePayAlgorithm, harness.APSPhrase))
		c.apsUnauthorized(enc.name+" web result signed with the Apple Pay phrase", enc.req(harness.SignApplePay(c.apsParams())))
		c.apsUnauthorized(enc.name+" web result signed with the Apple Pay phrase under the web algorithm", sign(c.apsParams(), apssignature.SHA256, harness.ApplePayPhrase))
		other := c.applePayParams()
		other["merchant_identifier"] = "OtherMer"
		c.apsNoPhraseSet(enc.name+" Apple Pay access code of another merchant", enc.req(harness.SignApplePay(other)))
	}
}
