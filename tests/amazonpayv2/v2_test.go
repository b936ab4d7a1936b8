// Package amazonpayv2 drives Amazon Pay API v2 ("CV2") IPNs end to end through the test harness:
// the samples in events/ signed by the local SNS signer, the function built as its
// main.go builds it with an Amazon Pay API key, moto for DynamoDB, EventBridge and S3, and a local
// Amazon Pay stand-in that verifies every request's RSASSA-PSS signature with the public key.
package amazonpayv2

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpay"
	"github.com/amazon-webhook-gateway/gateway/shared/amazonpayapi"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

var local *testenv.Local

func TestMain(m *testing.M) { os.Exit(testenv.RunWithLocal(m, &local)) }

// The objects the samples name, as the Amazon Pay API returns them (dotnet SDK shapes, with
// buyer data on the charge permission).
const (
	chargeID     = "S02-0000000-0000000-C000001"
	refundID     = "S02-0000000-0000000-R000001"
	permissionID = "S02-0000000-0000000"
	buyerEmail   = "jane.buyer@example.com"
	buyerStreet  = "1 Main Street"

	chargeJSON = `{"chargeId":"` + chargeID + `","chargePermissionId":"` + permissionID + `","chargeAmount":{"amount":"14.00","currencyCode":"EUR"},
"captureAmount":{"amount":"0.00","currencyCode":"EUR"},"refundedAmount":{"amount":"0.00","currencyCode":"EUR"},"softDescriptor":"SHOP",
"statusDetails":{"state":"Declined","reasonCode":"SoftDeclined","reasonDescription":"try again","lastUpdatedTimestamp":"20261127T100000Z"},
"creationTimestamp":"20261127T095900Z","expirationTimestamp":"20261227T095900Z","releaseEnvironment":"Sandbox",
"merchantMetadata":{"merchantReferenceId":"ORDER-16","customInformation":"internal"}}`
	refundJSON = `{"refundId":"` + refundID + `","chargeId":"` + chargeID + `","refundAmount":{"amount":"4.50","currencyCode":"EUR"},
"statusDetails":{"state":"Refunded","reasonCode":null,"reasonDescription":null,"lastUpdatedTimestamp":"20261127T100500Z"},
"creationTimestamp":"20261127T100000Z","releaseEnvironment":"Sandbox"}`
	permissionJSON = `{"chargePermissionId":"` + permissionID + `","chargePermissionType":"Recurring",
"buyer":{"buyerId":"amzn1.account.B1","name":"Jane Buyer","email":"` + buyerEmail + `","phoneNumber":"+44 20 0000 0000"},
"shippingAddress":{"name":"Jane Buyer","addressLine1":"` + buyerStreet + `","city":"London","postalCode":"N1 1AA","countryCode":"GB"},
"billingAddress":{"name":"Jane Buyer","addressLine1":"` + buyerStreet + `","city":"London","postalCode":"N1 1AA","countryCode":"GB"},
"limits":{"amountLimit":{"amount":"100.00","currencyCode":"EUR"},"amountBalance":{"amount":"86.00","currencyCode":"EUR"}},
"statusDetails":{"state":"Chargeable","reasons":null,"lastUpdatedTimestamp":"20261127T100000Z"},
"presentmentCurrency":"EUR","creationTimestamp":"20261101T000000Z","expirationTimestamp":"20271101T000000Z","releaseEnvironment":"Sandbox"}`
)

// buyerData is what must never reach an event without AmazonPayIncludeBuyerData, nor any log.
var buyerData = []string{buyerEmail, buyerStreet, "Jane Buyer", "+44 20 0000 0000"}

type event struct {
	DetailType string           `json:"detail-type"`
	Detail     amazonpay.Detail `json:"detail"`
}

// setUp is a fresh gateway, its Amazon Pay function with a key and a stand-in holding the
// samples' objects, and a consumer queue for every event.
func setUp(t *testing.T, includeBuyerData bool) (*harness.Gateway, *harness.AmazonPayAPI, string) {
	t.Helper()
	g := harness.Start(t, local)
	api := g.AmazonPayWithAPI(t, includeBuyerData)
	api.Stub.Put(amazonpayapi.Charge, chargeID, chargeJSON)
	api.Stub.Put(amazonpayapi.Refund, refundID, refundJSON)
	api.Stub.Put(amazonpayapi.ChargePermission, permissionID, permissionJSON)
	t.Cleanup(func() { checkLogs(t, g) })
	return g, api, g.RouteAll(t)
}

// checkLogs fails t if a log line holds buyer data or the private key.
func checkLogs(t *testing.T, g *harness.Gateway) {
	logs := g.Logs.String()
	key, _ := os.ReadFile(localaws.RepoRoot() + "/events/dev/" + harness.AmazonPayAPIKeyFile)
	var doc struct{ PrivateKey string }
	_ = json.Unmarshal(key, &doc)
	lines := strings.Split(doc.PrivateKey, "\n")
	for _, s := range append(slices.Clone(buyerData), lines[1], lines[len(lines)/2]) {
		if strings.Contains(logs, s) {
			t.Errorf("the logs hold %q", s)
		}
	}
}

// sample is events/<name> as SNS sends it now: signed by the local SNS signer, from the harness's
// topic, under MessageId id (a name; snstest makes it a UUID).
func sample(t *testing.T, g *harness.Gateway, name, id string) *snsverify.Message {
	t.Helper()
	req := testenv.LoadEvent(t, name)
	m, err := snsverify.Parse([]byte(req.Body))
	if err != nil {
		t.Fatal(err)
	}
	m.MessageID, m.TopicARN, m.SigningCertURL, m.Signature = id, harness.TopicARN, "", ""
	m.Timestamp = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	g.SNS.Sign(m)
	return m
}

// deliver posts m to h as API Gateway would, and returns the status and the body's "status".
func deliver(t *testing.T, h pipeline.LambdaHandler, m *snsverify.Message) (int, string) {
	t.Helper()
	resp, body := harness.Post(t, h, harness.AmazonPay(m))
	status, _ := body["status"].(string)
	if status == "" {
		status, _ = body["error"].(string)
	}
	return resp.StatusCode, status
}

// replay invokes h with the quarantine's replay order for key, as `quarantine replay` does.
func replay(t *testing.T, h pipeline.LambdaHandler, key string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := h(ctx, json.RawMessage(fmt.Sprintf(`{"quarantineReplay":{"key":%q}}`, key)))
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	_ = json.Unmarshal([]byte(resp.Body), &body)
	status, _ := body["status"].(string)
	if status == "" {
		status, _ = body["error"].(string)
	}
	return resp.StatusCode, status
}

func consume(t *testing.T, g *harness.Gateway, queue string) map[string]event {
	t.Helper()
	byKey := map[string]event{}
	for _, ev := range testenv.Consume[event](t, g.Local.Config, queue, 50) {
		byKey[ev.Detail.Metadata.IdempotencyKey] = ev
	}
	return byKey
}

func stateName(ev event) string {
	if ev.Detail.Data.State == nil || ev.Detail.Data.State.StatusDetails == nil {
		return ""
	}
	return ev.Detail.Data.State.StatusDetails.State
}

// TestEachV2SampleYieldsItsDetailTypeWithTheFetchedState: each v2 sample (both key casings)
// yields its own detail-type with the object's fetched state, keyed amazonpay:v2:<MessageId>,
// and the deprecated detail-type under amazonpay:<MessageId>; a chargeback, which has no GET,
// is published without a call. Every call reached the stand-in signed with the key.
func TestEachV2SampleYieldsItsDetailTypeWithTheFetchedState(t *testing.T) {
	g, api, queue := setUp(t, false)
	tests := []struct {
		file, detailType, deprecated, state, enrichment string
		amount                                          string
	}{
		{"amazon-pay-ipn-charge-v2.json", amazonpay.DetailTypeChargeChanged, amazonpay.DetailTypeCharge, "Declined", amazonpay.EnrichmentEnriched, "14.00"},
		{"amazon-pay-ipn-refund-v2.json", amazonpay.DetailTypeRefundChanged, amazonpay.DetailTypeRefund, "Refunded", amazonpay.EnrichmentEnriched, "4.50"},
		{"amazon-pay-ipn-charge-permission-v2.json", amazonpay.DetailTypeChargePermissionChanged, amazonpay.DetailTypeIPN, "Chargeable", amazonpay.EnrichmentEnriched, "86.00"},
		{"amazon-pay-ipn-chargeback-v2.json", amazonpay.DetailTypeChargebackChanged, amazonpay.DetailTypeIPN, "", amazonpay.EnrichmentDisabled, ""},
	}
	var ids []string
	for _, tc := range tests {
		m := sample(t, g, tc.file, "v2-"+tc.file)
		ids = append(ids, m.MessageID)
		if status, answer := deliver(t, api.Handler, m); status != 200 || answer != "accepted" {
			t.Fatalf("%s: %d %s", tc.file, status, answer)
		}
	}
	evs := consume(t, g, queue)
	if len(evs) != 2*len(tests) {
		t.Fatalf("%d events, want %d", len(evs), 2*len(tests))
	}
	for i, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			own, old := evs["amazonpay:v2:"+ids[i]], evs["amazonpay:"+ids[i]]
			if own.DetailType != tc.detailType || old.DetailType != tc.deprecated {
				t.Fatalf("detail-types %q and %q", own.DetailType, old.DetailType)
			}
			for _, ev := range []event{own, old} {
				d := ev.Detail.Data
				if d.Enrichment == nil || d.Enrichment.Status != tc.enrichment || stateName(ev) != tc.state || d.ObjectID == "" || d.MerchantID != "A3EXAMPLE" || d.NotificationID == "" {
					t.Errorf("%s: data %+v, enrichment %+v", ev.DetailType, d, d.Enrichment)
				}
			}
			st := own.Detail.Data.State
			switch {
			case tc.enrichment == amazonpay.EnrichmentDisabled:
				if r := own.Detail.Data.Enrichment.Reason; !strings.HasPrefix(r, "no_get_api") {
					t.Errorf("chargeback reason %q", r)
				}
			case st.ChargeAmount != nil && st.ChargeAmount.Amount != tc.amount,
				st.RefundAmount != nil && st.RefundAmount.Amount != tc.amount,
				st.Limits != nil && st.Limits.AmountBalance.Amount != tc.amount:
				t.Errorf("amounts in %+v", st)
			}
		})
	}
	// No buyer data without AmazonPayIncludeBuyerData.
	perm := evs["amazonpay:v2:"+ids[2]]
	raw, _ := json.Marshal(perm)
	for _, s := range buyerData {
		if strings.Contains(string(raw), s) {
			t.Errorf("the event holds buyer data %q: %s", s, raw)
		}
	}
	if perm.Detail.Data.Enrichment.BuyerDataIncluded || perm.Detail.Data.State.Buyer != nil {
		t.Errorf("buyer data in %+v", perm.Detail.Data.State)
	}
	reqs := api.Stub.Requests()
	if len(reqs) != 3 {
		t.Errorf("%d calls to Amazon Pay, want 3 (none for the chargeback)", len(reqs))
	}
	for _, r := range reqs {
		if !r.Verified || r.Status != 200 {
			t.Errorf("call %+v", r)
		}
	}
}

// TestBuyerDataReachesTheEventOnlyWhenEnabled: with AmazonPayIncludeBuyerData the charge
// permission's buyer and addresses reach the event, and still no log.
func TestBuyerDataReachesTheEventOnlyWhenEnabled(t *testing.T) {
	g, api, queue := setUp(t, true)
	m := sample(t, g, "amazon-pay-ipn-charge-permission-v2.json", "buyer-data")
	if status, answer := deliver(t, api.Handler, m); status != 200 || answer != "accepted" {
		t.Fatalf("%d %s", status, answer)
	}
	own := consume(t, g, queue)["amazonpay:v2:"+m.MessageID]
	d := own.Detail.Data
	if !d.Enrichment.BuyerDataIncluded || !strings.Contains(string(d.State.Buyer), buyerEmail) || !strings.Contains(string(d.State.ShippingAddress), buyerStreet) || d.State.BillingAddress == nil {
		t.Errorf("state %+v", d.State)
	}
}

// TestWithoutAnAPIKeyNothingIsCalledAndEnrichmentIsDisabled: without AmazonPayApiKeySecretArn (the
// harness's default function) v2 events say enrichment "disabled" and nothing is called.
func TestWithoutAnAPIKeyNothingIsCalledAndEnrichmentIsDisabled(t *testing.T) {
	g := harness.Start(t, local)
	queue := g.RouteAll(t)
	m := sample(t, g, "amazon-pay-ipn-charge-v2.json", "no-key")
	if status, answer := deliver(t, g.AmazonPay, m); status != 200 || answer != "accepted" {
		t.Fatalf("%d %s", status, answer)
	}
	own := consume(t, g, queue)["amazonpay:v2:"+m.MessageID]
	if e := own.Detail.Data.Enrichment; own.DetailType != amazonpay.DetailTypeChargeChanged || e == nil || e.Status != amazonpay.EnrichmentDisabled || e.Reason != "no_api_key" || own.Detail.Data.State != nil {
		t.Errorf("event %+v", own)
	}
}

// TestAFailingAPIYieldsAThinEventAndAPendingEnrichment: whatever way the Amazon Pay API
// fails, the IPN is answered 200 at once with the thin event (enrichment failed, retryPending)
// and kept in the quarantine (reason enrichment_pending); SNS's retry is a duplicate. A replay
// while the API still fails answers 503 and keeps the record; once the API answers, the replay
// publishes the fetched state as one more event (amazonpay:v2:<MessageId>:enriched, lateFor the
// thin one) and answers 200, so `quarantine replay` deletes the record; replaying it again
// publishes nothing.
func TestAFailingAPIYieldsAThinEventAndAPendingEnrichment(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(api *harness.AmazonPayAPI)
		reason string
	}{
		{"API down", func(api *harness.AmazonPayAPI) { api.Stub.Fail(503) }, "api_unavailable: HTTP 503"},
		{"throttled", func(api *harness.AmazonPayAPI) { api.Stub.Fail(429) }, "api_unavailable: HTTP 429"},
		{"key refused", func(api *harness.AmazonPayAPI) { api.Stub.Fail(401) }, "api_key_refused: HTTP 401"},
		{"not found yet", func(api *harness.AmazonPayAPI) { api.Stub.Put(amazonpayapi.Charge, chargeID, ""); api.Stub.Fail(404) }, "api_unavailable: HTTP 404"},
		{"answer is another object", func(api *harness.AmazonPayAPI) {
			api.Stub.Put(amazonpayapi.Charge, chargeID, strings.Replace(chargeJSON, `"chargeId":"`+chargeID, `"chargeId":"S02-9`, 1))
		}, "invalid_response: the answer is not the object the IPN names"},
		{"times out", func(api *harness.AmazonPayAPI) { api.Stub.Hang(true) }, "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, api, queue := setUp(t, false)
			tc.break_(api)
			m := sample(t, g, "amazon-pay-ipn-charge-v2.json", "pending-"+tc.name)
			if status, answer := deliver(t, api.Handler, m); status != 200 || answer != "accepted" {
				t.Fatalf("delivery: %d %s, want 200 accepted", status, answer)
			}
			evs := consume(t, g, queue)
			thin, old := evs["amazonpay:v2:"+m.MessageID], evs["amazonpay:"+m.MessageID]
			if len(evs) != 2 || thin.DetailType != amazonpay.DetailTypeChargeChanged || old.DetailType != amazonpay.DetailTypeCharge {
				t.Fatalf("events %v", slices.Collect(func(yield func(string) bool) {
					for k, e := range evs {
						yield(k + " " + e.DetailType)
					}
				}))
			}
			if e := thin.Detail.Data.Enrichment; e.Status != amazonpay.EnrichmentFailed || e.Reason != tc.reason || !e.RetryPending || thin.Detail.Data.State != nil {
				t.Errorf("thin event enrichment %+v", e)
			}
			items, err := g.Quarantine.List(context.Background(), amazonpay.Webhook)
			if err != nil || len(items) != 1 {
				t.Fatalf("quarantine %v, %v: want the one pending message", items, err)
			}
			rec, err := g.Quarantine.Get(context.Background(), items[0].Key)
			if err != nil || rec.Reason != amazonpay.ReasonEnrichmentPending || !strings.Contains(rec.Request.Body, m.Signature) {
				t.Fatalf("record %+v, %v", rec, err)
			}
			// SNS's retry of the same message, and Amazon Pay's re-publication of it.
			again := sample(t, g, "amazon-pay-ipn-charge-v2.json", "pending-republished-"+tc.name)
			for _, dup := range []*snsverify.Message{m, again} {
				if status, answer := deliver(t, api.Handler, dup); status != 200 || answer != "duplicate" {
					t.Errorf("redelivery %s: %d %s, want 200 duplicate", dup.MessageID, status, answer)
				}
			}
			// The API still fails: the replay keeps the record.
			if status, _ := replay(t, api.Handler, items[0].Key); status != 503 {
				t.Errorf("replay while failing: %d, want 503", status)
			}
			api.Stub.Hang(false)
			api.Stub.Fail(0)
			api.Stub.Put(amazonpayapi.Charge, chargeID, chargeJSON)
			if status, answer := replay(t, api.Handler, items[0].Key); status != 200 || answer != "accepted" {
				t.Fatalf("replay: %d %s, want 200 accepted", status, answer)
			}
			if status, answer := replay(t, api.Handler, items[0].Key); status != 200 || answer != "duplicate" {
				t.Errorf("second replay: %d %s, want 200 duplicate", status, answer)
			}
			evs = consume(t, g, queue)
			late, ok := evs["amazonpay:v2:"+m.MessageID+":enriched"]
			if len(evs) != 1 || !ok {
				t.Fatalf("after the replays: %d events, want the one later enrichment", len(evs))
			}
			if e := late.Detail.Data.Enrichment; late.DetailType != amazonpay.DetailTypeChargeChanged || e.Status != amazonpay.EnrichmentEnriched ||
				e.LateFor != "amazonpay:v2:"+m.MessageID || stateName(late) != "Declined" || e.FetchedAt == nil {
				t.Errorf("later enrichment %+v %+v", late, e)
			}
		})
	}
}

// TestAnIPNWhosePendingRecordCannotBeKeptIsRetried: if the pending record cannot be written (S3
// down), the IPN is answered 503 so that SNS retries it: nothing is published without its record.
func TestAnIPNWhosePendingRecordCannotBeKeptIsRetried(t *testing.T) {
	g, api, queue := setUp(t, false)
	api.Stub.Fail(503)
	m := sample(t, g, "amazon-pay-ipn-charge-v2.json", "not-kept")
	g.Local.Faults.SetRequestFault(func(target string) localaws.Fault {
		if strings.HasPrefix(target, "s3 PUT") && strings.Contains(target, "/quarantine/") {
			return localaws.Unavailable
		}
		return localaws.Pass
	})
	status, _ := deliver(t, api.Handler, m)
	g.Local.Faults.SetRequestFault(nil)
	if status != 503 {
		t.Fatalf("got %d, want 503", status)
	}
	if evs := consume(t, g, queue); len(evs) != 0 {
		t.Fatalf("%d events published without a pending record", len(evs))
	}
	if status, answer := deliver(t, api.Handler, m); status != 200 || answer != "accepted" {
		t.Fatalf("SNS retry: %d %s", status, answer)
	}
	if evs := consume(t, g, queue); len(evs) != 2 {
		t.Errorf("%d events after the retry, want 2", len(evs))
	}
}

// TestAnUnfetchableObjectIDIsNeitherFetchedNorKept: an ObjectId that cannot name an object (a path)
// is never put into a URL: no call, enrichment failed, and nothing kept, since no replay could
// fetch it.
func TestAnUnfetchableObjectIDIsNeitherFetchedNorKept(t *testing.T) {
	g, api, queue := setUp(t, false)
	m := g.Notification("bad-object-id", `{"MerchantID":"A3EXAMPLE","ObjectType":"CHARGE","ObjectId":"../refunds/`+refundID+`","NotificationType":"STATE_CHANGE","NotificationId":"n-bad"}`)
	if status, answer := deliver(t, api.Handler, m); status != 200 || answer != "accepted" {
		t.Fatalf("%d %s", status, answer)
	}
	own := consume(t, g, queue)["amazonpay:v2:"+m.MessageID]
	if e := own.Detail.Data.Enrichment; e == nil || e.Status != amazonpay.EnrichmentFailed || e.Reason != "invalid_object_id" || e.RetryPending {
		t.Errorf("enrichment %+v", e)
	}
	if n := len(api.Stub.Requests()); n != 0 {
		t.Errorf("%d calls to Amazon Pay, want none", n)
	}
	if items, err := g.Quarantine.List(context.Background(), amazonpay.Webhook); err != nil || len(items) != 0 {
		t.Errorf("quarantine %v, %v: want nothing kept", items, err)
	}
}
