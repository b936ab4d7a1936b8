package badinput

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/lookup"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
)

// fnLookup names the lookup function's cases (it quarantines nothing).
const fnLookup = "lookup"

// lookupRequest is the event API Gateway sends for GET route with trackingId id (moto does not
// front API Gateway: the cases are the events it would send); iam adds the caller it verified.
func lookupRequest(route, id string, iam bool) events.APIGatewayV2HTTPRequest {
	path := strings.Replace(strings.TrimPrefix(route, "GET "), "{trackingId}", id, 1)
	req := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: route, RawPath: path, Headers: map[string]string{"host": "abc123.execute-api.eu-west-1.amazonaws.com"},
		PathParameters: map[string]string{lookup.PathParameter: id},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RouteKey: route, Stage: "$default", RequestID: "req-lookup",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: path}},
	}
	if iam {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:role/courier-app"},
		}
	}
	return req
}

// Issue 15: the lookups' bad input. Without an IAM identity nothing else is looked at (403);
// an unusable tracking ID is 400 naming trackingId; an ID without a current OTP or state,
// whatever it looks like, is 404 — the same 404 for an OTP that expired on arrival.
func lookupCases(c *corpus) {
	routes := []string{lookup.OTPRouteKey, lookup.TrackingRouteKey}
	for _, route := range routes {
		kind := strings.Split(route, "/")[2]
		jwt := lookupRequest(route, "1709913037960", false)
		jwt.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "x"}},
		}
		lambdaAuth := lookupRequest(route, "1709913037960", false)
		lambdaAuth.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: map[string]any{"userArn": "arn:aws:iam::1:root"}}
		for name, req := range map[string]events.APIGatewayV2HTTPRequest{
			"no identity":                       lookupRequest(route, "1709913037960", false),
			"no identity, bad id":               lookupRequest(route, "", false),
			"a JWT authorizer, no IAM":          jwt,
			"a Lambda authorizer naming an ARN": lambdaAuth,
			"an empty authorizer":               withAuthorizer(lookupRequest(route, "1709913037960", false)),
			"no identity, userArn in a header":  lookupWithHeader(lookupRequest(route, "1709913037960", false), "x-amz-user-arn", "arn:aws:iam::1:root"),
		} {
			c.add(Case{Name: kind + ": " + name, Fn: fnLookup, Req: req, Status: 403, Code: "forbidden"})
		}
		for name, id := range map[string]string{
			"empty id":            "",
			"257 bytes":           strings.Repeat("7", lookup.MaxTrackingIDBytes+1),
			"NUL":                 "17099\x0013037960",
			"newline":             "1709913037960\n",
			"tab":                 "\t1709913037960",
			"DEL":                 "1709913037960\x7f",
			"C1 control (U+0085)": "1709913037960\u0085",
			"escape sequence":     "\x1b[31m1709913037960",
			// Not an ID Amazon sends: an audit item's key, another account's key space.
			"an audit key":          "#expired-on-arrival#1709913037944",
			"a former audit key":    "expired-on-arrival#1709913037944",
			"another account's key": "acme-a#1709913037944",
		} {
			c.add(Case{Name: kind + ": " + name, Fn: fnLookup, Req: lookupRequest(route, id, true), Status: 400, Code: "invalid_payload", Field: lookup.PathParameter})
		}
		for name, id := range map[string]string{
			"never seen":             fmt.Sprintf("NEVER%09d", c.seq()),
			"256 bytes":              strings.Repeat("8", lookup.MaxTrackingIDBytes),
			"a wildcard":             "*",
			"an injection":           "' OR '1'='1",
			"an expression":          "attribute_exists(trackingId)",
			"a path":                 "..%2F..%2Fetc%2Fpasswd",
			"emoji":                  "📦1709913037960",
			"right-to-left override": "1709913037960\u202e",
			"zero-width space":       "1709913037960\u200b",
		} {
			c.add(Case{Name: kind + ": " + name, Fn: fnLookup, Req: lookupRequest(route, id, true), Status: 404, Code: "not_found"})
		}
	}
	// An OTP expired on arrival is kept only as an audit item: not found by either leg, nor by
	// the audit item's key. Each case delivers its own OTP (the cases run concurrently).
	for _, leg := range []struct {
		name, prefix string
		status       int
		code         string
	}{{"forward leg", "", 404, "not_found"}, {"reverse leg", "alt-", 404, "not_found"}, {"audit key", otpstore.ExpiredKeyPrefix, 400, "invalid_payload"}} {
		id := fmt.Sprintf("EOA%09d", c.seq())
		code := fmt.Sprintf("otp-eoa-%06d", c.seq()) // distinctive: a bare 6-digit number may occur in a log by chance
		c.otps = append(c.otps, code)
		before := harness.Shipping(harness.ShippingBody(fmt.Sprintf("env-badinput-lookup-%05d", c.seq()), time.Now(),
			harness.OTP{TrackingID: id, Code: code, TTL: time.Now().Add(-time.Minute).UnixMilli()}))
		c.add(Case{Name: "otps: expired on arrival, by its " + leg.name, Fn: fnLookup, Req: lookupRequest(lookup.OTPRouteKey, leg.prefix+id, true),
			Before: []events.APIGatewayV2HTTPRequest{before}, Status: leg.status, Code: leg.code})
	}
}

func withAuthorizer(r events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
	r.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{}
	return r
}

func lookupWithHeader(r events.APIGatewayV2HTTPRequest, name, value string) events.APIGatewayV2HTTPRequest {
	r.Headers[name] = value
	return r
}
