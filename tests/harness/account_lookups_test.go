package harness

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/lookup"
)

// lookupIn is the event API Gateway sends for a signed GET of route (an account route when label
// is set) with trackingId id.
func lookupIn(route, label, id string) events.APIGatewayV2HTTPRequest {
	path := strings.NewReplacer("{account}", label, "{trackingId}", id).Replace(strings.TrimPrefix(route, "GET "))
	req := events.APIGatewayV2HTTPRequest{RouteKey: route, RawPath: path, PathParameters: map[string]string{lookup.PathParameter: id}}
	if label != "" {
		req.PathParameters[lookup.AccountParameter] = label
	}
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:role/app-" + label},
	}
	return req
}

// Three accounts deliver an OTP and a tracking state for the same tracking ID
// with their own credentials, through the real pipeline against moto. Each account's routes
// answer its own, naming it; today's routes the default account's; an account's route never
// another's, and an account without the ID answers 404.
func TestEachAccountsLookupsReadItsOwnDeliveries(t *testing.T) {
	g := StartAccounts(t, local)
	id, alt := Unique("T"), Unique("R")
	keys := map[string]string{account.Default: APIKey, AccountA: APIKeyA, AccountB: APIKeyB}
	codes := map[string]string{account.Default: "250250", AccountA: "251251", AccountB: "252252"}
	statuses := map[string]string{account.Default: "InTransit", AccountA: "OutForDelivery", AccountB: "Delivered"}
	for label, key := range keys {
		if status, body := sendOTP(t, g.Gateway, key, otpEntry(id, alt, codes[label], time.Now().Add(time.Hour))); status != 200 {
			t.Fatalf("%s's OTP: %d %v", label, status, body)
		}
		entry := TrackingEntry(id, statuses[label], time.Now().UTC().Format(time.RFC3339))
		if resp := g.Send(t, ShippingWithKey(ShippingEnvelope(Unique("env"), "Tracking Detail", time.Now(), entry), key)); resp.StatusCode != 200 {
			t.Fatalf("%s's tracking state: %d %s", label, resp.StatusCode, resp.Body)
		}
	}
	for _, tc := range []struct {
		name, route, label, id string
		// want is the account whose item is answered; "" is 404.
		want string
	}{
		{"acme-a's OTP", lookup.AccountOTPRouteKey, AccountA, id, AccountA},
		{"acme-a's OTP by the reverse leg", lookup.AccountOTPRouteKey, AccountA, alt, AccountA},
		{"acme-b's OTP", lookup.AccountOTPRouteKey, AccountB, id, AccountB},
		{"acme-b's OTP by the reverse leg", lookup.AccountOTPRouteKey, AccountB, alt, AccountB},
		{"the default account's OTP by its account route", lookup.AccountOTPRouteKey, account.Default, id, account.Default},
		{"today's OTP route: the default account's", lookup.OTPRouteKey, "", id, account.Default},
		{"today's OTP route by the reverse leg", lookup.OTPRouteKey, "", alt, account.Default},
		{"an account that delivered nothing", lookup.AccountOTPRouteKey, "acme-c", id, ""},
		{"acme-a's tracking state", lookup.AccountTrackingRouteKey, AccountA, id, AccountA},
		{"acme-b's tracking state", lookup.AccountTrackingRouteKey, AccountB, id, AccountB},
		{"today's tracking route: the default account's", lookup.TrackingRouteKey, "", id, account.Default},
		{"a tracking state of an account that delivered nothing", lookup.AccountTrackingRouteKey, "acme-c", id, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := g.Deliver(lookupIn(tc.route, tc.label, tc.id))
			for label, code := range codes {
				if label != tc.want && strings.Contains(resp.Body, code) {
					t.Errorf("the answer holds %s's code: %s", label, resp.Body)
				}
			}
			if tc.want == "" {
				if resp.StatusCode != 404 {
					t.Errorf("%d %s, want 404", resp.StatusCode, resp.Body)
				}
				return
			}
			var b struct {
				Account, VerificationCode, Status string
			}
			if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &b) != nil || b.Account != tc.want {
				t.Fatalf("%d %s, want 200 naming %s", resp.StatusCode, resp.Body, tc.want)
			}
			if strings.Contains(tc.route, "/otps/") && b.VerificationCode != codes[tc.want] {
				t.Errorf("code %q, want %s's %s", b.VerificationCode, tc.want, codes[tc.want])
			}
			if strings.Contains(tc.route, "/tracking/") && b.Status != statuses[tc.want] {
				t.Errorf("status %q, want %s's %s", b.Status, tc.want, statuses[tc.want])
			}
		})
	}
	logs := g.Logs.String()
	for label, code := range codes {
		if strings.Contains(logs, code) {
			t.Errorf("the logs hold %s's code", label)
		}
	}
}
