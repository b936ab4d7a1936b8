package shipping_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
)

// seedSampleBody is the sample event of the Amazon Shipping documentation
// (docs/seeds/000_cf0d58ee3ccba55a.txt), byte for byte apart from indentation.
const seedSampleBody = `{
  "version": "0",
  "id": "48040fd3-3094-24d8-06c8-d97be2024072",
  "detail-type": "PN Event",
  "source": "AmazonShipping",
  "account": "474668380910",
  "time": "2025-01-28T11:14:36Z",
  "region": "eu-west-1",
  "resources": [],
  "detail": {
    "verificationCode": "938492",
    "verificationCodeTTL": 1705190399000,
    "trackingId": "1709913037944",
    "alternateLegTrackingId": "1709912326405",
    "shipmentType": "REVERSE",
    "eventCode": "PIN_GENERATED",
    "appId": "amzn1.aaa.app.qo6jo5stw4pa4wwg7mya"
  }
}`

const (
	seedCode = "938492"
	seedTTL  = int64(1705190399000)
)

// parseSampleWith decodes the seed sample, lets edit change the envelope and its detail object, and
// encodes it again. Values may be json.RawMessage to control the exact bytes of a field.
func parseSampleWith(t testing.TB, edit func(top, detail map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(seedSampleBody))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		t.Fatalf("decoding the seed sample: %v", err)
	}
	detail := top["detail"].(map[string]any)
	if edit != nil {
		edit(top, detail)
	}
	out, err := json.Marshal(top)
	if err != nil {
		t.Fatalf("encoding the edited sample: %v", err)
	}
	return out
}

// otpEntry is one PIN_GENERATED detail entry.
func otpEntry(trackingID, code string, ttl int64) map[string]any {
	return map[string]any{
		"verificationCode":       code,
		"verificationCodeTTL":    ttl,
		"trackingId":             trackingID,
		"alternateLegTrackingId": "ALT-" + trackingID,
		"shipmentType":           "REVERSE",
		"eventCode":              "PIN_GENERATED",
		"appId":                  "amzn1.aaa.app.qo6jo5stw4pa4wwg7mya",
	}
}

// withDetail replaces `detail` of the seed sample.
func withDetail(t testing.TB, detail any) []byte {
	t.Helper()
	return parseSampleWith(t, func(top, _ map[string]any) { top["detail"] = detail })
}

func mustParse(t *testing.T, body []byte) *shipping.Notification {
	t.Helper()
	n, err := shipping.Parse(body)
	if err != nil {
		t.Fatalf("Parse() error = %v, want success\nbody: %s", err, body)
	}
	if n == nil {
		t.Fatalf("Parse() = nil, nil")
	}
	return n
}

func TestParseSeedSample(t *testing.T) {
	n := mustParse(t, []byte(seedSampleBody))

	env := n.Envelope
	for _, c := range []struct{ name, got, want string }{
		{"Version", env.Version, "0"},
		{"ID", env.ID, "48040fd3-3094-24d8-06c8-d97be2024072"},
		{"DetailType", env.DetailType, "PN Event"},
		{"Source", env.Source, "AmazonShipping"},
		{"Account", env.Account, "474668380910"},
		{"Region", env.Region, "eu-west-1"},
	} {
		if c.got != c.want {
			t.Errorf("Envelope.%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if want := time.Date(2025, 1, 28, 11, 14, 36, 0, time.UTC); !env.Time.Equal(want) {
		t.Errorf("Envelope.Time = %v, want %v", env.Time, want)
	}
	if len(env.Resources) != 0 {
		t.Errorf("Envelope.Resources = %q, want empty", env.Resources)
	}
	if len(env.Details) != 1 {
		t.Fatalf("len(Envelope.Details) = %d, want 1", len(env.Details))
	}
	if !json.Valid(env.Details[0]) || !bytes.Contains(env.Details[0], []byte(`"trackingId": "1709913037944"`)) {
		t.Errorf("Envelope.Details[0] = %s, want the raw detail object", env.Details[0])
	}

	if len(n.Others) != 0 {
		t.Errorf("Others = %+v, want none", n.Others)
	}
	if len(n.OTPs) != 1 {
		t.Fatalf("len(OTPs) = %d, want 1", len(n.OTPs))
	}
	want := shipping.OTP{
		TrackingID:             "1709913037944",
		AlternateLegTrackingID: "1709912326405",
		VerificationCode:       "938492",
		ExpiresAtMillis:        1705190399000,
		ShipmentType:           "REVERSE",
		EventCode:              "PIN_GENERATED",
		AppID:                  "amzn1.aaa.app.qo6jo5stw4pa4wwg7mya",
	}
	if got := n.OTPs[0]; got != want {
		t.Errorf("OTPs[0] =\n  %+v\nwant\n  %+v", got, want)
	}
	wantExpiry := time.Date(2024, 1, 13, 23, 59, 59, 0, time.UTC)
	if got := n.OTPs[0].ExpiresAt(); !got.Equal(wantExpiry) || got.Location() != time.UTC {
		t.Errorf("OTPs[0].ExpiresAt() = %v, want %v in UTC", got, wantExpiry)
	}
}

func TestParseAccepted(t *testing.T) {
	tests := []struct {
		name  string
		body  []byte
		check func(t *testing.T, n *shipping.Notification)
	}{
		{
			name: "detail array of three OTPs",
			body: withDetail(t, []any{
				otpEntry("TBA001", "111111", seedTTL),
				otpEntry("TBA002", "222222", seedTTL+1),
				otpEntry("TBA003", "333333", seedTTL+2),
			}),
			check: func(t *testing.T, n *shipping.Notification) {
				wantOTPs(t, n, []otpWant{
					{"TBA001", "111111", seedTTL},
					{"TBA002", "222222", seedTTL + 1},
					{"TBA003", "333333", seedTTL + 2},
				})
				if len(n.Envelope.Details) != 3 {
					t.Errorf("len(Envelope.Details) = %d, want 3", len(n.Envelope.Details))
				}
				if got := n.OTPs[1].AlternateLegTrackingID; got != "ALT-TBA002" {
					t.Errorf("OTPs[1].AlternateLegTrackingID = %q, want ALT-TBA002", got)
				}
			},
		},
		{
			name: "single-element detail array",
			body: withDetail(t, []any{otpEntry("TBA001", "111111", seedTTL)}),
			check: func(t *testing.T, n *shipping.Notification) {
				wantOTPs(t, n, []otpWant{{"TBA001", "111111", seedTTL}})
			},
		},
		{
			name: "repeated tracking ID, later TTL second, keeps the second",
			body: withDetail(t, []any{
				otpEntry("TBA001", "111111", seedTTL),
				otpEntry("TBA002", "222222", seedTTL),
				otpEntry("TBA001", "999999", seedTTL+86_400_000),
			}),
			check: func(t *testing.T, n *shipping.Notification) {
				wantOTPs(t, n, []otpWant{
					{"TBA001", "999999", seedTTL + 86_400_000},
					{"TBA002", "222222", seedTTL},
				})
			},
		},
		{
			name: "repeated tracking ID, later TTL first, keeps the first",
			body: withDetail(t, []any{
				otpEntry("TBA001", "999999", seedTTL+86_400_000),
				otpEntry("TBA001", "111111", seedTTL),
			}),
			check: func(t *testing.T, n *shipping.Notification) {
				wantOTPs(t, n, []otpWant{{"TBA001", "999999", seedTTL + 86_400_000}})
			},
		},
		{
			name: "unknown fields at top level and in detail",
			body: parseSampleWith(t, func(top, d map[string]any) {
				top["replay-name"] = "x"
				top["nested"] = map[string]any{"a": []any{1, 2, nil}}
				d["status"] = "DELIVERED"
				d["estimatedArrival"] = map[string]any{"from": "2025-01-28T10:00:00Z"}
				d["verificationCodeLength"] = 6
			}),
			check: func(t *testing.T, n *shipping.Notification) {
				wantOTPs(t, n, []otpWant{{"1709913037944", seedCode, seedTTL}})
			},
		},
		{
			name: "verificationCodeTTL as a string of digits",
			body: parseSampleWith(t, func(_, d map[string]any) { d["verificationCodeTTL"] = "1705190399000" }),
			check: func(t *testing.T, n *shipping.Notification) {
				wantOTPs(t, n, []otpWant{{"1709913037944", seedCode, seedTTL}})
			},
		},
		{
			name: "verificationCodeTTL lower bound 1e12",
			body: parseSampleWith(t, func(_, d map[string]any) { d["verificationCodeTTL"] = json.RawMessage("1000000000000") }),
			check: func(t *testing.T, n *shipping.Notification) {
				wantOTPs(t, n, []otpWant{{"1709913037944", seedCode, 1_000_000_000_000}})
			},
		},
		{
			name: "verificationCodeTTL upper bound 1e14-1",
			body: parseSampleWith(t, func(_, d map[string]any) { d["verificationCodeTTL"] = json.RawMessage("99999999999999") }),
			check: func(t *testing.T, n *shipping.Notification) {
				wantOTPs(t, n, []otpWant{{"1709913037944", seedCode, 99_999_999_999_999}})
			},
		},
		{
			name: "resources null",
			body: parseSampleWith(t, func(top, _ map[string]any) { top["resources"] = nil }),
			check: func(t *testing.T, n *shipping.Notification) {
				if n.Envelope.Resources != nil {
					t.Errorf("Resources = %q, want nil", n.Envelope.Resources)
				}
				wantOTPs(t, n, []otpWant{{"1709913037944", seedCode, seedTTL}})
			},
		},
		{
			name: "resources absent",
			body: parseSampleWith(t, func(top, _ map[string]any) { delete(top, "resources") }),
			check: func(t *testing.T, n *shipping.Notification) {
				if n.Envelope.Resources != nil {
					t.Errorf("Resources = %q, want nil", n.Envelope.Resources)
				}
				wantOTPs(t, n, []otpWant{{"1709913037944", seedCode, seedTTL}})
			},
		},
		{
			name: "resources with ARNs",
			body: parseSampleWith(t, func(top, _ map[string]any) {
				top["resources"] = []string{"arn:aws:events:eu-west-1:474668380910:rule/a", "b"}
			}),
			check: func(t *testing.T, n *shipping.Notification) {
				if got := n.Envelope.Resources; len(got) != 2 || got[0] != "arn:aws:events:eu-west-1:474668380910:rule/a" || got[1] != "b" {
					t.Errorf("Resources = %q, want the two given", got)
				}
			},
		},
		{
			name: "region absent",
			body: parseSampleWith(t, func(top, _ map[string]any) { delete(top, "region") }),
			check: func(t *testing.T, n *shipping.Notification) {
				if n.Envelope.Region != "" {
					t.Errorf("Region = %q, want empty", n.Envelope.Region)
				}
			},
		},
		{
			name: "optional detail fields absent or null",
			body: parseSampleWith(t, func(_, d map[string]any) {
				delete(d, "alternateLegTrackingId")
				delete(d, "appId")
				d["shipmentType"] = nil
			}),
			check: func(t *testing.T, n *shipping.Notification) {
				wantOTPs(t, n, []otpWant{{"1709913037944", seedCode, seedTTL}})
				o := n.OTPs[0]
				if o.AlternateLegTrackingID != "" || o.AppID != "" || o.ShipmentType != "" {
					t.Errorf("OTP = %+v, want empty optional fields", o)
				}
			},
		},
		{
			name: "shipmentType FORWARD",
			body: parseSampleWith(t, func(_, d map[string]any) { d["shipmentType"] = "FORWARD" }),
			check: func(t *testing.T, n *shipping.Notification) {
				wantOTPs(t, n, []otpWant{{"1709913037944", seedCode, seedTTL}})
				if got := n.OTPs[0].ShipmentType; got != "FORWARD" {
					t.Errorf("ShipmentType = %q, want FORWARD", got)
				}
			},
		},
		{
			name: "verificationCode of exactly 64 bytes",
			body: parseSampleWith(t, func(_, d map[string]any) { d["verificationCode"] = strings.Repeat("A", 64) }),
			check: func(t *testing.T, n *shipping.Notification) {
				wantOTPs(t, n, []otpWant{{"1709913037944", strings.Repeat("A", 64), seedTTL}})
			},
		},
		{
			name: "id of exactly 256 bytes",
			body: parseSampleWith(t, func(top, _ map[string]any) { top["id"] = strings.Repeat("i", 256) }),
			check: func(t *testing.T, n *shipping.Notification) {
				if n.Envelope.ID != strings.Repeat("i", 256) {
					t.Errorf("ID has %d bytes, want the 256 given", len(n.Envelope.ID))
				}
			},
		},
		{
			name: "time with an offset",
			body: parseSampleWith(t, func(top, _ map[string]any) { top["time"] = "2025-01-28T12:14:36+01:00" }),
			check: func(t *testing.T, n *shipping.Notification) {
				if want := time.Date(2025, 1, 28, 11, 14, 36, 0, time.UTC); !n.Envelope.Time.Equal(want) {
					t.Errorf("Time = %v, want %v", n.Envelope.Time, want)
				}
			},
		},
		{
			name: "PN Event array mixing OTPs and another event code",
			body: withDetail(t, []any{
				otpEntry("TBA001", "111111", seedTTL),
				map[string]any{"trackingId": "TBA002", "eventCode": "PIN_EXPIRED"},
				otpEntry("TBA003", "333333", seedTTL),
			}),
			check: func(t *testing.T, n *shipping.Notification) {
				wantOTPs(t, n, []otpWant{{"TBA001", "111111", seedTTL}, {"TBA003", "333333", seedTTL}})
				if len(n.Others) != 1 || n.Others[0].TrackingID != "TBA002" || n.Others[0].EventCode != "PIN_EXPIRED" {
					t.Errorf("Others = %+v, want one entry TBA002/PIN_EXPIRED", n.Others)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustParse(t, tt.body))
		})
	}
}

type otpWant struct {
	trackingID, code string
	ttl              int64
}

func wantOTPs(t *testing.T, n *shipping.Notification, want []otpWant) {
	t.Helper()
	if len(n.OTPs) != len(want) {
		t.Fatalf("got %d OTPs %+v, want %d", len(n.OTPs), n.OTPs, len(want))
	}
	for i, w := range want {
		o := n.OTPs[i]
		if o.TrackingID != w.trackingID || o.VerificationCode != w.code || o.ExpiresAtMillis != w.ttl {
			t.Errorf("OTPs[%d] = {%q %q %d}, want {%q %q %d}", i,
				o.TrackingID, o.VerificationCode, o.ExpiresAtMillis, w.trackingID, w.code, w.ttl)
		}
		if o.EventCode != shipping.EventCodePinGenerated {
			t.Errorf("OTPs[%d].EventCode = %q, want %q", i, o.EventCode, shipping.EventCodePinGenerated)
		}
	}
}

func TestParseOthers(t *testing.T) {
	trackingDetail := map[string]any{
		"trackingId":             "TBA123",
		"alternateLegTrackingId": "TBA456",
		"status":                 "InTransit",
		"eventCode":              "EVENT_301",
		"eventTime":              "2025-01-28T11:14:36Z",
		"shipmentType":           "FORWARD",
	}
	type other struct{ trackingID, eventCode string }
	tests := []struct {
		name       string
		detailType string
		detail     any
		want       []other
	}{
		{"Tracking Detail object", "Tracking Detail", trackingDetail, []other{{"TBA123", "EVENT_301"}}},
		{"Tracking Detail array", "Tracking Detail", []any{trackingDetail, map[string]any{"trackingId": "TBA789", "eventCode": "EVENT_101"}},
			[]other{{"TBA123", "EVENT_301"}, {"TBA789", "EVENT_101"}}},
		{"PN Event with another eventCode", "PN Event", map[string]any{"trackingId": "TBA123", "eventCode": "NDR_RAISED", "reason": "x"},
			[]other{{"TBA123", "NDR_RAISED"}}},
		{"PN Event without eventCode", "PN Event", map[string]any{"trackingId": "TBA123"}, []other{{"TBA123", ""}}},
		{"no tracking ID", "Tracking Detail", map[string]any{"eventCode": "EVENT_301"}, []other{{"", "EVENT_301"}}},
		// PIN_GENERATED only makes an OTP under detail-type "PN Event": an entry that would fail OTP
		// validation (no verificationCode) is passed on.
		// Entries without an OTP are passed on even with unexpected field types: a 4xx would lose them.
		{"numeric tracking ID and event code", "Tracking Detail", map[string]any{"trackingId": 1709913037944, "eventCode": 301}, []other{{"", ""}}},
		{"PN Event whose eventCode is a number", "PN Event", map[string]any{"trackingId": "TBA123", "eventCode": 1, "verificationCode": "938492"}, []other{{"TBA123", ""}}},
		{"PIN_GENERATED under another detail-type", "Tracking Detail", map[string]any{"trackingId": "TBA123", "eventCode": "PIN_GENERATED"},
			[]other{{"TBA123", "PIN_GENERATED"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := parseSampleWith(t, func(top, _ map[string]any) {
				top["detail-type"] = tt.detailType
				top["detail"] = tt.detail
			})
			n := mustParse(t, body)
			if len(n.OTPs) != 0 {
				t.Errorf("OTPs = %+v, want none", n.OTPs)
			}
			if len(n.Others) != len(tt.want) {
				t.Fatalf("got %d Others %+v, want %d", len(n.Others), n.Others, len(tt.want))
			}
			entries := []any{tt.detail}
			if list, ok := tt.detail.([]any); ok {
				entries = list
			}
			for i, w := range tt.want {
				o := n.Others[i]
				if o.TrackingID != w.trackingID || o.EventCode != w.eventCode {
					t.Errorf("Others[%d] = {%q %q}, want {%q %q}", i, o.TrackingID, o.EventCode, w.trackingID, w.eventCode)
				}
				// Passed on whole but for a verificationCode, which only an OTP entry keeps.
				want := entries[i]
				if m, ok := want.(map[string]any); ok {
					want = maps.Clone(m)
					delete(want.(map[string]any), "verificationCode")
				}
				wantRaw, err := json.Marshal(want)
				if err != nil {
					t.Fatal(err)
				}
				if !sameJSON(t, o.Raw, wantRaw) {
					t.Errorf("Others[%d].Raw = %s, want %s", i, o.Raw, wantRaw)
				}
			}
		})
	}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Errorf("invalid JSON %s: %v", a, err)
		return false
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Errorf("invalid JSON %s: %v", b, err)
		return false
	}
	return reflect.DeepEqual(x, y)
}

func TestParseRejects(t *testing.T) {
	del := func(name string) func(top, d map[string]any) {
		return func(top, _ map[string]any) { delete(top, name) }
	}
	set := func(name string, v any) func(top, d map[string]any) {
		return func(top, _ map[string]any) { top[name] = v }
	}
	delD := func(name string) func(top, d map[string]any) {
		return func(_, d map[string]any) { delete(d, name) }
	}
	setD := func(name string, v any) func(top, d map[string]any) {
		return func(_, d map[string]any) { d[name] = v }
	}
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	longCode := strings.Repeat("7", 65)
	tooMany := make([]any, 1001)
	for i := range tooMany {
		tooMany[i] = otpEntry(fmt.Sprintf("TBA%04d", i), "938492", seedTTL)
	}

	tests := []struct {
		name  string
		body  []byte
		field string
		// secret is the verificationCode in body; the error text must not contain it.
		secret string
	}{
		{"not JSON", []byte(`verificationCode=938492`), "body", seedCode},
		{"empty body", []byte(``), "body", ""},
		{"whitespace body", []byte(" \n\t"), "body", ""},
		{"truncated JSON", []byte(seedSampleBody[:len(seedSampleBody)-2]), "body", seedCode},
		{"trailing garbage", []byte(seedSampleBody + "x"), "body", seedCode},
		{"JSON array at top level", []byte("[" + seedSampleBody + "]"), "body", seedCode},
		{"JSON null body", []byte(`null`), "body", ""},
		{"JSON string body", []byte(`"938492"`), "body", seedCode},
		{"JSON number body", []byte(`938492`), "body", seedCode},
		{"invalid UTF-8 bytes", bytes.Replace([]byte(seedSampleBody), []byte(`"eu-west-1"`), []byte("\"eu-west-\xff\xfe\""), 1), "body", seedCode},
		{"invalid UTF-8 next to the code", bytes.Replace([]byte(seedSampleBody), []byte(seedCode), []byte(seedCode+"\xc3"), 1), "body", seedCode},

		{"missing version", parseSampleWith(t, del("version")), "version", seedCode},
		{"version a number", parseSampleWith(t, set("version", 0)), "version", seedCode},
		{"missing id", parseSampleWith(t, del("id")), "id", seedCode},
		{"empty id", parseSampleWith(t, set("id", "")), "id", seedCode},
		{"blank id", parseSampleWith(t, set("id", "   ")), "id", seedCode},
		{"null id", parseSampleWith(t, set("id", nil)), "id", seedCode},
		{"id a number", parseSampleWith(t, set("id", 42)), "id", seedCode},
		{"id longer than 256 bytes", parseSampleWith(t, set("id", strings.Repeat("i", 257))), "id", seedCode},
		{"missing detail-type", parseSampleWith(t, del("detail-type")), "detail-type", seedCode},
		{"empty detail-type", parseSampleWith(t, set("detail-type", "")), "detail-type", seedCode},
		{"missing source", parseSampleWith(t, del("source")), "source", seedCode},
		{"wrong source", parseSampleWith(t, set("source", "aws.events")), "source", seedCode},
		{"source in the wrong case", parseSampleWith(t, set("source", "amazonshipping")), "source", seedCode},
		{"missing account", parseSampleWith(t, del("account")), "account", seedCode},
		{"account a number", parseSampleWith(t, set("account", 474668380910)), "account", seedCode},
		{"region a number", parseSampleWith(t, set("region", 1)), "region", seedCode},
		{"missing time", parseSampleWith(t, del("time")), "time", seedCode},
		{"time with a space instead of T", parseSampleWith(t, set("time", "2025-01-28 11:14:36Z")), "time", seedCode},
		{"time without zone", parseSampleWith(t, set("time", "2025-01-28T11:14:36")), "time", seedCode},
		{"time as words", parseSampleWith(t, set("time", "yesterday")), "time", seedCode},
		{"time as epoch number", parseSampleWith(t, set("time", 1738062876)), "time", seedCode},
		{"resources a string", parseSampleWith(t, set("resources", "arn:x")), "resources", seedCode},
		{"resources an object", parseSampleWith(t, set("resources", map[string]any{})), "resources", seedCode},
		{"resources of numbers", parseSampleWith(t, set("resources", []int{1})), "resources", seedCode},
		{"missing detail", parseSampleWith(t, del("detail")), "detail", ""},
		{"null detail", parseSampleWith(t, set("detail", nil)), "detail", ""},
		{"detail a string", parseSampleWith(t, set("detail", `{"verificationCode":"938492"}`)), "detail", seedCode},
		{"detail a number", parseSampleWith(t, set("detail", 938492)), "detail", seedCode},
		{"detail a boolean", parseSampleWith(t, set("detail", true)), "detail", ""},
		{"detail an empty array", parseSampleWith(t, set("detail", []any{})), "detail", ""},
		{"detail array of more than 1000 entries", parseSampleWith(t, set("detail", tooMany)), "detail", seedCode},
		{"detail array holding a number", withDetail(t, []any{otpEntry("TBA001", "938492", seedTTL), 5}), "detail[1]", seedCode},
		{"detail array holding a string", withDetail(t, []any{otpEntry("TBA001", "938492", seedTTL), "938492"}), "detail[1]", seedCode},
		{"detail array holding null", withDetail(t, []any{nil}), "detail[0]", ""},
		{"detail array holding an array", withDetail(t, []any{[]any{otpEntry("TBA001", "938492", seedTTL)}}), "detail[0]", seedCode},

		{"missing verificationCode", parseSampleWith(t, delD("verificationCode")), "detail.verificationCode", ""},
		{"empty verificationCode", parseSampleWith(t, setD("verificationCode", "")), "detail.verificationCode", ""},
		{"verificationCode a number", parseSampleWith(t, setD("verificationCode", 938492)), "detail.verificationCode", seedCode},
		{"verificationCode with a space", parseSampleWith(t, setD("verificationCode", "938 492")), "detail.verificationCode", "938 492"},
		{"verificationCode with a tab", parseSampleWith(t, setD("verificationCode", "938\t492")), "detail.verificationCode", "938\t492"},
		{"verificationCode with a control character", parseSampleWith(t, setD("verificationCode", "938\x00492")), "detail.verificationCode", "938\x00492"},
		{"verificationCode with a no-break space", parseSampleWith(t, setD("verificationCode", "938\u00a0492")), "detail.verificationCode", "938\u00a0492"},
		{"verificationCode longer than 64 bytes", parseSampleWith(t, setD("verificationCode", longCode)), "detail.verificationCode", longCode},
		{"missing trackingId", parseSampleWith(t, delD("trackingId")), "detail.trackingId", seedCode},
		{"blank trackingId", parseSampleWith(t, setD("trackingId", " ")), "detail.trackingId", seedCode},
		{"trackingId a number", parseSampleWith(t, setD("trackingId", raw("1709913037944"))), "detail.trackingId", seedCode},
		{"trackingId a number in an array", withDetail(t, []any{
			otpEntry("TBA001", "938492", seedTTL),
			map[string]any{"verificationCode": "938492", "verificationCodeTTL": seedTTL, "trackingId": 1709913037944, "eventCode": "PIN_GENERATED"},
		}), "detail[1].trackingId", seedCode},
		{"missing verificationCode in an array", withDetail(t, []any{
			otpEntry("TBA001", "938492", seedTTL),
			map[string]any{"verificationCodeTTL": seedTTL, "trackingId": "TBA002", "eventCode": "PIN_GENERATED"},
		}), "detail[1].verificationCode", seedCode},
		{"missing verificationCodeTTL", parseSampleWith(t, delD("verificationCodeTTL")), "detail.verificationCodeTTL", seedCode},
		{"null verificationCodeTTL", parseSampleWith(t, setD("verificationCodeTTL", nil)), "detail.verificationCodeTTL", seedCode},
		{"verificationCodeTTL in seconds", parseSampleWith(t, setD("verificationCodeTTL", raw("1705190399"))), "detail.verificationCodeTTL", seedCode},
		{"verificationCodeTTL in seconds as a string", parseSampleWith(t, setD("verificationCodeTTL", "1705190399")), "detail.verificationCodeTTL", seedCode},
		{"verificationCodeTTL in microseconds", parseSampleWith(t, setD("verificationCodeTTL", raw("1705190399000000"))), "detail.verificationCodeTTL", seedCode},
		{"verificationCodeTTL 1e14", parseSampleWith(t, setD("verificationCodeTTL", raw("100000000000000"))), "detail.verificationCodeTTL", seedCode},
		{"verificationCodeTTL negative", parseSampleWith(t, setD("verificationCodeTTL", raw("-1705190399000"))), "detail.verificationCodeTTL", seedCode},
		{"verificationCodeTTL zero", parseSampleWith(t, setD("verificationCodeTTL", raw("0"))), "detail.verificationCodeTTL", seedCode},
		{"verificationCodeTTL a float", parseSampleWith(t, setD("verificationCodeTTL", raw("1705190399000.5"))), "detail.verificationCodeTTL", seedCode},
		{"verificationCodeTTL a whole float", parseSampleWith(t, setD("verificationCodeTTL", raw("1705190399000.0"))), "detail.verificationCodeTTL", seedCode},
		{"verificationCodeTTL with an exponent", parseSampleWith(t, setD("verificationCodeTTL", raw("1.705190399e12"))), "detail.verificationCodeTTL", seedCode},
		{"verificationCodeTTL beyond int64", parseSampleWith(t, setD("verificationCodeTTL", raw("99999999999999999999"))), "detail.verificationCodeTTL", seedCode},
		{"verificationCodeTTL a non-numeric string", parseSampleWith(t, setD("verificationCodeTTL", "end of day")), "detail.verificationCodeTTL", seedCode},
		{"verificationCodeTTL a string with a sign", parseSampleWith(t, setD("verificationCodeTTL", "+1705190399000")), "detail.verificationCodeTTL", seedCode},
		{"verificationCodeTTL a string with leading zeros", parseSampleWith(t, setD("verificationCodeTTL", "0001705190399000")), "detail.verificationCodeTTL", seedCode},
		{"verificationCodeTTL an empty string", parseSampleWith(t, setD("verificationCodeTTL", "")), "detail.verificationCodeTTL", seedCode},
		{"verificationCodeTTL a boolean", parseSampleWith(t, setD("verificationCodeTTL", true)), "detail.verificationCodeTTL", seedCode},
		{"verificationCodeTTL an object", parseSampleWith(t, setD("verificationCodeTTL", map[string]any{"ms": seedTTL})), "detail.verificationCodeTTL", seedCode},
		{"shipmentType SIDEWAYS", parseSampleWith(t, setD("shipmentType", "SIDEWAYS")), "detail.shipmentType", seedCode},
		{"shipmentType a number", parseSampleWith(t, setD("shipmentType", 1)), "detail.shipmentType", seedCode},
		{"alternateLegTrackingId a number", parseSampleWith(t, setD("alternateLegTrackingId", 1709912326405)), "detail.alternateLegTrackingId", seedCode},
		{"appId an object", parseSampleWith(t, setD("appId", map[string]any{})), "detail.appId", seedCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := shipping.Parse(tt.body)
			if err == nil {
				t.Fatalf("Parse() = %+v, nil; want an error on field %q\nbody: %q", n, tt.field, tt.body)
			}
			if n != nil {
				t.Errorf("Parse() returned a notification %+v along with error %v", n, err)
			}
			var fe *shipping.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse() error %T %v is not a *shipping.FieldError", err, err)
			}
			if fe.Field != tt.field {
				t.Errorf("FieldError.Field = %q (%v), want %q", fe.Field, err, tt.field)
			}
			if fe.Problem == "" {
				t.Errorf("FieldError.Problem is empty for field %q", fe.Field)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error text %q contains the verificationCode %q", err.Error(), tt.secret)
			}
			// The code of the sample and of otpEntry must not leak either way.
			if strings.Contains(err.Error(), seedCode) {
				t.Errorf("error text %q contains the verificationCode %q", err.Error(), seedCode)
			}
		})
	}
}

func TestParsePartialKeepsTheValidEntriesOfAnAccumulatedDelivery(t *testing.T) {
	bad := otpEntry("TBA002", "123456", seedTTL)
	delete(bad, "verificationCodeTTL")
	tests := []struct {
		name         string
		body         []byte
		wantOTPs     []string // tracking IDs kept
		wantRejected []string // fields rejected
		wantErr      string   // field of a whole-delivery error
	}{
		{"one invalid entry among valid ones", withDetail(t, []any{otpEntry("TBA001", "938492", seedTTL), bad, otpEntry("TBA003", "555111", seedTTL)}),
			[]string{"TBA001", "TBA003"}, []string{"detail[1].verificationCodeTTL"}, ""},
		{"a number among the entries", withDetail(t, []any{5, otpEntry("TBA001", "938492", seedTTL)}), []string{"TBA001"}, []string{"detail[0]"}, ""},
		{"every entry invalid", withDetail(t, []any{bad, 5}), nil, nil, "detail[0].verificationCodeTTL"},
		{"a single invalid object is the whole delivery", withDetail(t, bad), nil, nil, "detail.verificationCodeTTL"},
		{"an invalid envelope fails whatever the entries", parseSampleWith(t, func(top, _ map[string]any) {
			top["detail"] = []any{otpEntry("TBA001", "938492", seedTTL)}
			delete(top, "id")
		}), nil, nil, "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, rejected, err := shipping.ParsePartial(tt.body)
			if tt.wantErr != "" {
				var fe *shipping.FieldError
				if !errors.As(err, &fe) || fe.Field != tt.wantErr || n != nil {
					t.Fatalf("ParsePartial = %v, %v, %v; want an error on %s", n, rejected, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids, fields []string
			for _, o := range n.OTPs {
				ids = append(ids, o.TrackingID)
			}
			for _, r := range rejected {
				fields = append(fields, r.Field)
				if strings.Contains(r.Error(), "123456") {
					t.Errorf("the rejection names the code: %v", r)
				}
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.wantOTPs) || fmt.Sprint(fields) != fmt.Sprint(tt.wantRejected) {
				t.Errorf("kept %v rejected %v, want %v and %v", ids, fields, tt.wantOTPs, tt.wantRejected)
			}
			// Parse stays strict: the same body is refused whole.
			if _, err := shipping.Parse(tt.body); err == nil {
				t.Error("Parse accepted a delivery with an invalid entry")
			}
		})
	}
}
