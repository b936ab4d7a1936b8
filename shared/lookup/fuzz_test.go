package lookup

import (
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
)

// FuzzParse: whatever the route, the path parameters and the identity, Parse never panics,
// refuses every request without an IAM identity with ErrNoIdentity, and accepts only a known
// route with a tracking ID ValidTrackingID allows; on an account route only a label account.Check
// allows, which is the account read, and on a default route always the default account, whatever
// account parameter came along.
func FuzzParse(f *testing.F) {
	for _, s := range []struct {
		route, label, id string
		iam              bool
	}{
		{OTPRouteKey, "", "1709913037960", true},
		{TrackingRouteKey, "", "TBA123456789", true},
		{OTPRouteKey, "", "1709913037960", false},
		{"GET /shipping/otps/{id}", "", "x", true},
		{OTPRouteKey, "", "", true},
		{OTPRouteKey, "", "expired-on-arrival#1709913037944", true},
		{OTPRouteKey, "", "a\x7fb", true},
		{OTPRouteKey, "", "\xff\xfe", true},
		{TrackingRouteKey, "", strings.Repeat("9", MaxTrackingIDBytes), true},
		{TrackingRouteKey, "", strings.Repeat("9", MaxTrackingIDBytes+1), true},
		{AccountOTPRouteKey, "acme-a", "1709913037960", true},
		{AccountTrackingRouteKey, "acme-b", "TBA123456789", true},
		{AccountOTPRouteKey, "default", "1709913037960", true},
		{AccountOTPRouteKey, "acme-a", "1709913037960", false},
		{AccountOTPRouteKey, "", "1709913037960", true},
		{AccountOTPRouteKey, "Acme-A", "1709913037960", true},
		{AccountOTPRouteKey, "acme-a#acme-b", "1709913037960", true},
		{AccountTrackingRouteKey, "acme-a/otps", "1", true},
		{AccountTrackingRouteKey, strings.Repeat("a", 65), "1", true},
		{AccountOTPRouteKey, "acme-a", "acme-b#1709913037960", true},
		{OTPRouteKey, "acme-b", "1709913037960", true},
	} {
		f.Add(s.route, s.label, s.id, s.iam)
	}
	f.Fuzz(func(t *testing.T, route, label, id string, iam bool) {
		req := &events.APIGatewayV2HTTPRequest{RouteKey: route, PathParameters: map[string]string{PathParameter: id, AccountParameter: label}}
		if iam {
			req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::1:user/u"},
			}
		}
		labelled := route == AccountOTPRouteKey || route == AccountTrackingRouteKey
		r, p := Parse(req)
		switch {
		case !iam:
			if p != ErrNoIdentity {
				t.Fatalf("no identity: got %+v, %v", r, p)
			}
		case !labelled && route != OTPRouteKey && route != TrackingRouteKey:
			if p != ErrNoRoute {
				t.Fatalf("route %q: got %+v, %v", route, r, p)
			}
		case labelled && account.Check(label) != nil:
			if p != ErrBadAccount {
				t.Fatalf("label %q: got %+v, %v", label, r, p)
			}
		case p == nil:
			if !ValidTrackingID(r.TrackingID) || r.TrackingID != id || r.Caller == nil || (r.Kind != OTP && r.Kind != Tracking) {
				t.Fatalf("accepted %+v", r)
			}
			if len(id) > MaxTrackingIDBytes || strings.ContainsAny(id, "\x00\n\r\x7f#") {
				t.Fatalf("accepted the tracking ID %q", id)
			}
			want := account.Default
			if labelled {
				want = label
			}
			if r.Account != want || strings.ContainsAny(r.Account, "#/%*") {
				t.Fatalf("route %q, label %q: reads account %q, want %q", route, label, r.Account, want)
			}
		case p != ErrBadID:
			t.Fatalf("id %q: %v", id, p)
		}
	})
}
