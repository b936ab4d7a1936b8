package shipping_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
)

// The rule docs/shipping.md gives for OTPs that expired on arrival ("Consumer rule").
const expiredRulePattern = `{"source":["amazon-webhook-gateway.shipping"],"detail-type":["Shipping OTP Expired On Arrival"]}`

// expiredEvent is a "Shipping OTP Expired On Arrival" event as a consumer receives it, and the
// message's text.
type expiredEvent struct {
	DetailType string `json:"detail-type"`
	Detail     struct {
		Metadata shipping.Metadata       `json:"metadata"`
		Data     shipping.ExpiredOTPData `json:"data"`
	} `json:"detail"`
	raw string
}

func (e *env) consumedRaw(t *testing.T) []expiredEvent {
	t.Helper()
	var out []expiredEvent
	for _, raw := range testenv.Consume[json.RawMessage](t, awsCfg, e.queueURL, 100) {
		ev := expiredEvent{raw: string(raw)}
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// scanTable returns every item of the OTP table.
func (e *env) scanTable(t *testing.T) []map[string]types.AttributeValue {
	t.Helper()
	out, err := dynamodb.NewFromConfig(awsCfg).Scan(context.Background(), &dynamodb.ScanInput{TableName: &e.otpTable})
	if err != nil {
		t.Fatal(err)
	}
	return out.Items
}

func attrS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		return v.Value
	}
	return ""
}

// The seed sample's OTP expired on 2024-01-13: it is announced as expired on arrival without its
// code whatever IncludeOtpInEvents says, kept only as a codeless audit item, and its code is
// nowhere: not in the event, not in the table, not in a log line.
func TestTheSeedSampleExpiresOnArrivalAndItsCodeIsKeptNowhere(t *testing.T) {
	const seedKey = "shipping:48040fd3-3094-24d8-06c8-d97be2024072:1709913037944"
	for _, tc := range []struct {
		name string
		opts []envOption
	}{
		{"codes included in events", nil},
		{"codes left out of events", []envOption{withoutOTPInEvents()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, append(tc.opts, withRule(allShippingPattern))...)
			logsBefore := len(logSink.String())
			before := time.Now()
			resp, body := e.post(t, testenv.LoadEvent(t, "shipping-otp-api-key.json"))
			after := time.Now()
			if resp.StatusCode != 200 || body["status"] != "accepted" || body["events"] != float64(1) {
				t.Fatalf("got %d %v", resp.StatusCode, body)
			}

			// The event: the right detail-type, no code.
			evs := e.consumedRaw(t)
			if len(evs) != 1 {
				t.Fatalf("consumer received %d events, want 1", len(evs))
			}
			ev := evs[0]
			if ev.DetailType != shipping.DetailTypeOTPExpired {
				t.Errorf("detail-type %q, want %q", ev.DetailType, shipping.DetailTypeOTPExpired)
			}
			if strings.Contains(ev.raw, "938492") || strings.Contains(ev.raw, `"verificationCode"`) {
				t.Errorf("the event carries the code: %s", ev.raw)
			}
			md, d := ev.Detail.Metadata, ev.Detail.Data
			if md.IdempotencyKey != seedKey || md.Origin.DetailType != shipping.DetailTypePN || !md.ReceivedAt.After(d.VerificationCodeExpiresAt) {
				t.Errorf("metadata = %+v", md)
			}
			if d.TrackingID != "1709913037944" || d.AlternateLegTrackingID != "1709912326405" || d.VerificationCodeIncluded ||
				d.VerificationCodeTTL != 1705190399000 || !d.VerificationCodeExpiresAt.Equal(time.Date(2024, 1, 13, 23, 59, 59, 0, time.UTC)) ||
				d.EventCode != shipping.EventCodePinGenerated || d.ShipmentType != "REVERSE" {
				t.Errorf("data = %+v", d)
			}

			// The table: one audit item, holding no code, outside the reverse-leg index.
			items := e.scanTable(t)
			if len(items) != 1 {
				t.Fatalf("table holds %d items, want the audit item alone", len(items))
			}
			audit := items[0]
			for name, v := range audit {
				if b, _ := json.Marshal(v); strings.Contains(string(b), "938492") {
					t.Errorf("audit attribute %s holds the code", name)
				}
			}
			want := map[string]string{
				otpstore.KeyAttribute: otpstore.ExpiredKeyPrefix + "1709913037944", "otpTrackingId": "1709913037944",
				"otpAlternateLegTrackingId": "1709912326405", "verificationCodeTTL": "1705190399000",
				"deliveryId": "48040fd3-3094-24d8-06c8-d97be2024072", "eventCode": shipping.EventCodePinGenerated,
				"verificationCode": "", otpstore.AlternateAttribute: "",
			}
			for name, v := range want {
				if got := attrS(audit, name); got != v {
					t.Errorf("audit item %s = %q, want %q", name, got, v)
				}
			}
			if v, ok := audit["expiredOnArrival"].(*types.AttributeValueMemberBOOL); !ok || !v.Value {
				t.Errorf("audit item expiredOnArrival = %v", audit["expiredOnArrival"])
			}
			exp, _ := strconv.ParseInt(attrS(audit, otpstore.TTLAttribute), 10, 64)
			if lo, hi := before.Add(otpstore.ExpiredRetention).Unix(), after.Add(otpstore.ExpiredRetention).Unix(); exp < lo || exp > hi {
				t.Errorf("audit item expiresAt = %d, want between %d and %d (kept %v after arrival)", exp, lo, hi, otpstore.ExpiredRetention)
			}

			// Not even a reader whose clock says the code would still be valid finds one.
			e.now = time.Date(2024, 1, 13, 12, 0, 0, 0, time.UTC)
			ctx := context.Background()
			for name, lookup := range map[string]func() (otpstore.OTP, error){
				"forward": func() (otpstore.OTP, error) { return e.store.ByTrackingID(ctx, "1709913037944") },
				"reverse": func() (otpstore.OTP, error) { return e.store.ByAlternateLegTrackingID(ctx, "1709912326405") },
				"the audit item": func() (otpstore.OTP, error) {
					return e.store.ByTrackingID(ctx, otpstore.ExpiredKey(account.Default, "1709913037944"))
				},
			} {
				if o, err := lookup(); err != otpstore.ErrNotFound {
					t.Errorf("%s lookup: %+v, %v; want ErrNotFound", name, o, err)
				}
			}

			// The logs name the outcome, never the code.
			logs := logSink.String()[logsBefore:]
			if !strings.Contains(logs, `"outcome":"expired_on_arrival"`) {
				t.Errorf("no log line tells the OTP expired on arrival:\n%s", logs)
			}
			if strings.Contains(logs, "938492") {
				t.Errorf("a log line holds the code")
			}

			// A redelivery is a duplicate: nothing more.
			if resp, body := e.post(t, testenv.LoadEvent(t, "shipping-otp-api-key.json")); body["status"] != "duplicate" {
				t.Errorf("redelivery: %d %v", resp.StatusCode, body)
			}
			if evs := e.consumedRaw(t); len(evs) != 0 {
				t.Errorf("the redelivery emitted %d events", len(evs))
			}
		})
	}
}

// An OTP expired on arrival never takes a usable OTP's place, whichever arrives first, and never
// holds back the usable OTPs of its delivery.
func TestAnOTPExpiredOnArrivalNeverReplacesAUsableOne(t *testing.T) {
	usableTTL := time.Now().Add(24 * time.Hour).Truncate(time.Second).UnixMilli()
	expiredTTL := time.Now().Add(-time.Hour).Truncate(time.Second).UnixMilli()
	at := time.Now().UTC().Format(time.RFC3339)
	usable := otpBody("d-usable", "T1", "R1", "222222", usableTTL, at)
	expired := otpBody("d-expired", "T1", "R1", "111111", expiredTTL, at)
	req := testenv.LoadEvent(t, "shipping-otp-api-key.json")
	both := `{"version":"0","id":"d-both","detail-type":"PN Event","source":"AmazonShipping","account":"474668380910","time":"` + at + `",
"detail":[{"verificationCode":"111111","verificationCodeTTL":` + strconv.FormatInt(expiredTTL, 10) + `,"trackingId":"T2","alternateLegTrackingId":"R2","eventCode":"PIN_GENERATED"},
{"verificationCode":"222222","verificationCodeTTL":` + strconv.FormatInt(usableTTL, 10) + `,"trackingId":"T1","alternateLegTrackingId":"R1","eventCode":"PIN_GENERATED"}]}`
	tests := []struct {
		name       string
		deliveries []string
		wantEvents []string // detail-type and tracking ID, in arrival order
	}{
		{"usable first", []string{usable, expired}, []string{"Shipping OTP Generated T1", "Shipping OTP Expired On Arrival T1"}},
		{"expired first", []string{expired, usable}, []string{"Shipping OTP Expired On Arrival T1", "Shipping OTP Generated T1"}},
		{"one delivery, one of each", []string{both}, []string{"Shipping OTP Expired On Arrival T2", "Shipping OTP Generated T1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withRule(allShippingPattern))
			var got []string
			for _, b := range tc.deliveries {
				if resp, body := e.post(t, withBody(req, b)); resp.StatusCode != 200 {
					t.Fatalf("got %d %v", resp.StatusCode, body)
				}
				// Read after each delivery, so that the order is the arrival order; sorted within one.
				var one []string
				for _, ev := range e.consumedRaw(t) {
					one = append(one, ev.DetailType+" "+ev.Detail.Data.TrackingID)
					if ev.DetailType == shipping.DetailTypeOTPExpired && strings.Contains(ev.raw, "111111") {
						t.Errorf("the expired code reached an event: %s", ev.raw)
					}
				}
				slices.Sort(one)
				got = append(got, one...)
			}
			if strings.Join(got, ", ") != strings.Join(tc.wantEvents, ", ") {
				t.Errorf("events %v, want %v", got, tc.wantEvents)
			}
			e.now = time.Now()
			for name, lookup := range map[string]func() (otpstore.OTP, error){
				"forward": func() (otpstore.OTP, error) { return e.store.ByTrackingID(context.Background(), "T1") },
				"reverse": func() (otpstore.OTP, error) { return e.store.ByAlternateLegTrackingID(context.Background(), "R1") },
			} {
				if o, err := lookup(); err != nil || o.Code != "222222" || o.ExpiresAt.UnixMilli() != usableTTL {
					t.Errorf("%s lookup: code %q TTL %v err %v, want the usable OTP", name, o.Code, o.ExpiresAt, err)
				}
			}
			for _, item := range e.scanTable(t) {
				if attrS(item, "verificationCode") == "111111" {
					t.Errorf("the expired code is stored: item %s", attrS(item, otpstore.KeyAttribute))
				}
			}
		})
	}
}

// The consumer rules of docs/shipping.md: the OTP rule never receives an expired OTP, the
// expired-on-arrival rule receives nothing else.
func TestTheConsumerRulesSeparateUsableAndExpiredOTPs(t *testing.T) {
	for _, tc := range []struct {
		rule, want string
	}{
		{otpRulePattern, "Shipping OTP Generated 1709913037960"},
		{expiredRulePattern, "Shipping OTP Expired On Arrival 1709913037944"},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			e := newEnv(t, withRule(tc.rule))
			e.received = sampleReceipt
			for _, name := range []string{"shipping-otp-api-key.json", "shipping-otp-valid.json"} {
				if resp, body := e.post(t, testenv.LoadEvent(t, name)); resp.StatusCode != 200 {
					t.Fatalf("%s: %d %v", name, resp.StatusCode, body)
				}
			}
			var got []string
			for _, ev := range e.consumedRaw(t) {
				got = append(got, ev.DetailType+" "+ev.Detail.Data.TrackingID)
			}
			if strings.Join(got, ", ") != tc.want {
				t.Errorf("the rule delivered %v, want %s", got, tc.want)
			}
		})
	}
}

// A delivery that names an audit item's key as its tracking ID is quarantined, so that nothing
// is ever stored under that key but the audit item: the later expiry of T9 is kept for audit.
func TestAnAuditKeyAsATrackingIDIsQuarantined(t *testing.T) {
	e := newEnv(t, withRule(allShippingPattern))
	req := testenv.LoadEvent(t, "shipping-otp-api-key.json")
	at := time.Now().UTC().Format(time.RFC3339)
	usableTTL := time.Now().Add(24 * time.Hour).Truncate(time.Second).UnixMilli()
	for _, taken := range []string{otpstore.ExpiredKey(account.Default, "T9"), otpstore.LegacyExpiredKeyPrefix + "T9"} {
		resp, body := e.post(t, withBody(req, otpBody("d-usable-"+taken, taken, "R9", "222222", usableTTL, at)))
		if resp.StatusCode != 202 || body["status"] != "quarantined" || body["field"] != "detail.trackingId" {
			t.Fatalf("%s: got %d %v, want 202 quarantined naming detail.trackingId", taken, resp.StatusCode, body)
		}
	}
	if resp, body := e.post(t, withBody(req, otpBody("d-expired", "T9", "R9", "111111", time.Now().Add(-time.Hour).UnixMilli(), at))); resp.StatusCode != 200 || body["status"] != "accepted" {
		t.Fatalf("got %d %v", resp.StatusCode, body)
	}
	for _, item := range e.scanTable(t) {
		if attrS(item, "verificationCode") != "" {
			t.Errorf("an item with a code was stored: key %q", attrS(item, otpstore.KeyAttribute))
		}
	}
	if evs := e.consumedRaw(t); len(evs) != 1 {
		t.Errorf("%d events, want the expiry's alone", len(evs))
	}
}
