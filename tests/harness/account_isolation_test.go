package harness

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/lookup"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/trackingstore"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
)

// An adversarial review found that any Shipping credential could replace, pin or shadow any
// tracking ID's OTP and pin its tracking state. Each test sends the attack with one account's
// credential and the genuine delivery with another's (the default account's and a labelled one,
// both ways), through the real pipeline against moto.

// otpEntry is a PIN_GENERATED entry of tracking ID id with reverse leg alt, valid until ttl.
func otpEntry(id, alt, code string, ttl time.Time) map[string]any {
	return map[string]any{
		"trackingId": id, "alternateLegTrackingId": alt, "verificationCode": code, "verificationCodeTTL": ttl.UnixMilli(),
		"shipmentType": "REVERSE", "eventCode": "PIN_GENERATED",
	}
}

// sendOTP delivers entry with key (APIKey: the default account's) and returns the answer.
func sendOTP(t *testing.T, g *Gateway, key string, entry map[string]any) (int, map[string]any) {
	t.Helper()
	resp := g.Send(t, ShippingWithKey(ShippingEnvelope(Unique("env"), "PN Event", time.Now(), entry), key))
	var body map[string]any
	_ = json.Unmarshal([]byte(resp.Body), &body)
	return resp.StatusCode, body
}

// served is what today's lookup route serves for id: the default account's code, or "" (404).
func served(t *testing.T, g *Gateway, id string) string {
	t.Helper()
	req := events.APIGatewayV2HTTPRequest{RouteKey: lookup.OTPRouteKey, RawPath: "/shipping/otps/" + id, PathParameters: map[string]string{"trackingId": id}}
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:role/app"},
	}
	resp := g.Deliver(req)
	if resp.StatusCode == 404 {
		return ""
	}
	var b lookup.OTPBody
	if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &b) != nil {
		t.Fatalf("lookup of %s: %d %s", id, resp.StatusCode, resp.Body)
	}
	return b.VerificationCode
}

// current is account label's current code of id, or "".
func current(t *testing.T, g *Gateway, label, id string) string {
	t.Helper()
	o, err := g.OTPs.CurrentIn(context.Background(), label, id, time.Now())
	if errors.Is(err, otpstore.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return o.Code
}

// Each direction: the attacker's credential, the victim's, and their labels.
var directions = []struct {
	name                       string
	attackerKey, victimKey     string
	attackerLabel, victimLabel string
}{
	{"a labelled account against the default one", APIKeyB, APIKey, AccountB, account.Default},
	{"the default account against a labelled one", APIKey, APIKeyA, account.Default, AccountA},
}

func TestNoAccountReplacesAnotherAccountsOTP(t *testing.T) {
	g := StartAccounts(t, local)
	for _, d := range directions {
		t.Run(d.name, func(t *testing.T) {
			id := Unique("T")
			if status, body := sendOTP(t, g.Gateway, d.victimKey, otpEntry(id, Unique("R"), "111111", time.Now().Add(time.Hour))); status != 200 {
				t.Fatalf("genuine: %d %v", status, body)
			}
			// Later expiry, which would win within one account.
			if status, body := sendOTP(t, g.Gateway, d.attackerKey, otpEntry(id, Unique("R"), "999999", time.Now().Add(2*time.Hour))); status != 200 {
				t.Fatalf("attacker's own OTP: %d %v", status, body)
			}
			if got := current(t, g.Gateway, d.victimLabel, id); got != "111111" {
				t.Errorf("the victim's current code is %q, want its own", got)
			}
			if got := current(t, g.Gateway, d.attackerLabel, id); got != "999999" {
				t.Errorf("the attacker's own key space holds %q, want its code", got)
			}
			want := map[string]string{d.victimLabel: "111111", d.attackerLabel: "999999"}[account.Default]
			if got := served(t, g.Gateway, id); got != want {
				t.Errorf("today's lookup route serves %q, want the default account's %q", got, want)
			}
		})
	}
}

func TestAFarExpiryCannotPinAnOTP(t *testing.T) {
	g := StartAccounts(t, local)
	for _, d := range directions {
		t.Run(d.name, func(t *testing.T) {
			id := Unique("T")
			for _, far := range []time.Time{time.Now().Add(8 * 24 * time.Hour), time.Date(5000, 1, 1, 0, 0, 0, 0, time.UTC)} {
				status, body := sendOTP(t, g.Gateway, d.attackerKey, otpEntry(id, Unique("R"), "999999", far))
				if status != 202 || body["status"] != "quarantined" || body["field"] != "detail.verificationCodeTTL" {
					t.Fatalf("TTL %s: %d %v, want 202 quarantined naming detail.verificationCodeTTL", far, status, body)
				}
				raw, _ := json.Marshal(body)
				if strings.Contains(string(raw), d.attackerLabel) || strings.Contains(string(raw), d.victimLabel) {
					t.Errorf("the answer names an account: %s", raw)
				}
				r, err := g.Quarantine.Get(context.Background(), body["quarantineKey"].(string))
				if err != nil || r.Account != d.attackerLabel {
					t.Errorf("quarantine record labelled %q (%v), want %q", r.Account, err, d.attackerLabel)
				}
			}
			if !strings.Contains(g.Logs.String(), `"msg":"OTP valid beyond the bound after its receipt: entry quarantined"`) ||
				!strings.Contains(g.Logs.String(), `"account":"`+d.attackerLabel+`"`) {
				t.Errorf("no WARN naming the account that sent the far expiry")
			}
			// The genuine OTP, of either account, is stored and current.
			for _, key := range []string{d.victimKey, d.attackerKey} {
				if status, body := sendOTP(t, g.Gateway, key, otpEntry(id, Unique("R"), "222222", time.Now().Add(time.Hour))); status != 200 {
					t.Fatalf("genuine after the attack: %d %v", status, body)
				}
			}
			for _, label := range []string{d.victimLabel, d.attackerLabel} {
				if got := current(t, g.Gateway, label, id); got != "222222" {
					t.Errorf("%s's current code %q, want the genuine one", label, got)
				}
			}
		})
	}
}

func TestAnotherAccountsReverseLegIsNeverPreferred(t *testing.T) {
	g := StartAccounts(t, local)
	for _, d := range directions {
		t.Run(d.name, func(t *testing.T) {
			forward, reverse := Unique("T"), Unique("R")
			if status, body := sendOTP(t, g.Gateway, d.victimKey, otpEntry(forward, reverse, "111111", time.Now().Add(time.Hour))); status != 200 {
				t.Fatalf("genuine: %d %v", status, body)
			}
			// Another shipment claiming the same return leg, valid longer: the index's favourite.
			if status, body := sendOTP(t, g.Gateway, d.attackerKey, otpEntry(Unique("T"), reverse, "999999", time.Now().Add(3*time.Hour))); status != 200 {
				t.Fatalf("attacker's own OTP: %d %v", status, body)
			}
			// Its forward ID as the victim's return leg, too.
			if status, body := sendOTP(t, g.Gateway, d.attackerKey, otpEntry(reverse, Unique("R"), "888888", time.Now().Add(3*time.Hour))); status != 200 {
				t.Fatalf("attacker's own OTP: %d %v", status, body)
			}
			if got := current(t, g.Gateway, d.victimLabel, reverse); got != "111111" {
				t.Errorf("by the return leg, the victim is told %q, want its own code", got)
			}
		})
	}
}

func TestNoTrackingIDReachesAnAuditItem(t *testing.T) {
	g := StartAccounts(t, local)
	for _, d := range directions {
		t.Run(d.name, func(t *testing.T) {
			x := Unique("X")
			for _, id := range []string{otpstore.LegacyExpiredKeyPrefix + x, otpstore.ExpiredKey(d.victimLabel, x), d.victimLabel + "#" + x} {
				status, body := sendOTP(t, g.Gateway, d.attackerKey, otpEntry(id, Unique("R"), "999999", time.Now().Add(time.Hour)))
				if status != 202 || body["field"] != "detail.trackingId" {
					t.Errorf("tracking ID %q: %d %v, want 202 quarantined naming detail.trackingId", id, status, body)
				}
			}
			// The victim's OTP of x expired on arrival: its audit item is written, holding no code.
			if status, body := sendOTP(t, g.Gateway, d.victimKey, otpEntry(x, Unique("R"), "111111", time.Now().Add(-time.Hour))); status != 200 {
				t.Fatalf("expired on arrival: %d %v", status, body)
			}
			key := otpstore.ExpiredKey(d.victimLabel, x)
			out, err := dynamodb.NewFromConfig(g.AWS).GetItem(context.Background(), &dynamodb.GetItemInput{
				TableName: &g.OTPTable, Key: map[string]types.AttributeValue{otpstore.KeyAttribute: &types.AttributeValueMemberS{Value: key}}})
			if err != nil || out.Item == nil || out.Item["verificationCode"] != nil {
				t.Errorf("audit item %s: %v %v, want it, without a code", key, out.Item, err)
			}
		})
	}
}

func TestAFutureEventTimeCannotPinATrackingState(t *testing.T) {
	g := StartAccounts(t, local)
	for _, d := range directions {
		t.Run(d.name, func(t *testing.T) {
			for _, key := range []string{d.attackerKey, d.victimKey} {
				// The attack, then the genuine update, in the same account's key space.
				label := map[string]string{d.attackerKey: d.attackerLabel, d.victimKey: d.victimLabel}[key]
				id := Unique("TRK")
				pin := TrackingEntry(id, "InTransit", time.Now().Add(365*24*time.Hour).UTC().Format(time.RFC3339))
				if resp := g.Send(t, ShippingWithKey(ShippingEnvelope(Unique("env"), "Tracking Detail", time.Now(), pin), key)); resp.StatusCode != 200 {
					t.Fatalf("pin: %d %s", resp.StatusCode, resp.Body)
				}
				genuine := TrackingEntry(id, "Delivered", time.Now().UTC().Format(time.RFC3339))
				if resp := g.Send(t, ShippingWithKey(ShippingEnvelope(Unique("env"), "Tracking Detail", time.Now(), genuine), key)); resp.StatusCode != 200 {
					t.Fatalf("genuine: %d %s", resp.StatusCode, resp.Body)
				}
				st, err := g.Tracking.GetIn(context.Background(), label, id)
				if err != nil || st.Status != "Delivered" {
					t.Errorf("%s: state %q (%v), want the genuine Delivered", label, st.Status, err)
				}
				if _, err := g.Tracking.GetIn(context.Background(), map[string]string{d.attackerLabel: d.victimLabel, d.victimLabel: d.attackerLabel}[label], id); !errors.Is(err, trackingstore.ErrNotFound) {
					t.Errorf("the other account's key space has %s's state: %v", label, err)
				}
			}
			if !strings.Contains(g.Logs.String(), `"msg":"tracking eventTime after the receipt beyond the clock skew: taken for none"`) {
				t.Errorf("no WARN of the future eventTime")
			}
		})
	}
}

// A verificationCode outside an OTP entry, at any depth and in any case, is neither stored nor
// published, for every account; a deployment that archives codes anyway (ArchiveOtpEvents=true)
// keeps it.
func TestACodeOutsideAnOTPEntryIsNeitherStoredNorPublished(t *testing.T) {
	for _, tc := range []struct {
		keep  bool
		key   string
		label string
	}{{false, APIKey, account.Default}, {false, APIKeyA, AccountA}, {true, APIKey, account.Default}} {
		keep := tc.keep
		var g *Gateway
		if keep {
			g = start(t, local, func(_ *Stack, c Configs) { c.Shipping.KeepStrayCodes = true })
		} else {
			g = StartAccounts(t, local).Gateway
		}
		queue := g.RouteAll(t)
		id := Unique("TRK")
		tracking := TrackingEntry(id, "InTransit", time.Now().UTC().Format(time.RFC3339))
		tracking["VerificationCode"] = "613613"
		tracking["events"] = []any{map[string]any{"verificationCode": "614614"}}
		notice := map[string]any{"trackingId": id, "eventCode": "PIN_VERIFIED", "verificationCode": "615615"}
		for _, body := range []string{
			ShippingEnvelope(Unique("env"), "Tracking Detail", time.Now(), tracking),
			ShippingEnvelope(Unique("env"), "PN Event", time.Now(), notice),
		} {
			if resp := g.Send(t, ShippingWithKey(body, tc.key)); resp.StatusCode != 200 {
				t.Fatalf("keep=%v: %d %s", keep, resp.StatusCode, resp.Body)
			}
		}
		bodies, err := testenv.ReceiveAll(context.Background(), g.Local.Config, queue, 10)
		if err != nil {
			t.Fatal(err)
		}
		st, err := g.Tracking.GetIn(context.Background(), tc.label, id)
		if err != nil {
			t.Fatal(err)
		}
		stored := strings.Join(append(bodies, st.Detail), "\n")
		for _, code := range []string{"613613", "614614", "615615"} {
			if strings.Contains(stored, code) != keep {
				t.Errorf("keep=%v: code %s in the events or the tracking table: %v", keep, code, !keep)
			}
		}
		if len(bodies) < 3 {
			t.Errorf("keep=%v: %d events, want the entries' (tracking update, its notification, the notice)", keep, len(bodies))
		}
	}
}

// An OAuth token's label comes from its client alone (client_id, else azp), which must be an
// accepted audience; its aud, the holder's claim, never chooses it. Through the Shipping function
// with tokens signed by the development key.
func TestATokensAudienceNeverChoosesItsAccount(t *testing.T) {
	g := StartAccounts(t, local)
	for _, tc := range []struct {
		name   string
		claims func(map[string]any)
		status int
		label  string
	}{
		{"client A", func(c map[string]any) { c["client_id"] = ClientA }, 200, AccountA},
		{"client B by azp", func(c map[string]any) { delete(c, "client_id"); c["azp"] = ClientB; c["aud"] = ClientB }, 200, AccountB},
		{"client A, aud naming client B", func(c map[string]any) { c["client_id"] = ClientA; c["aud"] = []string{ClientB} }, 401, ""},
		{"the default client, aud naming client A", func(c map[string]any) { c["aud"] = []string{ClientA} }, 401, ""},
		{"a client that is no accepted audience, aud naming client A", func(c map[string]any) { c["client_id"] = "some-other-client"; c["aud"] = ClientA }, 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := Claims()
			tc.claims(claims)
			id := Unique("T")
			req := Shipping(ShippingEnvelope(Unique("env"), "PN Event", time.Now(), otpEntry(id, Unique("R"), "424242", time.Now().Add(time.Hour))))
			delete(req.Headers, "x-api-key")
			req.Headers["authorization"] = "Bearer " + g.Token(claims)
			resp := g.Send(t, req)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, resp.Body, tc.status)
			}
			if tc.status != 200 {
				return
			}
			if got := current(t, g.Gateway, tc.label, id); got != "424242" {
				t.Errorf("the OTP is not in %s's key space (%q)", tc.label, got)
			}
		})
	}
}

// A Shipping account's label is bound in the configuration (label=arn): whoever may write the
// account's secret cannot relabel it. Account A's secret rewritten to name account B (or the
// default account) fails to load: A's deliveries are answered 503, retried by Amazon, never
// stored under another label, with an ERROR naming both labels; the other accounts go on. A
// bound secret that names no account is its label's.
func TestAnAccountSecretCannotRelabelItsAccount(t *testing.T) {
	g := StartAccounts(t, local)
	for _, tc := range []struct {
		name, names string
		status      int
	}{
		{"names another account", AccountB, 503},
		{"names the default account", account.Default, 503},
		{"names none", "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := map[string]any{"apiKeys": []string{APIKeyA}, "appIds": []string{AppIDA}}
			if tc.names != "" {
				doc["account"] = tc.names
			}
			b, _ := json.Marshal(doc)
			g.PutShippingSecret(t, g.ShippingSecretA, string(b))
			cold := g.ColdShipping() // a new instance reads the secrets afresh
			id := Unique("T")
			req := ShippingWithKey(ShippingEnvelope(Unique("env"), "PN Event", time.Now(), otpEntry(id, Unique("R"), "515151", time.Now().Add(time.Hour))), APIKeyA)
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
			defer cancel()
			resp, err := cold.Handle(ctx, req)
			if err != nil || resp.StatusCode != tc.status {
				t.Fatalf("%d %s %v, want %d", resp.StatusCode, resp.Body, err, tc.status)
			}
			if tc.status == 200 {
				if got := current(t, g.Gateway, AccountA, id); got != "515151" {
					t.Errorf("not stored as %s's: %q", AccountA, got)
				}
				return
			}
			if resp.Headers["Retry-After"] == "" {
				t.Errorf("503 without Retry-After: Amazon would not retry it the same way")
			}
			for _, label := range []string{AccountB, account.Default} {
				if got := current(t, g.Gateway, label, id); got != "" {
					t.Errorf("stored as %s's", label)
				}
			}
			if !strings.Contains(g.Logs.String(), `the secret names account \"`+tc.names+`\", but is configured as \"`+AccountA+`\"'s`) {
				t.Errorf("no ERROR naming both labels")
			}
			other := ShippingWithKey(ShippingEnvelope(Unique("env"), "PN Event", time.Now(), otpEntry(Unique("T"), Unique("R"), "616161", time.Now().Add(time.Hour))), APIKeyB)
			if resp, _ := cold.Handle(ctx, other); resp.StatusCode != 200 {
				t.Errorf("account B's delivery: %d %s", resp.StatusCode, resp.Body)
			}
		})
	}
	if !strings.Contains(g.Logs.String(), "bare ARNs are deprecated") {
		t.Errorf("no WARN for account B's bare ARN")
	}
}
