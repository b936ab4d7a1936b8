package lookup_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/lookup"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/trackingstore"
	"github.com/amazon-webhook-gateway/gateway/tests/emfcheck"
)

// One account's lookups, GET /shipping/accounts/{account}/otps/{trackingId} and
// …/tracking/{trackingId}, read only that account's key space; the routes without an account
// read the default account's only; every 200 answer names the account; every 404 of a kind is
// the same bytes.

// signedIn is the event API Gateway sends for a signed GET of route with account label and id
// (route may be a default route: label then fills a path parameter API Gateway never sends).
func signedIn(route, label, id string) events.APIGatewayV2HTTPRequest {
	req := signed(route, id)
	path := strings.Replace(req.RawPath, "{account}", label, 1)
	req.RawPath, req.RequestContext.HTTP.Path = path, path
	req.PathParameters[lookup.AccountParameter] = label
	return req
}

func TestParseReadsTheAccountOfTheRoute(t *testing.T) {
	for _, tc := range []struct {
		name, route, label, id string
		wantKind               lookup.Kind
		wantAccount            string
		wantProblem            *lookup.Problem
	}{
		{"account OTP route", lookup.AccountOTPRouteKey, "acme-a", "T1", lookup.OTP, "acme-a", nil},
		{"account tracking route", lookup.AccountTrackingRouteKey, "acme-b", "T1", lookup.Tracking, "acme-b", nil},
		{"the default account by its account route", lookup.AccountOTPRouteKey, "default", "T1", lookup.OTP, account.Default, nil},
		{"a label of dots, digits and underscores", lookup.AccountOTPRouteKey, "0.acme_b-2", "T1", lookup.OTP, "0.acme_b-2", nil},
		{"a 64-character label", lookup.AccountOTPRouteKey, strings.Repeat("a", 64), "T1", lookup.OTP, strings.Repeat("a", 64), nil},
		{"default OTP route: the default account", lookup.OTPRouteKey, "", "T1", lookup.OTP, account.Default, nil},
		{"default tracking route: the default account", lookup.TrackingRouteKey, "", "T1", lookup.Tracking, account.Default, nil},
		// API Gateway sends no account parameter on the default routes; one there is ignored.
		{"default route, an account parameter smuggled in", lookup.OTPRouteKey, "acme-b", "T1", lookup.OTP, account.Default, nil},
		{"default route, a bad account parameter ignored", lookup.TrackingRouteKey, "Acme B", "T1", lookup.Tracking, account.Default, nil},
		{"empty label", lookup.AccountOTPRouteKey, "", "T1", 0, "", lookup.ErrBadAccount},
		{"upper case", lookup.AccountOTPRouteKey, "Acme-A", "T1", 0, "", lookup.ErrBadAccount},
		{"65 characters", lookup.AccountTrackingRouteKey, strings.Repeat("a", 65), "T1", 0, "", lookup.ErrBadAccount},
		{"a key space separator", lookup.AccountOTPRouteKey, "acme-a#acme-b", "T1", 0, "", lookup.ErrBadAccount},
		{"a slash", lookup.AccountOTPRouteKey, "acme-a/otps", "T1", 0, "", lookup.ErrBadAccount},
		{"percent-encoded slash", lookup.AccountOTPRouteKey, "acme-a%2Facme-b", "T1", 0, "", lookup.ErrBadAccount},
		{"a wildcard", lookup.AccountTrackingRouteKey, "*", "T1", 0, "", lookup.ErrBadAccount},
		{"a leading dot", lookup.AccountOTPRouteKey, "..", "T1", 0, "", lookup.ErrBadAccount},
		{"a leading dash", lookup.AccountOTPRouteKey, "-acme", "T1", 0, "", lookup.ErrBadAccount},
		{"a space", lookup.AccountOTPRouteKey, "acme a", "T1", 0, "", lookup.ErrBadAccount},
		{"a control character", lookup.AccountOTPRouteKey, "acme\x00", "T1", 0, "", lookup.ErrBadAccount},
		{"a homoglyph", lookup.AccountOTPRouteKey, "аcme-a", "T1", 0, "", lookup.ErrBadAccount},
		{"bad label and bad ID: the label is named", lookup.AccountOTPRouteKey, "Acme", "a#b", 0, "", lookup.ErrBadAccount},
		{"good label, bad ID", lookup.AccountOTPRouteKey, "acme-a", "acme-b#T1", 0, "", lookup.ErrBadID},
		{"good label, empty ID", lookup.AccountTrackingRouteKey, "acme-a", "", 0, "", lookup.ErrBadID},
		{"an account route without the account segment", "GET /shipping/accounts/otps/{trackingId}", "acme-a", "T1", 0, "", lookup.ErrNoRoute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := signedIn(tc.route, tc.label, tc.id)
			r, p := lookup.Parse(&req)
			if p != tc.wantProblem {
				t.Fatalf("problem %v, want %v", p, tc.wantProblem)
			}
			if p != nil {
				if p == lookup.ErrBadAccount && (p.Status != 400 || p.Code != "invalid_payload" || p.Field != lookup.AccountParameter) {
					t.Errorf("ErrBadAccount %+v, want 400 invalid_payload naming field account", p)
				}
				return
			}
			if r.Kind != tc.wantKind || r.Account != tc.wantAccount || r.TrackingID != tc.id || r.Caller == nil {
				t.Errorf("parsed %+v, want kind %v of account %q, ID %q", r, tc.wantKind, tc.wantAccount, tc.id)
			}
		})
	}
	// Without an identity, nothing else is looked at: not even a bad label.
	req := signedIn(lookup.AccountOTPRouteKey, "Acme", "T1")
	req.RequestContext.Authorizer = nil
	if _, p := lookup.Parse(&req); p != lookup.ErrNoIdentity {
		t.Errorf("unsigned, bad label: %v, want ErrNoIdentity", p)
	}
	for _, key := range lookup.RouteKeys {
		if !lookup.IsRoute(key) {
			t.Errorf("IsRoute(%q) = false", key)
		}
	}
	if lookup.IsRoute("POST /shipping/notifications") || lookup.IsRoute("GET /shipping/accounts/{account}") {
		t.Error("IsRoute admits a route that is no lookup route")
	}
}

// accountsFixture stores, for the same forward and reverse tracking IDs, one OTP and one tracking
// state in each of three accounts' key spaces, each with its own code and status.
func accountsFixture(t *testing.T, e *env, now time.Time) (forward, reverse string, codes, statuses map[string]string) {
	t.Helper()
	forward, reverse = "F25", "R25"
	codes = map[string]string{account.Default: "250000", "acme-a": "250001", "acme-b": "250002"}
	statuses = map[string]string{account.Default: "InTransit", "acme-a": "OutForDelivery", "acme-b": "Delivered"}
	for _, label := range slices.Sorted(maps.Keys(codes)) {
		e.putOTP(t, otpstore.OTP{TrackingID: forward, AlternateLegTrackingID: reverse, Code: codes[label], ExpiresAt: now.Add(time.Hour),
			EventCode: "PIN_GENERATED", EventTime: now, ReceivedAt: now, Account: label})
		e.putState(t, trackingstore.State{TrackingID: forward, Status: statuses[label], EventCode: statuses[label], EventTime: now,
			EventTimeText: now.Format(time.RFC3339), Detail: `{"trackingId":"` + forward + `"}`, DeliveryID: "d-" + label, Entry: "0", EnvelopeTime: now, Account: label})
	}
	return forward, reverse, codes, statuses
}

func TestAnAccountRouteReadsOnlyItsKeySpace(t *testing.T) {
	e := deploy(t)
	now := time.UnixMilli(time.Now().UnixMilli())
	e.setNow(now)
	forward, reverse, codes, statuses := accountsFixture(t, e, now)
	for _, tc := range []struct {
		name, route, label, id string
		// want is the account whose item is answered, "" for 404.
		want string
	}{
		{"acme-a's OTP", lookup.AccountOTPRouteKey, "acme-a", forward, "acme-a"},
		{"acme-a's OTP by the reverse leg", lookup.AccountOTPRouteKey, "acme-a", reverse, "acme-a"},
		{"acme-b's OTP", lookup.AccountOTPRouteKey, "acme-b", forward, "acme-b"},
		{"acme-b's OTP by the reverse leg", lookup.AccountOTPRouteKey, "acme-b", reverse, "acme-b"},
		{"the default account's OTP by its account route", lookup.AccountOTPRouteKey, "default", forward, account.Default},
		{"the default route: the default account's OTP", lookup.OTPRouteKey, "", forward, account.Default},
		{"the default route by the reverse leg", lookup.OTPRouteKey, "", reverse, account.Default},
		{"the default route, an account parameter smuggled in", lookup.OTPRouteKey, "acme-b", forward, account.Default},
		{"an account without items", lookup.AccountOTPRouteKey, "acme-c", forward, ""},
		{"an account without items, reverse leg", lookup.AccountOTPRouteKey, "acme-c", reverse, ""},
		{"acme-a's tracking state", lookup.AccountTrackingRouteKey, "acme-a", forward, "acme-a"},
		{"acme-b's tracking state", lookup.AccountTrackingRouteKey, "acme-b", forward, "acme-b"},
		{"the default route: the default account's state", lookup.TrackingRouteKey, "", forward, account.Default},
		{"the default route's state, an account parameter smuggled in", lookup.TrackingRouteKey, "acme-a", forward, account.Default},
		{"a tracking state of an account without items", lookup.AccountTrackingRouteKey, "acme-c", forward, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.get(t, signedIn(tc.route, tc.label, tc.id))
			for label, code := range codes {
				if label != tc.want && strings.Contains(resp.Body, code) {
					t.Errorf("the answer holds %s's code: %s", label, resp.Body)
				}
			}
			if tc.want == "" {
				if resp.StatusCode != 404 {
					t.Fatalf("%d %s, want 404", resp.StatusCode, resp.Body)
				}
				return
			}
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s, want 200", resp.StatusCode, resp.Body)
			}
			if tc.route == lookup.AccountOTPRouteKey || tc.route == lookup.OTPRouteKey {
				var b lookup.OTPBody
				if err := json.Unmarshal([]byte(resp.Body), &b); err != nil || b.VerificationCode != codes[tc.want] || b.Account != tc.want || b.TrackingID != forward {
					t.Errorf("body %s (%v), want %s's code %s of %s", resp.Body, err, tc.want, codes[tc.want], forward)
				}
				return
			}
			var b lookup.TrackingBody
			if err := json.Unmarshal([]byte(resp.Body), &b); err != nil || b.Status != statuses[tc.want] || b.Account != tc.want {
				t.Errorf("body %s (%v), want %s's status %s", resp.Body, err, tc.want, statuses[tc.want])
			}
		})
	}
}

// Every 200 names the account (additive: the other members are today's), on every route.
func TestEveryAnswerNamesTheAccount(t *testing.T) {
	e := deploy(t)
	now := time.UnixMilli(time.Now().UnixMilli())
	e.setNow(now)
	forward, _, _, _ := accountsFixture(t, e, now)
	otpMembers := []string{"trackingId", "alternateLegTrackingId", "eventCode", "verificationCode", "verificationCodeTTL", "verificationCodeExpiresAt"}
	trackingMembers := []string{"trackingId", "status", "eventCode", "eventTime", "terminal", "updatedAt", "detail"}
	for _, tc := range []struct {
		route, label, want string
		members            []string
	}{
		{lookup.OTPRouteKey, "", account.Default, otpMembers},
		{lookup.AccountOTPRouteKey, "acme-a", "acme-a", otpMembers},
		{lookup.AccountOTPRouteKey, "default", account.Default, otpMembers},
		{lookup.TrackingRouteKey, "", account.Default, trackingMembers},
		{lookup.AccountTrackingRouteKey, "acme-b", "acme-b", trackingMembers},
	} {
		t.Run(tc.route+" "+tc.label, func(t *testing.T) {
			resp := e.get(t, signedIn(tc.route, tc.label, forward))
			var m map[string]json.RawMessage
			if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &m) != nil {
				t.Fatalf("%d %s, want 200 with a JSON object", resp.StatusCode, resp.Body)
			}
			if got := string(m["account"]); got != `"`+tc.want+`"` {
				t.Errorf("account %s, want %q", got, tc.want)
			}
			want := append([]string{"account"}, tc.members...)
			if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
				t.Errorf("members %v, want today's %v and account", got, tc.members)
			}
		})
	}
}

// Every 404 of a kind is byte-identical, headers included, whatever the route and the reason:
// an unknown ID, an unknown account, another account's item, an expired code. The EMF lines do
// not tell them apart either.
func TestNotFoundIsOneAnswerPerKind(t *testing.T) {
	e := deploy(t)
	now := time.UnixMilli(time.Now().UnixMilli())
	e.setNow(now)
	forward, reverse, _, _ := accountsFixture(t, e, now)
	e.putOTP(t, otpstore.OTP{TrackingID: "ONLY-B", AlternateLegTrackingID: "ONLY-B-R", Code: "252525", ExpiresAt: now.Add(time.Hour), EventTime: now, ReceivedAt: now, Account: "acme-b"})
	e.putState(t, trackingstore.State{TrackingID: "ONLY-B", Status: "Delivered", EventCode: "Delivered", EventTime: now,
		EventTimeText: now.Format(time.RFC3339), Detail: `{}`, DeliveryID: "d", Entry: "0", EnvelopeTime: now, Account: "acme-b"})
	e.putOTP(t, otpstore.OTP{TrackingID: "GONE-A", Code: "262626", ExpiresAt: now.Add(time.Minute), EventTime: now, ReceivedAt: now, Account: "acme-a"})

	type ask struct{ name, route, label, id string }
	for _, kind := range []struct {
		name string
		asks []ask
	}{
		{"otps", []ask{
			{"unknown ID, default route", lookup.OTPRouteKey, "", "NEVER-SEEN"},
			{"unknown ID, account route", lookup.AccountOTPRouteKey, "acme-a", "NEVER-SEEN"},
			{"unknown account", lookup.AccountOTPRouteKey, "acme-zz", forward},
			{"unknown account, reverse leg", lookup.AccountOTPRouteKey, "acme-zz", reverse},
			{"another account's item on acme-a's route", lookup.AccountOTPRouteKey, "acme-a", "ONLY-B"},
			{"another account's item by its reverse leg", lookup.AccountOTPRouteKey, "acme-a", "ONLY-B-R"},
			{"another account's item on the default route", lookup.OTPRouteKey, "", "ONLY-B"},
			{"an expired code on its account's route", lookup.AccountOTPRouteKey, "acme-a", "GONE-A"},
		}},
		{"tracking", []ask{
			{"unknown ID, default route", lookup.TrackingRouteKey, "", "NEVER-SEEN"},
			{"unknown ID, account route", lookup.AccountTrackingRouteKey, "acme-a", "NEVER-SEEN"},
			{"unknown account", lookup.AccountTrackingRouteKey, "acme-zz", forward},
			{"another account's item on acme-a's route", lookup.AccountTrackingRouteKey, "acme-a", "ONLY-B"},
			{"another account's item on the default route", lookup.TrackingRouteKey, "", "ONLY-B"},
		}},
	} {
		t.Run(kind.name, func(t *testing.T) {
			var first *events.APIGatewayV2HTTPResponse
			for i, a := range kind.asks {
				if i == len(kind.asks)-1 && a.id == "GONE-A" {
					e.setNow(now.Add(time.Minute))
				}
				resp := e.get(t, signedIn(a.route, a.label, a.id))
				if resp.StatusCode != 404 || strings.Contains(resp.Body, "252525") || strings.Contains(resp.Body, "262626") {
					t.Fatalf("%s: %d %s, want 404 without a code", a.name, resp.StatusCode, resp.Body)
				}
				if first == nil {
					first = &resp
					continue
				}
				if resp.Body != first.Body || !maps.Equal(resp.Headers, first.Headers) {
					t.Errorf("%s: %v %s, want the unknown ID's %v %s", a.name, resp.Headers, resp.Body, first.Headers, first.Body)
				}
			}
		})
	}
	e.setNow(now)
	if resp := e.get(t, signedIn(lookup.AccountOTPRouteKey, "acme-b", "ONLY-B")); resp.StatusCode != 200 {
		t.Errorf("acme-b's own item: %d %s, want 200", resp.StatusCode, resp.Body)
	}
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(e.metrics.String()), "\n") {
		m, err := emfcheck.Check(line)
		if err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		lines = append(lines, fmt.Sprint(m["Webhook"], "/", m["Outcome"], "/", m["Reason"]))
	}
	want := slices.Repeat([]string{"shipping-lookup/rejected/not_found"}, 13)
	want = append(want, "shipping-lookup/accepted/none")
	if !slices.Equal(lines, want) {
		t.Errorf("EMF lines %v, want %v", lines, want)
	}
}

// A bad label is 400 naming field account, in the Problem style of a bad tracking ID, and
// nothing is read (no lookup line in the logs); the logs of a lookup name its account.
func TestBadLabelsAreRefusedAndLookupsLogTheirAccount(t *testing.T) {
	e := deploy(t)
	now := time.UnixMilli(time.Now().UnixMilli())
	e.setNow(now)
	forward, _, codes, _ := accountsFixture(t, e, now)
	for _, label := range []string{"", "Acme-A", "acme-a#x", "*", strings.Repeat("b", 65)} {
		for _, route := range []string{lookup.AccountOTPRouteKey, lookup.AccountTrackingRouteKey} {
			resp := e.get(t, signedIn(route, label, forward))
			var b struct{ Error, Message, Field string }
			if resp.StatusCode != 400 || json.Unmarshal([]byte(resp.Body), &b) != nil || b.Error != "invalid_payload" || b.Field != lookup.AccountParameter || b.Message != lookup.ErrBadAccount.Message {
				t.Errorf("%s %q: %d %s, want 400 invalid_payload naming field account", route, label, resp.StatusCode, resp.Body)
			}
		}
	}
	if strings.Contains(e.logs.String(), `"msg":"lookup answered"`) {
		t.Errorf("a refused lookup was answered:\n%s", e.logs.String())
	}
	for _, label := range []string{"acme-a", "acme-b"} {
		if resp := e.get(t, signedIn(lookup.AccountOTPRouteKey, label, forward)); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", label, resp.StatusCode, resp.Body)
		}
	}
	logs := e.logs.String()
	for label, code := range codes {
		if strings.Contains(logs, code) {
			t.Errorf("the logs hold %s's code", label)
		}
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "lookup answered" {
			label, _ := rec["account"].(string)
			seen[label] = true
			if rec["userArn"] != callerARN || rec["trackingId"] != forward {
				t.Errorf("lookup line %v does not name the caller and the tracking ID", rec)
			}
		}
	}
	if !seen["acme-a"] || !seen["acme-b"] || len(seen) != 2 {
		t.Errorf("lookup lines name the accounts %v, want acme-a and acme-b", seen)
	}
}
