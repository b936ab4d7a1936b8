package lookup

import (
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// FuzzParse: whatever the route, the path parameter and the identity, Parse never panics, refuses
// every request without an IAM identity with ErrNoIdentity, and accepts only a known route with a
// tracking ID ValidTrackingID allows.
func FuzzParse(f *testing.F) {
	for _, s := range []struct {
		route, id string
		iam       bool
	}{
		{OTPRouteKey, "1709913037960", true},
		{TrackingRouteKey, "TBA123456789", true},
		{OTPRouteKey, "1709913037960", false},
		{"GET /shipping/otps/{id}", "x", true},
		{OTPRouteKey, "", true},
		{OTPRouteKey, "expired-on-arrival#1709913037944", true},
		{OTPRouteKey, "a\x7fb", true},
		{OTPRouteKey, "\xff\xfe", true},
		{TrackingRouteKey, strings.Repeat("9", MaxTrackingIDBytes), true},
		{TrackingRouteKey, strings.Repeat("9", MaxTrackingIDBytes+1), true},
	} {
		f.Add(s.route, s.id, s.iam)
	}
	f.Fuzz(func(t *testing.T, route, id string, iam bool) {
		req := &events.APIGatewayV2HTTPRequest{RouteKey: route, PathParameters: map[string]string{PathParameter: id}}
		if iam {
			req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::1:user/u"},
			}
		}
		r, p := Parse(req)
		switch {
		case !iam:
			if p != ErrNoIdentity {
				t.Fatalf("no identity: got %+v, %v", r, p)
			}
		case route != OTPRouteKey && route != TrackingRouteKey:
			if p != ErrNoRoute {
				t.Fatalf("route %q: got %+v, %v", route, r, p)
			}
		case p == nil:
			if !ValidTrackingID(r.TrackingID) || r.TrackingID != id || r.Caller == nil || (r.Kind != OTP && r.Kind != Tracking) {
				t.Fatalf("accepted %+v", r)
			}
			if len(id) > MaxTrackingIDBytes || strings.ContainsAny(id, "\x00\n\r\x7f") {
				t.Fatalf("accepted the tracking ID %q", id)
			}
		case p != ErrBadID:
			t.Fatalf("id %q: %v", id, p)
		}
	})
}
