package harness

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/lookup"
)

// An OTP delivered to the Shipping function is what the lookup function returns to a
// signed request (the event API Gateway would send: moto does not front API Gateway), by either
// leg; the logs never hold it.
func TestTheLookupReturnsTheDeliveredOTP(t *testing.T) {
	g := Start(t, local)
	ttl := time.Now().Add(time.Hour).UnixMilli()
	if resp := g.Send(t, Shipping(ShippingBody(Unique("env"), time.Now(), OTP{TrackingID: "T-look", Code: "731731", TTL: ttl}))); resp.StatusCode != 200 {
		t.Fatalf("delivery: %d %s", resp.StatusCode, resp.Body)
	}
	for _, id := range []string{"T-look", "alt-T-look"} {
		req := events.APIGatewayV2HTTPRequest{RouteKey: lookup.OTPRouteKey, RawPath: "/shipping/otps/" + id, PathParameters: map[string]string{"trackingId": id}}
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:role/app"},
		}
		resp := g.Deliver(req)
		var b lookup.OTPBody
		if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &b) != nil || b.VerificationCode != "731731" || b.VerificationCodeTTL != ttl {
			t.Errorf("lookup by %s: %d %s", id, resp.StatusCode, resp.Body)
		}
	}
	if strings.Contains(g.Logs.String(), "731731") {
		t.Error("the logs hold the code")
	}
}
