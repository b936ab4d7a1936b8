package badinput

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
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
	return lookupRequestIn(route, "", id, iam)
}

// lookupRequestIn is lookupRequest of an account route, with account label.
func lookupRequestIn(route, label, id string, iam bool) events.APIGatewayV2HTTPRequest {
	path := strings.NewReplacer("{account}", label, "{trackingId}", id).Replace(strings.TrimPrefix(route, "GET "))
	params := map[string]string{lookup.PathParameter: id}
	if strings.Contains(route, "{account}") {
		params[lookup.AccountParameter] = label
	}
	req := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: route, RawPath: path, Headers: map[string]string{"host": "abc123.execute-api.eu-west-1.amazonaws.com"},
		PathParameters: params,
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

// The lookups' bad input. Without an IAM identity nothing else is looked at (403);
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
	accountLookupCases(c)
}

// The account routes' bad input. A label that cannot be one is 400 naming account
// (before the tracking ID is looked at); a label that can be one but has no item, as an unknown
// ID, is 404 (no caller learns which labels exist: TestLookupNotFoundIsOneAnswerPerKind checks
// the bytes); without an IAM identity, 403 before the label is looked at.
func accountLookupCases(c *corpus) {
	for _, route := range []string{lookup.AccountOTPRouteKey, lookup.AccountTrackingRouteKey} {
		kind := "accounts " + strings.Split(route, "/")[4]
		c.add(Case{Name: kind + ": no identity", Fn: fnLookup, Req: lookupRequestIn(route, "acme-a", "1709913037960", false), Status: 403, Code: "forbidden"})
		c.add(Case{Name: kind + ": no identity, bad label", Fn: fnLookup, Req: lookupRequestIn(route, "Acme A", "1709913037960", false), Status: 403, Code: "forbidden"})
		for name, label := range map[string]string{
			"empty label":            "",
			"upper case":             "Acme-A",
			"65 characters":          strings.Repeat("a", 65),
			"a key space separator":  "acme-a#acme-b",
			"a slash":                "acme-a/otps",
			"percent-encoded slash":  "acme-a%2F..%2Facme-b",
			"a wildcard":             "*",
			"a policy variable":      "${aws:PrincipalTag/amazon-webhook-gateway-account}",
			"dot dot":                "..",
			"a leading dash":         "-acme",
			"a space":                "acme a",
			"NUL":                    "acme\x00a",
			"newline":                "acme-a\n",
			"a homoglyph":            "аcme-a",
			"emoji":                  "📦",
			"bad label and bad ID":   "Acme",
			"an injection":           "' OR '1'='1",
			"right-to-left override": "acme-a\u202e",
			"zero-width space":       "acme-a\u200b",
			"a trailing space":       "acme-a ",
		} {
			id := "1709913037960"
			if name == "bad label and bad ID" {
				id = "a#b"
			}
			c.add(Case{Name: kind + ": " + name, Fn: fnLookup, Req: lookupRequestIn(route, label, id, true), Status: 400, Code: "invalid_payload", Field: lookup.AccountParameter})
		}
		for name, id := range map[string]string{
			"empty id":              "",
			"NUL":                   "17099\x0013037960",
			"257 bytes":             strings.Repeat("7", lookup.MaxTrackingIDBytes+1),
			"another account's key": "acme-b#1709913037944",
			"an audit key":          otpstore.ExpiredKeyPrefix + "1709913037944",
		} {
			c.add(Case{Name: kind + ": good label, " + name, Fn: fnLookup, Req: lookupRequestIn(route, "acme-a", id, true), Status: 400, Code: "invalid_payload", Field: lookup.PathParameter})
		}
		for name, label := range map[string]string{
			"an unknown account":           fmt.Sprintf("acme-unknown-%d", c.seq()),
			"a 64-character label":         strings.Repeat("z", 64),
			"the default account, unknown": "default",
			"a label of dots and digits":   "0.1_2-3",
		} {
			c.add(Case{Name: kind + ": " + name, Fn: fnLookup, Req: lookupRequestIn(route, label, fmt.Sprintf("NEVER%09d", c.seq()), true), Status: 404, Code: "not_found"})
		}
	}
	// An OTP the default account delivered is not found by a labelled account's route, by
	// either leg (the default route finds it: TestLookupNotFoundIsOneAnswerPerKind).
	for _, leg := range []struct{ name, prefix string }{{"forward leg", ""}, {"reverse leg", "alt-"}} {
		id := fmt.Sprintf("DEF%09d", c.seq())
		code := fmt.Sprintf("otp-def-%06d", c.seq())
		c.otps = append(c.otps, code)
		before := harness.Shipping(harness.ShippingBody(fmt.Sprintf("env-badinput-lookup-%05d", c.seq()), time.Now(),
			harness.OTP{TrackingID: id, Code: code, TTL: time.Now().Add(time.Hour).UnixMilli()}))
		c.add(Case{Name: "accounts otps: the default account's OTP on acme-a's route, by its " + leg.name, Fn: fnLookup,
			Req: lookupRequestIn(lookup.AccountOTPRouteKey, "acme-a", leg.prefix+id, true), Before: []events.APIGatewayV2HTTPRequest{before}, Status: 404, Code: "not_found"})
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

// Every 404 of the corpus's lookups is one answer per kind, byte for byte with its
// headers, whatever the route and the reason (an unknown ID, an unknown account, an OTP expired on
// arrival, the default account's OTP asked on acme-a's route), and so is another account's OTP
// delivered through the pipeline (acme-b's, asked on acme-a's route): no caller learns which
// labels exist or hold the ID. Each OTP asked on another route is found on its own.
func TestLookupNotFoundIsOneAnswerPerKind(t *testing.T) {
	g := harness.StartAccounts(t, local).Gateway
	c := build(t, gatewayEnv(g))
	// acme-b's OTP, delivered with acme-b's key.
	idB, codeB := fmt.Sprintf("ACMEB%09d", c.seq()), fmt.Sprintf("otp-acme-b-%06d", c.seq())
	entry := map[string]any{"trackingId": idB, "alternateLegTrackingId": "alt-" + idB, "verificationCode": codeB,
		"verificationCodeTTL": time.Now().Add(time.Hour).UnixMilli(), "shipmentType": "REVERSE", "eventCode": "PIN_GENERATED"}
	if resp := g.Send(t, harness.ShippingWithKey(harness.ShippingEnvelope(harness.Unique("env"), "PN Event", time.Now(), entry), harness.APIKeyB)); resp.StatusCode != 200 {
		t.Fatalf("acme-b's delivery: %d %s", resp.StatusCode, resp.Body)
	}
	cases := []Case{
		{Name: "acme-b's OTP on acme-a's route", Req: lookupRequestIn(lookup.AccountOTPRouteKey, harness.AccountA, idB, true), Status: 404},
		{Name: "acme-b's OTP on acme-a's route, reverse leg", Req: lookupRequestIn(lookup.AccountOTPRouteKey, harness.AccountA, "alt-"+idB, true), Status: 404},
		{Name: "acme-b's OTP on the default route", Req: lookupRequest(lookup.OTPRouteKey, idB, true), Status: 404},
	}
	for _, k := range c.cases {
		if k.Fn == fnLookup && k.Status == 404 {
			cases = append(cases, k)
		}
	}
	first := map[string]events.APIGatewayV2HTTPResponse{}
	routes := map[string]map[string]bool{}
	for _, k := range cases {
		for _, b := range k.Before {
			if resp := g.Deliver(b); resp.StatusCode != 200 {
				t.Fatalf("%s: delivery before: %d %s", k.Name, resp.StatusCode, resp.Body)
			}
		}
		resp := g.Deliver(k.Req)
		if resp.StatusCode != 404 || strings.Contains(resp.Body, codeB) {
			t.Errorf("%s: %d %s, want 404 without a code", k.Name, resp.StatusCode, resp.Body)
			continue
		}
		kind := "otps"
		if k.Req.RouteKey == lookup.TrackingRouteKey || k.Req.RouteKey == lookup.AccountTrackingRouteKey {
			kind = "tracking"
		}
		if routes[kind] == nil {
			routes[kind] = map[string]bool{}
		}
		routes[kind][k.Req.RouteKey] = true
		f, ok := first[kind]
		if !ok {
			first[kind] = resp
			continue
		}
		if resp.Body != f.Body || !maps.Equal(resp.Headers, f.Headers) {
			t.Errorf("%s: %v %s, want the %s 404 %v %s", k.Name, resp.Headers, resp.Body, kind, f.Headers, f.Body)
		}
	}
	if len(routes["otps"]) != 2 || len(routes["tracking"]) != 2 {
		t.Errorf("the 404s asked cover routes %v, want both routes of each kind", routes)
	}
	// Found where they belong: acme-b's on its route, the default account's on the default route.
	found := []events.APIGatewayV2HTTPRequest{lookupRequestIn(lookup.AccountOTPRouteKey, harness.AccountB, idB, true)}
	for _, k := range c.cases {
		if k.Fn == fnLookup && strings.Contains(k.Name, "the default account's OTP on acme-a's route") {
			found = append(found, lookupRequest(lookup.OTPRouteKey, k.Req.PathParameters[lookup.PathParameter], true))
		}
	}
	for _, req := range found {
		resp := g.Deliver(req)
		var b lookup.OTPBody
		if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &b) != nil || b.VerificationCode == "" {
			t.Errorf("%s: %d %s, want 200 with its code", req.RawPath, resp.StatusCode, resp.Body)
			continue
		}
		if want := map[bool]string{true: harness.AccountB, false: "default"}[b.TrackingID == idB]; b.Account != want {
			t.Errorf("%s: account %q, want %q", req.RawPath, b.Account, want)
		}
	}
	if len(found) != 3 {
		t.Errorf("%d OTPs checked as found, want 3", len(found))
	}
	if logs := g.Logs.String(); strings.Contains(logs, codeB) {
		t.Error("the logs hold acme-b's code")
	}
}
