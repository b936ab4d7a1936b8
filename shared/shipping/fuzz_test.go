package shipping_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
)

// fuzzFieldPattern is every field name Parse may report: the envelope's fields, `detail`, one entry
// of a `detail` array and the fields of an entry. A Field outside it would echo the input.
var fuzzFieldPattern = regexp.MustCompile(`^(body|version|id|detail-type|source|account|region|time|resources|` +
	`detail(\[\d+\])?(\.(eventCode|trackingId|verificationCode|verificationCodeTTL|alternateLegTrackingId|shipmentType|appId))?)$`)

// fuzzProblems are the Problem texts Parse produces. A fuzzed verificationCode that is part of one
// ("must", "required") may legitimately appear in an error, so the leak check skips such codes.
var fuzzProblems = strings.Join([]string{
	"must be UTF-8 encoded",
	"must be a JSON object",
	"must not be empty",
	"is required",
	"must be a string",
	"is longer than 256 bytes",
	"is longer than 64 bytes",
	"is longer than 32 bytes",
	`must be "AmazonShipping"`,
	"must be an RFC 3339 timestamp",
	"must be an array of strings",
	"must be an object or an array of objects",
	"must not be an empty array",
	"holds more than 1000 entries",
	"must be printable characters without spaces",
	"must be an integer of epoch milliseconds",
	"must be Unix epoch milliseconds (13 or 14 digits)",
	"must be FORWARD or REVERSE",
}, "\n")

func FuzzParse(f *testing.F) {
	array := withDetail(f, []any{
		otpEntry("TBA001", "111111", seedTTL),
		otpEntry("TBA002", "222222", seedTTL+1),
		otpEntry("TBA001", "999999", seedTTL+2),
		map[string]any{"trackingId": "TBA003", "eventCode": "PIN_EXPIRED"},
	})
	for _, seed := range [][]byte{
		[]byte(seedSampleBody),
		array,
		parseSampleWith(f, func(_, d map[string]any) { d["verificationCodeTTL"] = "1705190399000" }),
		parseSampleWith(f, func(top, _ map[string]any) {
			top["detail-type"] = "Tracking Detail"
			top["detail"] = map[string]any{"trackingId": "TBA123", "eventCode": "EVENT_301", "status": "InTransit"}
		}),
		parseSampleWith(f, func(_, d map[string]any) { d["verificationCodeTTL"] = json.RawMessage("1705190399") }),
		parseSampleWith(f, func(_, d map[string]any) { d["verificationCode"] = "938 492" }),
		parseSampleWith(f, func(top, _ map[string]any) { top["source"] = "aws.events" }),
		parseSampleWith(f, func(top, _ map[string]any) { delete(top, "time") }),
		parseSampleWith(f, func(top, _ map[string]any) { top["detail"] = []any{} }),
		[]byte(seedSampleBody[:len(seedSampleBody)/2]),
		[]byte(`[]`),
		[]byte(`null`),
		[]byte("{\"id\":\"\xff\"}"),
		[]byte(``),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkParse(t, body)
		checkParsePartial(t, body)
	})
}

// checkParsePartial: ParsePartial agrees with Parse on deliveries Parse accepts, and otherwise
// either fails as Parse does or keeps some entries and names every entry it rejected.
func checkParsePartial(t *testing.T, body []byte) {
	strict, strictErr := shipping.Parse(body)
	n, rejected, err := shipping.ParsePartial(body)
	switch {
	case strictErr == nil:
		if err != nil || len(rejected) > 0 || len(n.OTPs) != len(strict.OTPs) || len(n.Others) != len(strict.Others) {
			t.Fatalf("ParsePartial = %v, %d rejected; Parse accepted the delivery", err, len(rejected))
		}
	case err != nil:
		if n != nil || rejected != nil {
			t.Fatalf("ParsePartial returned results along with error %v", err)
		}
	default:
		if len(rejected) == 0 || len(n.OTPs)+len(n.Others) == 0 {
			t.Fatalf("ParsePartial kept %d OTPs and %d others and rejected %d entries, where Parse failed with %v", len(n.OTPs), len(n.Others), len(rejected), strictErr)
		}
		for _, r := range rejected {
			if !strings.HasPrefix(r.Field, "detail[") || r.Problem == "" {
				t.Fatalf("rejection %+v does not name its entry", r)
			}
		}
		var fe *shipping.FieldError
		if errors.As(strictErr, &fe) && fe.Field != rejected[0].Field {
			t.Fatalf("Parse failed on %s, ParsePartial's first rejection is %s", fe.Field, rejected[0].Field)
		}
	}
}

// checkParse asserts the properties Parse keeps for any input.
func checkParse(t *testing.T, body []byte) {
	input := bytes.Clone(body)
	n, err := shipping.Parse(body)
	if !bytes.Equal(body, input) {
		t.Fatalf("Parse modified its input")
	}
	codes := fuzzVerificationCodes(body)

	if err != nil {
		if n != nil {
			t.Errorf("Parse returned a notification along with error %v", err)
		}
		var fe *shipping.FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("error %T %v is not a *shipping.FieldError", err, err)
		}
		if fe.Field == "" || fe.Problem == "" {
			t.Fatalf("FieldError %+v has an empty Field or Problem", fe)
		}
		if !fuzzFieldPattern.MatchString(fe.Field) {
			t.Errorf("FieldError.Field %q is not a known field name", fe.Field)
		}
		if err.Error() != fe.Field+": "+fe.Problem {
			t.Errorf("Error() = %q, want Field: Problem", err.Error())
		}
		// Field is a fixed name (checked above), so only Problem could carry input.
		for _, c := range codes {
			if len(c) >= 4 && !strings.Contains(fuzzProblems, c) && strings.Contains(fe.Problem, c) {
				t.Errorf("error text %q contains the verificationCode %q", err.Error(), c)
			}
		}
		return
	}

	if n == nil {
		t.Fatalf("Parse returned nil, nil")
	}
	env := n.Envelope
	if env.Version == "" || env.ID == "" || env.DetailType == "" || env.Account == "" || env.Time.IsZero() {
		t.Errorf("envelope %+v lacks a required field", env)
	}
	if env.Source != shipping.SourceAmazonShipping {
		t.Errorf("Source = %q", env.Source)
	}
	if len(env.Details) == 0 || len(env.Details) > 1000 {
		t.Errorf("len(Details) = %d, want 1..1000", len(env.Details))
	}
	if len(n.OTPs)+len(n.Others) > len(env.Details) {
		t.Errorf("%d OTPs + %d Others from %d detail entries", len(n.OTPs), len(n.Others), len(env.Details))
	}
	if len(n.OTPs) > 0 && env.DetailType != shipping.DetailTypePN {
		t.Errorf("OTPs from detail-type %q", env.DetailType)
	}
	seen := map[string]bool{}
	for i, o := range n.OTPs {
		if o.TrackingID == "" || o.VerificationCode == "" {
			t.Errorf("OTPs[%d] has an empty TrackingID or VerificationCode: %+v", i, o)
		}
		if seen[o.TrackingID] {
			t.Errorf("tracking ID %q appears in more than one OTP", o.TrackingID)
		}
		seen[o.TrackingID] = true
		if o.ExpiresAtMillis < 1e12 || o.ExpiresAtMillis >= 1e14 {
			t.Errorf("OTPs[%d].ExpiresAtMillis = %d, want within [1e12, 1e14)", i, o.ExpiresAtMillis)
		}
		if got := o.ExpiresAt().UnixMilli(); got != o.ExpiresAtMillis {
			t.Errorf("OTPs[%d].ExpiresAt().UnixMilli() = %d, want %d", i, got, o.ExpiresAtMillis)
		}
		if len(o.VerificationCode) > 64 {
			t.Errorf("OTPs[%d].VerificationCode has %d bytes", i, len(o.VerificationCode))
		}
		for _, r := range o.VerificationCode {
			if !unicode.IsPrint(r) || unicode.IsSpace(r) {
				t.Errorf("OTPs[%d].VerificationCode holds %U", i, r)
			}
		}
		if !slices.Contains(codes, o.VerificationCode) {
			t.Errorf("OTPs[%d].VerificationCode %q is none of the input's codes %q", i, o.VerificationCode, codes)
		}
		if o.EventCode != shipping.EventCodePinGenerated {
			t.Errorf("OTPs[%d].EventCode = %q", i, o.EventCode)
		}
		if o.ShipmentType != "" && o.ShipmentType != "FORWARD" && o.ShipmentType != "REVERSE" {
			t.Errorf("OTPs[%d].ShipmentType = %q", i, o.ShipmentType)
		}
	}
	for i, o := range n.Others {
		if !json.Valid(o.Raw) || !bytes.HasPrefix(bytes.TrimSpace(o.Raw), []byte("{")) {
			t.Errorf("Others[%d].Raw = %q is not a JSON object", i, o.Raw)
		}
	}
	again, err := shipping.Parse(body)
	if err != nil || !reflect.DeepEqual(n, again) {
		t.Errorf("a second Parse of the same body differs: %+v, %v", again, err)
	}
}

// fuzzVerificationCodes extracts, independently of Parse, every string verificationCode in body,
// trimmed as Parse trims it.
func fuzzVerificationCodes(body []byte) []string {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return nil
	}
	entries := []json.RawMessage{top["detail"]}
	var list []json.RawMessage
	if json.Unmarshal(top["detail"], &list) == nil {
		entries = list
	}
	var codes []string
	for _, e := range entries {
		var d map[string]json.RawMessage
		if json.Unmarshal(e, &d) != nil {
			continue
		}
		var c string
		if json.Unmarshal(d["verificationCode"], &c) == nil {
			codes = append(codes, strings.TrimSpace(c))
		}
	}
	return codes
}

func BenchmarkParseSample(b *testing.B) {
	body := []byte(seedSampleBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := shipping.Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseAccumulated100(b *testing.B) {
	entries := make([]any, 100)
	for i := range entries {
		entries[i] = otpEntry(fmt.Sprintf("TBA%010d", i), fmt.Sprintf("%06d", i*7919%1000000), seedTTL+int64(i))
	}
	body := withDetail(b, entries)
	n, err := shipping.Parse(body)
	if err != nil {
		b.Fatal(err)
	}
	if len(n.OTPs) != 100 {
		b.Fatalf("Parse of 100 entries gave %d OTPs, want 100", len(n.OTPs))
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := shipping.Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}
