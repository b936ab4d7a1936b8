package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// The per-account rules docs/shipping.md, docs/aps.md and docs/amazon-pay.md give consumers.
const (
	shippingAccountRule  = `{"source":["amazon-webhook-gateway.shipping"],"detail":{"metadata":{"account":["acme-b"]}}}`
	apsAccountRule       = `{"source":["amazon-webhook-gateway.aps"],"detail":{"metadata":{"account":["acme-b"]}}}`
	amazonPayAccountRule = `{"source":["amazon-webhook-gateway.amazon-pay"],"detail":{"metadata":{"account":["acme-b"]}}}`
)

// labeledEvent is what a consumer reads of a gateway event to route it.
type labeledEvent struct {
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
	Detail     struct {
		Metadata struct {
			Account        string `json:"account"`
			IdempotencyKey string `json:"idempotencyKey"`
			DeliveryID     string `json:"deliveryId"`
			MessageID      string `json:"messageId"`
		} `json:"metadata"`
		Data struct {
			MerchantReference string `json:"merchantReference"`
		} `json:"data"`
	} `json:"detail"`
}

// mark is what names the delivery an event came from: the envelope id, the merchant reference or
// the SNS MessageId.
func (e labeledEvent) mark() string {
	m := e.Detail.Metadata
	return m.DeliveryID + m.MessageID + e.Detail.Data.MerchantReference
}

// consumeLabeled reads a queue, deduplicated on the idempotency key as consumers do.
func consumeLabeled(t *testing.T, g *Gateway, queue string) []labeledEvent {
	t.Helper()
	var out []labeledEvent
	seen := map[string]bool{}
	for _, e := range testenv.Consume[labeledEvent](t, g.Local.Config, queue, 100) {
		if !seen[e.Detail.Metadata.IdempotencyKey] {
			seen[e.Detail.Metadata.IdempotencyKey] = true
			out = append(out, e)
		}
	}
	return out
}

// accountCase is one delivery of one account and the label its events must carry.
type accountCase struct {
	name    string
	mark    string // in every event of the delivery (see labeledEvent.mark)
	req     reqType
	account string
	otp     string // a tracking ID whose stored OTP must carry the label
}

func accountCases(g *Accounts) []accountCase {
	ttl := time.Now().Add(time.Hour).UnixMilli()
	ship := func(name, account string, build func(body string) reqType) accountCase {
		id, tid := Unique("env-"+name), Unique("T-"+name)
		return accountCase{name: name, mark: id, account: account, otp: tid,
			req: build(ShippingBody(id, time.Now(), OTP{TrackingID: tid, Code: "123456", TTL: ttl}))}
	}
	bearer := func(client string) func(string) reqType {
		return func(body string) reqType {
			c := Claims()
			c["client_id"] = client
			return withBearer(Shipping(body), g.Token(c))
		}
	}
	aps := func(name, account string, sign func(map[string]string) map[string]string) accountCase {
		ref := Unique("ORDER-" + name)
		return accountCase{name: name, mark: ref, account: account, req: APS("/aps/transaction-feedback", sign(APSParams(ref, Unique("F"))), false)}
	}
	pay := func(name, account, topic, merchant string) accountCase {
		req := g.NotificationOn(topic, Unique("m-"+name), ChargeMessageOf(merchant, Unique("C")))
		// Signing gives the message an SNS-shaped MessageId.
		var m struct{ MessageId string }
		_ = json.Unmarshal([]byte(req.Body), &m)
		return accountCase{name: name, mark: m.MessageId, account: account, req: req}
	}
	return []accountCase{
		ship("shipping-default-key", "default", Shipping),
		ship("shipping-a-key", AccountA, func(b string) reqType { return ShippingWithKey(b, APIKeyA) }),
		ship("shipping-b-key", AccountB, func(b string) reqType { return ShippingWithKey(b, APIKeyB) }),
		ship("shipping-b-basic", AccountB, func(b string) reqType {
			r := Shipping(b)
			delete(r.Headers, "x-api-key")
			r.Headers["authorization"] = "Basic " + encode64(BasicUserB+":"+BasicPasswordB)
			return r
		}),
		ship("shipping-b-query", AccountB, func(b string) reqType {
			r := Shipping(b)
			delete(r.Headers, "x-api-key")
			r.QueryStringParameters = map[string]string{"api_key": QueryKeyB}
			r.RawQueryString = "api_key=" + QueryKeyB
			return r
		}),
		ship("shipping-default-client", "default", bearer(Audience)),
		ship("shipping-a-client", AccountA, bearer(ClientA)),
		ship("shipping-b-client", AccountB, bearer(ClientB)),
		aps("aps-default", "default", SignAPS),
		aps("aps-apple-pay", "default", func(p map[string]string) map[string]string {
			p["access_code"], p["digital_wallet"] = ApplePayAccessCode, "APPLE_PAY"
			return SignApplePay(p)
		}),
		aps("aps-a", AccountA, func(p map[string]string) map[string]string {
			return SignAPSWith(p, APSMerchantA, APSAccessCodeA, APSPhraseA)
		}),
		aps("aps-b", AccountB, func(p map[string]string) map[string]string {
			return SignAPSWith(p, APSMerchantB, APSAccessCodeB, APSPhraseB)
		}),
		pay("pay-default", "default", TopicARN, "A3EXAMPLE"),
		pay("pay-a", AccountA, TopicARNA, MerchantIDA),
		pay("pay-b", AccountB, TopicARNB, MerchantIDB),
	}
}

// Two (here three) accounts of every webhook deliver through one deployment, and every event
// and stored OTP carries the label of the account whose credential, phrase set or topic
// authenticated it.
func TestEveryEventCarriesItsAccountsLabel(t *testing.T) {
	g := StartAccounts(t, local)
	queue := g.RouteAll(t)
	cases := accountCases(g)
	for _, tc := range cases {
		if resp := g.Send(t, tc.req); resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, resp.Body)
		}
	}
	got := consumeLabeled(t, g.Gateway, queue)
	for _, tc := range cases {
		n := 0
		for _, e := range got {
			if !strings.Contains(e.mark(), tc.mark) {
				continue
			}
			n++
			if e.Detail.Metadata.Account != tc.account {
				t.Errorf("%s: %s event labeled %q, want %q", tc.name, e.DetailType, e.Detail.Metadata.Account, tc.account)
			}
		}
		if n == 0 {
			t.Errorf("%s: no event", tc.name)
		}
		if tc.otp != "" {
			o, err := g.OTPs.ByTrackingIDIn(context.Background(), tc.account, tc.otp)
			if err != nil {
				t.Errorf("%s: stored OTP: %v", tc.name, err)
			} else if o.Account != tc.account {
				t.Errorf("%s: stored OTP labeled %q, want %q", tc.name, o.Account, tc.account)
			}
		}
	}
	for _, s := range append(AccountSecrets, Secrets...) {
		if strings.Contains(g.Logs.String(), s) {
			t.Errorf("logs contain %q", s)
		}
	}
}

// Tracking states and the audit items of OTPs expired on arrival carry the label too; an appId
// other than the account's is logged and the label kept.
func TestStoredItemsCarryTheirAccountsLabel(t *testing.T) {
	g := StartAccounts(t, local)
	tid, expired := Unique("TRK"), Unique("EXP")
	track := ShippingWithKey(ShippingEnvelope(Unique("env"), "Tracking Detail", time.Now(), TrackingEntry(tid, "Delivered", time.Now().UTC().Format(time.RFC3339))), APIKeyB)
	if resp := g.Send(t, track); resp.StatusCode != 200 {
		t.Fatalf("tracking: %d %s", resp.StatusCode, resp.Body)
	}
	st, err := g.Tracking.GetIn(context.Background(), AccountB, tid)
	if err != nil {
		t.Fatal(err)
	}
	if st.Account != AccountB {
		t.Errorf("tracking state labeled %q, want %q", st.Account, AccountB)
	}
	// ShippingBody's appId is not account A's AppIDA.
	late := ShippingWithKey(ShippingBody(Unique("env"), time.Now(), OTP{TrackingID: expired, Code: "654321", TTL: time.Now().Add(-time.Hour).UnixMilli()}), APIKeyA)
	if resp := g.Send(t, late); resp.StatusCode != 200 {
		t.Fatalf("expired OTP: %d %s", resp.StatusCode, resp.Body)
	}
	out, err := dynamodb.NewFromConfig(g.AWS).GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: &g.OTPTable, Key: map[string]types.AttributeValue{otpstore.KeyAttribute: &types.AttributeValueMemberS{Value: otpstore.ExpiredKey(AccountA, expired)}}})
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := out.Item["account"].(*types.AttributeValueMemberS); a == nil || a.Value != AccountA {
		t.Errorf("expired-on-arrival audit item labeled %v, want %q", out.Item["account"], AccountA)
	}
	var warned bool
	for _, l := range strings.Split(g.Logs.String(), "\n") {
		warned = warned || (strings.Contains(l, "appId differs") && strings.Contains(l, `"account":"`+AccountA+`"`))
	}
	if !warned {
		t.Error("no warning that the appId is not account A's")
	}
}

// A credential of one account never yields another's label: a request presenting credentials of
// two accounts, or a credential that two accounts' secrets hold, is refused with no event.
func TestAKeyOfOneAccountNeverYieldsAnothersLabel(t *testing.T) {
	g := StartAccounts(t, local)
	queue := g.RouteAll(t)
	ttl := time.Now().Add(time.Hour).UnixMilli()
	body := func() string {
		return ShippingBody(Unique("env"), time.Now(), OTP{TrackingID: Unique("T"), Code: "123456", TTL: ttl})
	}
	both := ShippingWithKey(body(), APIKeyA)
	both.Headers["authorization"] = "Basic " + encode64(BasicUserB+":"+BasicPasswordB)
	if resp := g.Deliver(both); resp.StatusCode != 503 {
		t.Errorf("A's key with B's Basic user: %d %s, want 503", resp.StatusCode, resp.Body)
	}
	// An operator copies A's key into B's secret: the key is nobody's until one copy goes.
	g.PutShippingSecret(t, g.ShippingSecretB, ShippingSecret(AccountB, AppIDB, APIKeyB, APIKeyA))
	cold := g.ColdShipping()
	if resp, _ := Post(t, cold, ShippingWithKey(body(), APIKeyA)); resp.StatusCode != 503 {
		t.Errorf("a key in two accounts' secrets: %d %s, want 503", resp.StatusCode, resp.Body)
	}
	if resp, _ := Post(t, cold, ShippingWithKey(body(), APIKeyB)); resp.StatusCode != 200 {
		t.Errorf("B's own key: %d %s", resp.StatusCode, resp.Body)
	}
	for _, e := range consumeLabeled(t, g.Gateway, queue) {
		if e.Detail.Metadata.Account != AccountB {
			t.Errorf("event labeled %q: only B's own key may deliver", e.Detail.Metadata.Account)
		}
	}
}

// Rotating account A's credential (its own secret) leaves account B's secret as it was and B's
// deliveries going, on a warm instance and a cold one.
func TestRotatingOneAccountLeavesTheOtherAlone(t *testing.T) {
	g := StartAccounts(t, local)
	queue := g.RouteAll(t)
	ttl := time.Now().Add(time.Hour).UnixMilli()
	send := func(h pipeline.LambdaHandler, key string) int {
		resp, _ := Post(t, h, ShippingWithKey(ShippingBody(Unique("env"), time.Now(), OTP{TrackingID: Unique("T"), Code: "123456", TTL: ttl}), key))
		return resp.StatusCode
	}
	warm := g.Shipping
	if a, b := send(warm, APIKeyA), send(warm, APIKeyB); a != 200 || b != 200 {
		t.Fatalf("before the rotation: A %d, B %d", a, b)
	}
	versionB := g.SecretVersion(t, g.ShippingSecretB)
	const newKeyA = "dev-api-key-a-rotated-0123456789abcd"
	g.PutShippingSecret(t, g.ShippingSecretA, ShippingSecret(AccountA, AppIDA, newKeyA))
	if v := g.SecretVersion(t, g.ShippingSecretB); v != versionB {
		t.Errorf("B's secret changed version %s -> %s", versionB, v)
	}
	if b := send(warm, APIKeyB); b != 200 {
		t.Errorf("warm instance, B after A's rotation: %d", b)
	}
	cold := g.ColdShipping()
	for _, tc := range []struct {
		key  string
		want int
	}{{newKeyA, 200}, {APIKeyA, 401}, {APIKeyB, 200}} {
		if got := send(cold, tc.key); got != tc.want {
			t.Errorf("cold instance after A's rotation, key %.16s...: %d, want %d", tc.key, got, tc.want)
		}
	}
	labels := map[string]int{}
	for _, e := range consumeLabeled(t, g.Gateway, queue) {
		labels[e.Detail.Metadata.Account]++
	}
	if want := map[string]int{AccountA: 2, AccountB: 3}; fmt.Sprint(labels) != fmt.Sprint(want) {
		t.Errorf("events per account %v, want %v", labels, want)
	}
	if strings.Contains(g.Logs.String(), newKeyA) {
		t.Error("the logs hold A's new key")
	}
}

// Quarantine records keep the label, a replay publishes under it, and an Amazon Pay v2 message
// whose MerchantID is not its topic's account's is quarantined, not published.
func TestQuarantineAndReplayKeepTheAccountsLabel(t *testing.T) {
	g := StartAccounts(t, local)
	queue := g.RouteAll(t)
	ttl := time.Now().Add(time.Hour).UnixMilli()
	good := Unique("T")
	// One entry without a tracking ID: the delivery is quarantined whole, its valid entry processed.
	partly := ShippingWithKey(ShippingBody(Unique("env"), time.Now(), OTP{TrackingID: good, Code: "123456", TTL: ttl}, OTP{Code: "1", TTL: ttl}), APIKeyB)
	invalidAPS := APSParams(Unique("ORDER"), Unique("F"))
	invalidAPS["status"] = "ab"
	cases := []struct {
		name, reason, account string
		req                   reqType
	}{
		{"shipping", "invalid_payload", AccountB, partly},
		{"aps", "invalid_payload", AccountA, APS("/aps/transaction-feedback", SignAPSWith(invalidAPS, APSMerchantA, APSAccessCodeA, APSPhraseA), false)},
		{"amazon-pay", "merchant_mismatch", AccountB, g.NotificationOn(TopicARNB, Unique("m"), ChargeMessageOf(MerchantIDA, Unique("C")))},
	}
	keys := map[string]string{}
	for _, tc := range cases {
		resp := g.Send(t, tc.req)
		var body struct{ Status, Error, QuarantineKey string }
		_ = json.Unmarshal([]byte(resp.Body), &body)
		if resp.StatusCode != 202 || body.Error != tc.reason {
			t.Errorf("%s: %d %s, want 202 %s", tc.name, resp.StatusCode, resp.Body, tc.reason)
			continue
		}
		r, err := g.Quarantine.Get(context.Background(), body.QuarantineKey)
		if err != nil {
			t.Fatal(err)
		}
		if r.Account != tc.account {
			t.Errorf("%s: record labeled %q, want %q", tc.name, r.Account, tc.account)
		}
		keys[tc.name] = body.QuarantineKey
	}
	first := consumeLabeled(t, g.Gateway, queue)
	if len(first) != 1 || first[0].Detail.Metadata.Account != AccountB {
		t.Errorf("before the replay: %+v, want the valid entry's event, labeled %s", first, AccountB)
	}
	// The replay's credentials were not kept: its label is the record's.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := g.Shipping(ctx, json.RawMessage(fmt.Sprintf(`{"quarantineReplay":{"key":%q}}`, keys["shipping"]))); err != nil {
		t.Fatal(err)
	}
	replayed := consumeLabeled(t, g.Gateway, queue)
	if len(replayed) == 0 {
		t.Fatal("the replay published nothing")
	}
	for _, e := range replayed {
		if e.Detail.Metadata.Account != AccountB {
			t.Errorf("replayed event labeled %q, want %q", e.Detail.Metadata.Account, AccountB)
		}
	}
}

// The per-account rules the docs give receive exactly that account's events.
func TestEachPerAccountRuleReceivesExactlyItsAccountsEvents(t *testing.T) {
	g := StartAccounts(t, local)
	rules := []string{shippingAccountRule, apsAccountRule, amazonPayAccountRule}
	queues := map[string]string{}
	for _, r := range rules {
		queues[r] = must[string](t)(localaws.RouteToQueue(context.Background(), g.Local.Config, g.Bus, r))
	}
	cases := accountCases(g)
	for _, tc := range cases {
		if resp := g.Send(t, tc.req); resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, resp.Body)
		}
	}
	for _, r := range rules {
		got := consumeLabeled(t, g.Gateway, queues[r])
		source := strings.Split(r, `"`)[3]
		prefix := map[string]string{"amazon-webhook-gateway.shipping": "shipping-", "amazon-webhook-gateway.aps": "aps-", "amazon-webhook-gateway.amazon-pay": "pay-"}[source]
		want := 0
		for _, tc := range cases {
			if tc.account == AccountB && strings.HasPrefix(tc.name, prefix) {
				want++
			}
		}
		marks := 0
		for _, e := range got {
			if e.Detail.Metadata.Account != AccountB || e.Source != source {
				t.Errorf("rule %s received a %s event of account %q", r, e.Source, e.Detail.Metadata.Account)
			}
		}
		for _, tc := range cases {
			if !strings.HasPrefix(tc.name, prefix) {
				continue
			}
			for _, e := range got {
				if strings.Contains(e.mark(), tc.mark) {
					marks++
					break
				}
			}
		}
		if marks != want {
			t.Errorf("rule %s received events of %d deliveries, want %d", r, marks, want)
		}
	}
	for page, rule := range map[string]string{"shipping.md": shippingAccountRule, "aps.md": apsAccountRule, "amazon-pay.md": amazonPayAccountRule} {
		doc, err := os.ReadFile(filepath.Join(localaws.RepoRoot(), "docs", page))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), rule) {
			t.Errorf("docs/%s does not give the rule %s", page, rule)
		}
	}
}
