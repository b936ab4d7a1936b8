package aps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
)

// fieldOf returns the Field of err when it is a *FieldError; ok is false otherwise.
func fieldOf(err error) (string, bool) {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field, true
	}
	return "", false
}

// validParams is a complete, valid Direct Transaction Feedback message (without signature).
func validParams() map[string]string {
	return map[string]string{
		"access_code":         "SILgpo7pWbmzuURp2qri",
		"amount":              "1000",
		"command":             "PURCHASE",
		"currency":            "USD",
		"customer_email":      "test@gmail.com",
		"language":            "en",
		"merchant_identifier": "MxvOupuG",
		"merchant_reference":  "Test010",
		"fort_id":             "169996200000012345",
		"response_code":       "14000",
		"response_message":    "Success",
		"status":              "14",
	}
}

func TestParseParamsJSONAccepts(t *testing.T) {
	long := strings.Repeat("x", maxValueBytes)
	cases := []struct {
		name string
		body string
		want map[string]string
	}{
		{"strings", `{"a":"1","b":"two"}`, map[string]string{"a": "1", "b": "two"}},
		{"integer keeps its JSON text", `{"amount": 1000}`, map[string]string{"amount": "1000"}},
		{"decimal keeps trailing zero", `{"amount": 1.50}`, map[string]string{"amount": "1.50"}},
		{"exponent kept verbatim", `{"n": 1e3}`, map[string]string{"n": "1e3"}},
		{"negative number", `{"n": -5}`, map[string]string{"n": "-5"}},
		{"booleans", `{"t":true,"f":false}`, map[string]string{"t": "true", "f": "false"}},
		{"null is empty", `{"n":null,"a":"x"}`, map[string]string{"n": "", "a": "x"}},
		{"empty string", `{"a":""}`, map[string]string{"a": ""}},
		{"escapes decoded", `{"a":"\u0041\"\\\/\n"}`, map[string]string{"a": "A\"\\/\n"}},
		{"unicode", `{"name":"محمد","e":"é"}`, map[string]string{"name": "محمد", "e": "é"}},
		{"whitespace around", " \n{ \"a\" : 1 ,\t\"b\" : \"c\" }\n ", map[string]string{"a": "1", "b": "c"}},
		{"value of exactly 8 KiB", `{"a":"` + long + `"}`, map[string]string{"a": long}},
		{"exactly 200 params", jsonObject(maxParams), nParams(maxParams)},
		{"mixed realistic", `{"amount":1000,"currency":"USD","status":"14","response_code":"14000","eci":"ECOMMERCE","3ds":null}`,
			map[string]string{"amount": "1000", "currency": "USD", "status": "14", "response_code": "14000", "eci": "ECOMMERCE", "3ds": ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseParams(MediaJSON, []byte(tc.body))
			if err != nil {
				t.Fatalf("ParseParams: %v", err)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseParamsFormAccepts(t *testing.T) {
	long := strings.Repeat("y", maxValueBytes)
	cases := []struct {
		name string
		body string
		want map[string]string
	}{
		{"plain", "a=1&b=two", map[string]string{"a": "1", "b": "two"}},
		{"plus is space", "msg=hello+world", map[string]string{"msg": "hello world"}},
		{"percent escapes", "c=%41%2B%26%3D&e=%C3%A9", map[string]string{"c": "A+&=", "e": "é"}},
		{"escaped key", "merchant%5Freference=R1", map[string]string{"merchant_reference": "R1"}},
		{"name without value", "a&b=", map[string]string{"a": "", "b": ""}},
		{"empty segments skipped", "&a=1&&b=2&", map[string]string{"a": "1", "b": "2"}},
		{"value of exactly 8 KiB", "a=" + long, map[string]string{"a": long}},
		{"exactly 200 params", formBody(maxParams), nParams(maxParams)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseParams(MediaForm, []byte(tc.body))
			if err != nil {
				t.Fatalf("ParseParams: %v", err)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseParamsRejects(t *testing.T) {
	tooLong := strings.Repeat("z", maxValueBytes+1)
	cases := []struct {
		name      string
		mediaType string
		body      string
		field     string
	}{
		{"json: not JSON", MediaJSON, `status=14`, "body"},
		{"json: truncated", MediaJSON, `{"a":"1"`, "body"},
		{"json: trailing data", MediaJSON, `{"a":"1"} {"b":"2"}`, "body"},
		{"json: empty body", MediaJSON, ``, "body"},
		{"json: top-level array", MediaJSON, `[{"a":"1"}]`, "body"},
		{"json: top-level string", MediaJSON, `"a"`, "body"},
		{"json: top-level number", MediaJSON, `14`, "body"},
		{"json: top-level null", MediaJSON, `null`, "body"},
		{"json: nested object", MediaJSON, `{"a":"1","meta":{"x":1}}`, "meta"},
		{"json: nested empty object", MediaJSON, `{"meta":{}}`, "meta"},
		{"json: nested array", MediaJSON, `{"a":"1","list":[1,2]}`, "list"},
		{"json: nested empty array", MediaJSON, `{"list":[]}`, "list"},
		{"json: invalid UTF-8", MediaJSON, "{\"a\":\"\xff\"}", "body"},
		{"json: invalid UTF-8 in key", MediaJSON, "{\"\xc3\":\"a\"}", "body"},
		{"json: empty object", MediaJSON, `{}`, "body"},
		{"json: 201 params", MediaJSON, jsonObject(maxParams + 1), "body"},
		{"json: value over 8 KiB", MediaJSON, `{"a":"1","big":"` + tooLong + `"}`, "big"},
		{"json: number over 8 KiB", MediaJSON, `{"big":` + strings.Repeat("9", maxValueBytes+1) + `}`, "big"},
		{"json: empty key", MediaJSON, `{"":"x"}`, "body"},
		{"json: empty key with others", MediaJSON, `{"a":"1","":"x"}`, "body"},
		{"form: repeated key", MediaForm, `a=1&status=14&status=14`, "status"},
		{"form: repeated key, different values", MediaForm, `status=14&status=13`, "status"},
		{"form: repeated key via escape", MediaForm, `status=14&st%61tus=13`, "status"},
		{"form: empty body", MediaForm, ``, "body"},
		{"form: only separators", MediaForm, `&&&`, "body"},
		{"form: broken escape in value", MediaForm, `a=%zz`, "body"},
		{"form: broken escape in key", MediaForm, `%zz=1`, "body"},
		{"form: bare broken escape", MediaForm, `%zz`, "body"},
		{"form: truncated escape", MediaForm, `a=1&b=%4`, "body"},
		{"form: semicolon separator", MediaForm, `a=1;b=2`, "body"},
		{"form: invalid UTF-8 body", MediaForm, "a=\xff", "body"},
		{"form: empty key", MediaForm, `=x`, "body"},
		{"form: 201 params", MediaForm, formBody(maxParams + 1), "body"},
		{"form: value over 8 KiB", MediaForm, `a=1&big=` + tooLong, "big"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseParams(tc.mediaType, []byte(tc.body))
			if err == nil {
				t.Fatalf("ParseParams accepted %.80q: %q", tc.body, got)
			}
			if got != nil {
				t.Errorf("params = %q alongside error, want nil", got)
			}
			field, ok := fieldOf(err)
			if !ok {
				t.Fatalf("error %v (%T) is not a *FieldError", err, err)
			}
			if field != tc.field {
				t.Errorf("FieldError.Field = %q, want %q (error: %v)", field, tc.field, err)
			}
			if !strings.HasPrefix(err.Error(), tc.field+": ") {
				t.Errorf("Error() = %q, want prefix %q", err.Error(), tc.field+": ")
			}
		})
	}
}

// TestParseParamsRegressions pins down bugs the fuzzer and review found and that were fixed.
func TestParseParamsRegressions(t *testing.T) {
	for _, tc := range []struct{ mediaType, body string }{
		{MediaJSON, `{"":{}}`},
		{MediaJSON, `{"a":"1","":[1]}`},
		{MediaForm, `=&=0`},
		{MediaForm, `a=1&=x&=y`},
	} {
		t.Run("empty name with another problem "+tc.body, func(t *testing.T) {
			_, err := ParseParams(tc.mediaType, []byte(tc.body))
			if field, ok := fieldOf(err); !ok || field != "body" {
				t.Errorf("%s %q gives %v (Field %q), want a *FieldError on \"body\"", tc.mediaType, tc.body, err, field)
			}
		})
	}
	t.Run("repeated JSON name", func(t *testing.T) {
		// The form path rejects a repeated name because the signature covers one value per name;
		// the JSON path silently keeps the last value.
		p, err := ParseParams(MediaJSON, []byte(`{"status":"14","status":"13"}`))
		if field, ok := fieldOf(err); !ok || field != "status" {
			t.Errorf("repeated JSON name gives %q, %v; want a *FieldError on \"status\" as for form", p, err)
		}
	})
	t.Run("unsupported media type with non-UTF-8 body", func(t *testing.T) {
		_, err := ParseParams("text/plain", []byte("\xff"))
		if err == nil {
			t.Fatal("accepted")
		}
		if field, ok := fieldOf(err); ok {
			t.Errorf("unsupported media type gives *FieldError on %q (%v), want a plain error", field, err)
		}
	})
}

func TestParseParamsUnsupportedMediaType(t *testing.T) {
	for _, mt := range []string{"", "text/plain", "application/xml", "multipart/form-data",
		"application/json; charset=utf-8", "APPLICATION/JSON", "application/x-www-form-urlencoded; charset=utf-8"} {
		t.Run(mt, func(t *testing.T) {
			got, err := ParseParams(mt, []byte(`{"a":"1"}`))
			if err == nil {
				t.Fatalf("ParseParams(%q) accepted: %q", mt, got)
			}
			if field, ok := fieldOf(err); ok {
				t.Errorf("error is a *FieldError (field %q), want a plain error: %v", field, err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	const (
		del = "\x00delete" // marker: remove the key from the base params
	)
	cases := []struct {
		name  string
		edit  map[string]string
		field string // "" when the params are valid
	}{
		{"complete message", nil, ""},
		{"status only", map[string]string{"response_code": del}, ""},
		{"response_code only", map[string]string{"status": del}, ""},
		{"empty status with response_code", map[string]string{"status": ""}, ""},
		{"without amount or currency", map[string]string{"amount": del, "currency": del}, ""},
		{"currency without amount", map[string]string{"amount": del}, ""},
		{"zero amount", map[string]string{"amount": "0"}, ""},
		{"leading zeros", map[string]string{"amount": "0001000"}, ""},
		{"18-digit amount", map[string]string{"amount": "999999999999999999"}, ""},
		{"3-decimal currency", map[string]string{"amount": "1000", "currency": "KWD"}, ""},
		{"unknown currency", map[string]string{"currency": "XYZ"}, ""},
		{"status 00 syntactically valid", map[string]string{"status": "00", "response_code": "00000"}, ""},
		{"empty amount is absent", map[string]string{"amount": ""}, ""},

		{"missing merchant_identifier", map[string]string{"merchant_identifier": del}, "merchant_identifier"},
		{"empty merchant_identifier", map[string]string{"merchant_identifier": ""}, "merchant_identifier"},
		{"missing access_code", map[string]string{"access_code": del}, "access_code"},
		{"empty access_code", map[string]string{"access_code": ""}, "access_code"},
		{"merchant_identifier checked before access_code", map[string]string{"merchant_identifier": del, "access_code": del}, "merchant_identifier"},
		{"neither status nor response_code", map[string]string{"status": del, "response_code": del}, "status"},
		{"both empty", map[string]string{"status": "", "response_code": ""}, "status"},

		{"status one digit", map[string]string{"status": "4", "response_code": del}, "status"},
		{"status three digits", map[string]string{"status": "140", "response_code": del}, "status"},
		{"status letters", map[string]string{"status": "ab", "response_code": del}, "status"},
		{"status with sign", map[string]string{"status": "+4", "response_code": del}, "status"},
		{"status negative", map[string]string{"status": "-1", "response_code": del}, "status"},
		{"status with space", map[string]string{"status": " 4", "response_code": del}, "status"},
		{"status unicode digits", map[string]string{"status": "١٤", "response_code": del}, "status"},

		{"response_code four digits", map[string]string{"response_code": "1400"}, "response_code"},
		{"response_code six digits", map[string]string{"response_code": "140000"}, "response_code"},
		{"response_code letters", map[string]string{"response_code": "14abc"}, "response_code"},
		{"response_code signed", map[string]string{"status": del, "response_code": "+1400"}, "response_code"},
		{"response_code other status", map[string]string{"status": "14", "response_code": "13000"}, "response_code"},
		{"response_code status in wrong place", map[string]string{"status": "14", "response_code": "00014"}, "response_code"},

		{"amount decimal", map[string]string{"amount": "10.00"}, "amount"},
		{"amount negative", map[string]string{"amount": "-5"}, "amount"},
		{"amount plus", map[string]string{"amount": "+5"}, "amount"},
		{"amount leading space", map[string]string{"amount": " 5"}, "amount"},
		{"amount trailing space", map[string]string{"amount": "5 "}, "amount"},
		{"amount exponent", map[string]string{"amount": "1e3"}, "amount"},
		{"amount underscore", map[string]string{"amount": "1_000"}, "amount"},
		{"amount hex", map[string]string{"amount": "0x10"}, "amount"},
		{"amount 19 digits", map[string]string{"amount": "1000000000000000000"}, "amount"},
		{"amount true", map[string]string{"amount": "true"}, "amount"},
		{"amount without currency", map[string]string{"currency": del}, "currency"},
		{"amount with empty currency", map[string]string{"currency": ""}, "currency"},

		{"currency lower case", map[string]string{"currency": "usd"}, "currency"},
		{"currency mixed case", map[string]string{"currency": "Usd"}, "currency"},
		{"currency two letters", map[string]string{"currency": "US"}, "currency"},
		{"currency four letters", map[string]string{"currency": "USDD"}, "currency"},
		{"currency digits", map[string]string{"currency": "840"}, "currency"},
		{"currency non-ASCII", map[string]string{"currency": "ÜS"}, "currency"},
		{"currency without amount still checked", map[string]string{"amount": del, "currency": "usd"}, "currency"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := validParams()
			for k, v := range tc.edit {
				if v == del {
					delete(p, k)
				} else {
					p[k] = v
				}
			}
			err := Validate(p)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate(%q) = %v, want nil", p, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate(%q) = nil, want error on %q", p, tc.field)
			}
			field, ok := fieldOf(err)
			if !ok {
				t.Fatalf("error %v (%T) is not a *FieldError", err, err)
			}
			if field != tc.field {
				t.Errorf("FieldError.Field = %q, want %q (error: %v)", field, tc.field, err)
			}
		})
	}
}

func TestValidateMinimal(t *testing.T) {
	p := map[string]string{"merchant_identifier": "m", "access_code": "c", "status": "02"}
	if err := Validate(p); err != nil {
		t.Fatalf("Validate(%q) = %v", p, err)
	}
	if err := Validate(map[string]string{}); err == nil {
		t.Fatal("Validate(empty) = nil")
	}
	if err := Validate(nil); err == nil {
		t.Fatal("Validate(nil) = nil")
	}
}

func TestOutcomeOf(t *testing.T) {
	want := map[string]string{
		"02": "APS Authorization Succeeded",
		"03": "APS Authorization Failed",
		"04": "APS Capture Succeeded",
		"05": "APS Capture Failed",
		"06": "APS Refund Succeeded",
		"07": "APS Refund Failed",
		"08": "APS Void Succeeded",
		"09": "APS Void Failed",
		"13": "APS Purchase Failed",
		"14": "APS Purchase Succeeded",
		"15": "APS Transaction Uncertain",
		"17": "APS Tokenization Failed",
		"18": "APS Tokenization Succeeded",
		"19": "APS Transaction Pending",
		"20": "APS Transaction On Hold",
	}
	if len(outcomes) != len(want) {
		t.Errorf("outcomes has %d statuses, the test knows %d", len(outcomes), len(want))
	}
	for status, dt := range want {
		t.Run(status, func(t *testing.T) {
			for _, p := range []map[string]string{
				{"status": status},
				{"status": status, "response_code": status + "000"},
				{"response_code": status + "000"},
				{"status": "", "response_code": status + "072"},
			} {
				o := OutcomeOf(p)
				if o.DetailType != dt || o.Status != status || o.Description == "" || o.Description == "Unknown status" {
					t.Errorf("OutcomeOf(%q) = %+v, want DetailType %q, Status %q", p, o, dt, status)
				}
			}
		})
	}
	descriptions := map[string]string{"02": "Authorization success", "14": "Purchase success", "15": "Uncertain transaction", "20": "On hold"}
	for status, d := range descriptions {
		if o := OutcomeOf(map[string]string{"status": status}); o.Description != d {
			t.Errorf("status %s: Description = %q, want %q", status, o.Description, d)
		}
	}
}

func TestOutcomeOfUnknown(t *testing.T) {
	cases := []struct {
		p      map[string]string
		status string
	}{
		{map[string]string{"status": "99"}, "99"},
		{map[string]string{"status": "00"}, "00"},
		{map[string]string{"status": "01"}, "01"},
		{map[string]string{"status": "10"}, "10"},
		{map[string]string{"status": "16"}, "16"},
		{map[string]string{"response_code": "99000"}, "99"},
		{map[string]string{"response_code": "00000"}, "00"},
		{map[string]string{"status": "99", "response_code": "99000"}, "99"},
		{map[string]string{}, ""},
		{map[string]string{"response_code": "1"}, ""},
	}
	for _, tc := range cases {
		o := OutcomeOf(tc.p)
		if o.DetailType != DetailTypeUnknown || o.Status != tc.status || o.Description != "Unknown status" {
			t.Errorf("OutcomeOf(%q) = %+v, want DetailType %q, Status %q", tc.p, o, DetailTypeUnknown, tc.status)
		}
	}
	if DetailTypeUnknown != "APS Transaction Status Unknown" {
		t.Errorf("DetailTypeUnknown = %q: a contract string changed", DetailTypeUnknown)
	}
}

// TestOutcomeOfDoesNotShareState guards against handing out the map's value with a mutated Status.
func TestOutcomeOfDoesNotShareState(t *testing.T) {
	a := OutcomeOf(map[string]string{"status": "14"})
	a.DetailType = "changed"
	if b := OutcomeOf(map[string]string{"status": "14"}); b.DetailType != "APS Purchase Succeeded" {
		t.Errorf("outcomes table mutated through a returned Outcome: %+v", b)
	}
}

func TestAmountOf(t *testing.T) {
	cases := []struct {
		amount, currency string
		want             Amount
	}{
		{"1000", "USD", Amount{MinorUnits: 1000, Value: "10.00", Currency: "USD", Exponent: 2}},
		{"5", "USD", Amount{MinorUnits: 5, Value: "0.05", Currency: "USD", Exponent: 2}},
		{"50", "USD", Amount{MinorUnits: 50, Value: "0.50", Currency: "USD", Exponent: 2}},
		{"100", "USD", Amount{MinorUnits: 100, Value: "1.00", Currency: "USD", Exponent: 2}},
		{"0", "USD", Amount{MinorUnits: 0, Value: "0.00", Currency: "USD", Exponent: 2}},
		{"000", "USD", Amount{MinorUnits: 0, Value: "0.00", Currency: "USD", Exponent: 2}},
		{"0001000", "USD", Amount{MinorUnits: 1000, Value: "10.00", Currency: "USD", Exponent: 2}},
		{"1000", "KWD", Amount{MinorUnits: 1000, Value: "1.000", Currency: "KWD", Exponent: 3}},
		{"7", "JOD", Amount{MinorUnits: 7, Value: "0.007", Currency: "JOD", Exponent: 3}},
		{"0", "BHD", Amount{MinorUnits: 0, Value: "0.000", Currency: "BHD", Exponent: 3}},
		{"1234567", "OMR", Amount{MinorUnits: 1234567, Value: "1234.567", Currency: "OMR", Exponent: 3}},
		{"1000", "JPY", Amount{MinorUnits: 1000, Value: "1000", Currency: "JPY", Exponent: 0}},
		{"0", "JPY", Amount{MinorUnits: 0, Value: "0", Currency: "JPY", Exponent: 0}},
		{"123456789012345678", "USD", Amount{MinorUnits: 123456789012345678, Value: "1234567890123456.78", Currency: "USD", Exponent: 2}},
		{"999999999999999999", "KWD", Amount{MinorUnits: 999999999999999999, Value: "999999999999999.999", Currency: "KWD", Exponent: 3}},
		{"1000", "SAR", Amount{MinorUnits: 1000, Value: "10.00", Currency: "SAR", Exponent: 2}},
		{"1000", "AED", Amount{MinorUnits: 1000, Value: "10.00", Currency: "AED", Exponent: 2}},
		{"1000", "EGP", Amount{MinorUnits: 1000, Value: "10.00", Currency: "EGP", Exponent: 2}},
	}
	for _, tc := range cases {
		t.Run(tc.amount+" "+tc.currency, func(t *testing.T) {
			p := map[string]string{"amount": tc.amount, "currency": tc.currency}
			got, ok := AmountOf(p)
			if !ok {
				t.Fatalf("AmountOf(%q) ok = false", p)
			}
			if got != tc.want {
				t.Errorf("AmountOf(%q) = %+v, want %+v", p, got, tc.want)
			}
		})
	}
	for _, p := range []map[string]string{{}, {"currency": "USD"}, {"amount": "", "currency": "USD"}} {
		if got, ok := AmountOf(p); ok || got != (Amount{}) {
			t.Errorf("AmountOf(%q) = %+v, %v; want zero, false", p, got, ok)
		}
	}
}

func TestDecimal(t *testing.T) {
	cases := []struct {
		minor int64
		exp   int
		want  string
	}{
		{0, 0, "0"}, {0, 2, "0.00"}, {0, 3, "0.000"},
		{1, 2, "0.01"}, {9, 2, "0.09"}, {10, 2, "0.10"}, {99, 2, "0.99"}, {100, 2, "1.00"}, {101, 2, "1.01"},
		{1, 3, "0.001"}, {999, 3, "0.999"}, {1000, 3, "1.000"}, {1001, 3, "1.001"},
		{7, 3, "0.007"}, {70, 3, "0.070"},
		{12345, 0, "12345"}, {12345, 4, "1.2345"}, {1, 4, "0.0001"},
		{9223372036854775807, 2, "92233720368547758.07"},
		{9223372036854775807, 3, "9223372036854775.807"},
	}
	for _, tc := range cases {
		if got := decimal(tc.minor, tc.exp); got != tc.want {
			t.Errorf("decimal(%d, %d) = %q, want %q", tc.minor, tc.exp, got, tc.want)
		}
	}
}

func TestExponent(t *testing.T) {
	// 3-decimal currencies named in the APS facts (§3).
	for _, c := range []string{"JOD", "KWD", "OMR", "TND", "BHD", "LYD", "IQD"} {
		if got := Exponent(c); got != 3 {
			t.Errorf("Exponent(%q) = %d, want 3", c, got)
		}
	}
	for _, c := range []string{"JPY", "KRW", "CLP", "ISK", "VND", "XAF", "XOF"} {
		if got := Exponent(c); got != 0 {
			t.Errorf("Exponent(%q) = %d, want 0", c, got)
		}
	}
	for _, c := range []string{"USD", "EUR", "SAR", "AED", "EGP", "QAR", "GBP", "ZZZ", "", "kwd", "jpy"} {
		if got := Exponent(c); got != 2 {
			t.Errorf("Exponent(%q) = %d, want 2", c, got)
		}
	}
}

func TestIdempotencyKey(t *testing.T) {
	base := validParams()
	base["signature"] = "94c38afc7bdae0114fc8c740edf12416f22998241ce4b4ea70d5521233a2c882"
	key := IdempotencyKey(base)
	if !strings.HasPrefix(key, "aps:") || len(key) != len("aps:")+64 {
		t.Fatalf("key %q: want aps: and 64 hex digits", key)
	}
	if _, err := strconv.ParseUint(key[4:20], 16, 64); err != nil {
		t.Errorf("key %q is not hex", key)
	}

	// Same parameters inserted in the opposite order; Go map iteration is randomised anyway.
	names := make([]string, 0, len(base))
	for k := range base {
		names = append(names, k)
	}
	for range 20 {
		rebuilt := make(map[string]string)
		for i := len(names) - 1; i >= 0; i-- {
			rebuilt[names[i]] = base[names[i]]
		}
		if got := IdempotencyKey(rebuilt); got != key {
			t.Fatalf("rebuilt map: key %q, want %q", got, key)
		}
	}
	if got := IdempotencyKey(maps.Clone(base)); got != key {
		t.Errorf("clone: key %q, want %q", got, key)
	}

	// A redelivery signed with the rotated phrase, in upper-case hex, or without signature: same key.
	for _, sig := range []string{"0000", "94C38AFC", "", "\x00delete"} {
		p := maps.Clone(base)
		if sig == "\x00delete" {
			delete(p, "signature")
		} else {
			p["signature"] = sig
		}
		if got := IdempotencyKey(p); got != key {
			t.Errorf("signature %q: key %q, want %q", sig, got, key)
		}
	}

	// Any other difference is a different message.
	seen := map[string]string{key: "base"}
	check := func(name, k string) {
		t.Helper()
		if prev, dup := seen[k]; dup {
			t.Errorf("%s: key equals the key of %s", name, prev)
		}
		seen[k] = name
	}
	for k := range base {
		if k == "signature" {
			continue
		}
		p := maps.Clone(base)
		p[k] += "1"
		check("changed "+k, IdempotencyKey(p))
		p = maps.Clone(base)
		p[k] = ""
		check("emptied "+k, IdempotencyKey(p))
		p = maps.Clone(base)
		delete(p, k)
		check("removed "+k, IdempotencyKey(p))
	}
	p := maps.Clone(base)
	p["refund_reference"] = "R2"
	check("added parameter", IdempotencyKey(p))
	p = maps.Clone(base)
	p["Amount"] = p["amount"]
	delete(p, "amount")
	check("renamed parameter (case)", IdempotencyKey(p))
	check("empty params", IdempotencyKey(map[string]string{}))

	if IdempotencyKey(nil) != IdempotencyKey(map[string]string{}) {
		t.Error("nil and empty params give different keys")
	}
}

func TestEvent(t *testing.T) {
	received := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	p := validParams()
	p["signature"] = "abcdef"
	p["card_number"] = "400555******0001"
	p["card_holder_name"] = "Test Holder"
	p["expiry_date"] = "2105"
	p["card_bin"] = "400555"
	p["payment_option"] = "VISA"
	orig := maps.Clone(p)

	for _, include := range []bool{false, true} {
		t.Run(fmt.Sprintf("includeCard=%v", include), func(t *testing.T) {
			ev := Event(TransactionFeedback, p, received, include)
			if !maps.Equal(p, orig) {
				t.Fatalf("Event modified its input: %q", p)
			}
			if ev.Source != "amazon-webhook-gateway.aps" {
				t.Errorf("Source = %q", ev.Source)
			}
			if ev.DetailType != "APS Purchase Succeeded" {
				t.Errorf("DetailType = %q", ev.DetailType)
			}
			d, ok := ev.Detail.(Detail)
			if !ok {
				t.Fatalf("Detail is %T, want aps.Detail", ev.Detail)
			}
			m := d.Metadata
			if m.SchemaVersion != "1" || m.Feedback != TransactionFeedback || !m.ReceivedAt.Equal(received) ||
				m.IdempotencyKey != IdempotencyKey(p) {
				t.Errorf("Metadata = %+v", m)
			}
			if _, has := d.Data.Fields["signature"]; has {
				t.Error("Fields carries the signature")
			}
			for _, k := range []string{"card_number", "card_holder_name", "expiry_date", "card_bin"} {
				v, has := d.Data.Fields[k]
				if include && (!has || v != p[k]) {
					t.Errorf("includeCard: Fields[%q] = %q, %v; want %q", k, v, has, p[k])
				}
				if !include && has {
					t.Errorf("Fields carries card field %q", k)
				}
			}
			wantFields := maps.Clone(p)
			delete(wantFields, "signature")
			if !include {
				for _, k := range cardFields {
					delete(wantFields, k)
				}
			}
			if !maps.Equal(d.Data.Fields, wantFields) {
				t.Errorf("Fields = %q, want %q", d.Data.Fields, wantFields)
			}
			want := Data{
				MerchantReference:  "Test010",
				FortID:             "169996200000012345",
				Command:            "PURCHASE",
				Status:             "14",
				StatusDescription:  "Purchase success",
				ResponseCode:       "14000",
				ResponseMessage:    "Success",
				Amount:             &Amount{MinorUnits: 1000, Value: "10.00", Currency: "USD", Exponent: 2},
				PaymentOption:      "VISA",
				Combination:        CombinationKnown,
				CardFieldsIncluded: include,
			}
			got := d.Data
			got.Fields = nil
			if got.Amount == nil || *got.Amount != *want.Amount {
				t.Errorf("Amount = %+v, want %+v", got.Amount, want.Amount)
			}
			got.Amount, want.Amount = nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Data = %+v, want %+v", got, want)
			}
		})
	}

	t.Run("service_command and no amount", func(t *testing.T) {
		p := map[string]string{
			"access_code": "a", "merchant_identifier": "m", "service_command": "TOKENIZATION",
			"response_code": "18000", "signature": "x", "token_name": "tok",
		}
		d := Event(NotificationFeedback, p, received, false).Detail.(Detail)
		if d.Data.Command != "TOKENIZATION" {
			t.Errorf("Command = %q, want service_command TOKENIZATION", d.Data.Command)
		}
		if d.Data.Amount != nil {
			t.Errorf("Amount = %+v, want nil", d.Data.Amount)
		}
		if d.Data.Status != "18" || d.Data.StatusDescription != "Tokenization success" {
			t.Errorf("Status = %q %q", d.Data.Status, d.Data.StatusDescription)
		}
		if d.Metadata.Feedback != NotificationFeedback {
			t.Errorf("Feedback = %q", d.Metadata.Feedback)
		}
		if !maps.Equal(d.Data.Fields, map[string]string{"access_code": "a", "merchant_identifier": "m",
			"service_command": "TOKENIZATION", "response_code": "18000", "token_name": "tok"}) {
			t.Errorf("Fields = %q", d.Data.Fields)
		}
	})
	t.Run("command wins over service_command", func(t *testing.T) {
		p := map[string]string{"command": "REFUND", "service_command": "TOKENIZATION", "status": "06"}
		d := Event(NotificationFeedback, p, received, false).Detail.(Detail)
		if d.Data.Command != "REFUND" {
			t.Errorf("Command = %q, want REFUND", d.Data.Command)
		}
	})
	t.Run("unknown status", func(t *testing.T) {
		ev := Event(TransactionFeedback, map[string]string{"status": "99"}, received, true)
		d := ev.Detail.(Detail)
		if ev.DetailType != DetailTypeUnknown || d.Data.Status != "99" {
			t.Errorf("DetailType %q, Status %q", ev.DetailType, d.Data.Status)
		}
		if d.Data.Fields == nil {
			t.Error("Fields is nil, want an empty-but-present map")
		}
	})
}

const (
	testPhrase     = "current-phrase-SECRET-c0ffee"
	testPrevPhrase = "previous-phrase-SECRET-beef"
	testIdentifier = "merchant-ID-SECRET-1234"
	testAccessCode = "access-CODE-SECRET-5678"
)

func merchantDoc(fields map[string]string) []byte {
	var b strings.Builder
	b.WriteString("{")
	first := true
	for k, v := range fields {
		if !first {
			b.WriteString(",")
		}
		first = false
		fmt.Fprintf(&b, "%q:%q", k, v)
	}
	b.WriteString("}")
	return []byte(b.String())
}

func fullMerchantFields() map[string]string {
	return map[string]string{
		"shaResponsePhrase":         testPhrase,
		"previousShaResponsePhrase": testPrevPhrase,
		"merchantIdentifier":        testIdentifier,
		"accessCode":                testAccessCode,
	}
}

func TestMerchantParserValid(t *testing.T) {
	parse := MerchantParser(apssignature.SHA256)
	m, err := parse(merchantDoc(fullMerchantFields()))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(m.Sets) != 1 || m.Sets[0].Identifier != testIdentifier || m.Sets[0].AccessCode != testAccessCode || m.Sets[0].Verifier == nil {
		t.Fatalf("Merchant = %+v", m)
	}

	msg := map[string]string{"merchant_identifier": testIdentifier, "access_code": testAccessCode, "status": "14", "amount": "1000"}
	for _, phrase := range []string{testPhrase, testPrevPhrase} {
		s, err := apssignature.NewSigner(apssignature.SHA256, phrase)
		if err != nil {
			t.Fatal(err)
		}
		signed := maps.Clone(msg)
		signed["signature"] = s.Sign(msg)
		if err := m.Sets[0].Verifier.Verify(signed); err != nil {
			t.Errorf("message signed with the %s phrase: Verify = %v", map[string]string{testPhrase: "current", testPrevPhrase: "previous"}[phrase], err)
		}
	}
	other, _ := apssignature.NewSigner(apssignature.SHA256, "some-other-phrase")
	signed := maps.Clone(msg)
	signed["signature"] = other.Sign(msg)
	if err := m.Sets[0].Verifier.Verify(signed); !errors.Is(err, apssignature.ErrMismatch) {
		t.Errorf("foreign phrase: Verify = %v, want ErrMismatch", err)
	}
	// The algorithm passed to MerchantParser is the one used.
	hm, err := MerchantParser(apssignature.HMACSHA512)(merchantDoc(fullMerchantFields()))
	if err != nil {
		t.Fatal(err)
	}
	s256, _ := apssignature.NewSigner(apssignature.SHA256, testPhrase)
	signed = maps.Clone(msg)
	signed["signature"] = s256.Sign(msg)
	if err := hm.Sets[0].Verifier.Verify(signed); err == nil {
		t.Error("HMAC-SHA512 merchant accepted a SHA-256 signature")
	}

	// Without a previous phrase, only the current one verifies.
	f := fullMerchantFields()
	delete(f, "previousShaResponsePhrase")
	only, err := parse(merchantDoc(f))
	if err != nil {
		t.Fatalf("without previous phrase: %v", err)
	}
	prev, _ := apssignature.NewSigner(apssignature.SHA256, testPrevPhrase)
	signed = maps.Clone(msg)
	signed["signature"] = prev.Sign(msg)
	if err := only.Sets[0].Verifier.Verify(signed); err == nil {
		t.Error("merchant without previous phrase accepted a message signed with it")
	}
	f["previousShaResponsePhrase"] = ""
	if _, err := parse(merchantDoc(f)); err != nil {
		t.Errorf("empty previous phrase: %v", err)
	}
}

// TestMerchantParserFactsVectors checks the APS test vectors (facts §3) through the secret parser.
func TestMerchantParserFactsVectors(t *testing.T) {
	m, err := MerchantParser(apssignature.SHA256)([]byte(`{"shaResponsePhrase":"PASS","merchantIdentifier":"MxvOupuG","accessCode":"SILgpo7pWbmzuURp2qri"}`))
	if err != nil {
		t.Fatal(err)
	}
	vectors := []struct {
		body string
		sig  string
	}{
		{"access_code=SILgpo7pWbmzuURp2qri&amount=1000&command=PURCHASE&currency=USD&customer_email=test%40gmail.com&language=en&merchant_identifier=MxvOupuG&merchant_reference=Test010",
			"94c38afc7bdae0114fc8c740edf12416f22998241ce4b4ea70d5521233a2c882"},
		{"access_code=SILgpo7pWbmzuURp2qri&language=en&merchant_identifier=MxvOupuG&merchant_reference=MyReference0001&service_command=TOKENIZATION",
			"7ee560ccd621da61bfc772f2f1b5849babda768f5ee36d4de67efa88403e4b99"},
	}
	for _, v := range vectors {
		for _, sig := range []string{v.sig, strings.ToUpper(v.sig)} {
			p, err := ParseParams(MediaForm, []byte(v.body+"&signature="+sig))
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Sets[0].Verifier.Verify(p); err != nil {
				t.Errorf("vector %s: Verify = %v", sig[:8], err)
			}
			if !m.Sets[0].Owns(p) {
				t.Errorf("vector %s: Owns = false", sig[:8])
			}
		}
	}
}

func TestMerchantParserRejects(t *testing.T) {
	secrets := []string{testPhrase, testPrevPhrase, testIdentifier, testAccessCode, "SECRET"}
	cases := []struct {
		name    string
		doc     []byte
		mention string // the error names this field
	}{
		{"missing shaResponsePhrase", without("shaResponsePhrase"), "shaResponsePhrase"},
		{"empty shaResponsePhrase", withValue("shaResponsePhrase", ""), "shaResponsePhrase"},
		{"only previous phrase", without("shaResponsePhrase"), "shaResponsePhrase"},
		{"missing merchantIdentifier", without("merchantIdentifier"), "merchantIdentifier"},
		{"empty merchantIdentifier", withValue("merchantIdentifier", ""), "merchantIdentifier"},
		{"missing accessCode", without("accessCode"), "accessCode"},
		{"empty accessCode", withValue("accessCode", ""), "accessCode"},
		{"not JSON", []byte("shaResponsePhrase=" + testPhrase), ""},
		{"truncated JSON", merchantDoc(fullMerchantFields())[:40], ""},
		{"JSON array", []byte(`["` + testPhrase + `"]`), ""},
		{"wrong type", []byte(`{"shaResponsePhrase":["` + testPhrase + `"],"merchantIdentifier":"` + testIdentifier + `","accessCode":"` + testAccessCode + `"}`), ""},
		{"empty document", []byte(``), ""},
		{"empty object", []byte(`{}`), "shaResponsePhrase"},
		{"null", []byte(`null`), "shaResponsePhrase"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := MerchantParser(apssignature.SHA256)(tc.doc)
			if err == nil {
				t.Fatalf("parse accepted: %+v", m)
			}
			if m.Sets != nil {
				t.Errorf("non-zero Merchant alongside error: %+v", m)
			}
			msg := err.Error()
			for _, s := range secrets {
				if strings.Contains(msg, s) {
					t.Errorf("error %q quotes a secret value", msg)
				}
			}
			if tc.mention != "" && !strings.Contains(msg, tc.mention) {
				t.Errorf("error %q does not name %s", msg, tc.mention)
			}
		})
	}
}

func without(field string) []byte {
	f := fullMerchantFields()
	delete(f, field)
	return merchantDoc(f)
}

func withValue(field, value string) []byte {
	f := fullMerchantFields()
	f[field] = value
	return merchantDoc(f)
}

func TestMerchantOwns(t *testing.T) {
	m := PhraseSet{Identifier: "MxvOupuG", AccessCode: "SILgpo7pWbmzuURp2qri"}
	cases := []struct {
		name string
		p    map[string]string
		want bool
	}{
		{"both match", map[string]string{"merchant_identifier": "MxvOupuG", "access_code": "SILgpo7pWbmzuURp2qri"}, true},
		{"both match with other params", map[string]string{"merchant_identifier": "MxvOupuG", "access_code": "SILgpo7pWbmzuURp2qri", "status": "14"}, true},
		{"identifier differs", map[string]string{"merchant_identifier": "MxvOupuH", "access_code": "SILgpo7pWbmzuURp2qri"}, false},
		{"access code differs", map[string]string{"merchant_identifier": "MxvOupuG", "access_code": "SILgpo7pWbmzuURp2qrj"}, false},
		{"both differ", map[string]string{"merchant_identifier": "x", "access_code": "y"}, false},
		{"swapped", map[string]string{"merchant_identifier": "SILgpo7pWbmzuURp2qri", "access_code": "MxvOupuG"}, false},
		{"identifier case", map[string]string{"merchant_identifier": "mxvoupug", "access_code": "SILgpo7pWbmzuURp2qri"}, false},
		{"identifier prefix", map[string]string{"merchant_identifier": "MxvOup", "access_code": "SILgpo7pWbmzuURp2qri"}, false},
		{"access code with space", map[string]string{"merchant_identifier": "MxvOupuG", "access_code": "SILgpo7pWbmzuURp2qri "}, false},
		{"identifier missing", map[string]string{"access_code": "SILgpo7pWbmzuURp2qri"}, false},
		{"access code missing", map[string]string{"merchant_identifier": "MxvOupuG"}, false},
		{"empty", map[string]string{}, false},
		{"nil", nil, false},
	}
	for _, tc := range cases {
		if got := m.Owns(tc.p); got != tc.want {
			t.Errorf("%s: Owns(%q) = %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
	// An unconfigured merchant owns only messages with empty identity fields; the parser never
	// produces one, and Validate rejects such messages.
	if !(PhraseSet{}).Owns(map[string]string{}) {
		t.Error("zero PhraseSet: Owns(empty) = false; same() should treat two empty strings as equal")
	}
}

// nParams is {"p000": "v0", ...}.
func nParams(n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m[fmt.Sprintf("p%03d", i)] = "v" + strconv.Itoa(i)
	}
	return m
}

func jsonObject(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"p%03d":"v%d"`, i, i)
	}
	b.WriteString("}")
	return b.String()
}

func formBody(n int) string {
	v := url.Values{}
	for k, val := range nParams(n) {
		v.Set(k, val)
	}
	return v.Encode()
}

// realisticParams is a 20-field Transaction Feedback message as APS sends it.
func realisticParams() map[string]string {
	return map[string]string{
		"access_code":         "SILgpo7pWbmzuURp2qri",
		"amount":              "125050",
		"authorization_code":  "743221",
		"card_holder_name":    "Benchmark Holder",
		"card_number":         "411111******1111",
		"command":             "PURCHASE",
		"currency":            "SAR",
		"customer_email":      "bench@example.org",
		"customer_ip":         "192.0.2.17",
		"eci":                 "ECOMMERCE",
		"expiry_date":         "2812",
		"fort_id":             "169996200000012345",
		"language":            "ar",
		"merchant_identifier": "MxvOupuG",
		"merchant_reference":  "ORDER-2025-000123",
		"payment_option":      "VISA",
		"response_code":       "14000",
		"response_message":    "عملية ناجحة",
		"signature":           "94c38afc7bdae0114fc8c740edf12416f22998241ce4b4ea70d5521233a2c882",
		"status":              "14",
	}
}

func realisticJSON() []byte {
	var b strings.Builder
	b.WriteString("{")
	first := true
	for k, v := range realisticParams() {
		if !first {
			b.WriteString(",")
		}
		first = false
		if k == "amount" {
			fmt.Fprintf(&b, "%q:%s", k, v) // APS's JSON sends amount as a number
			continue
		}
		fmt.Fprintf(&b, "%q:%q", k, v)
	}
	b.WriteString("}")
	return []byte(b.String())
}

func realisticForm() []byte {
	v := url.Values{}
	for k, val := range realisticParams() {
		v.Set(k, val)
	}
	return []byte(v.Encode())
}

func TestRealisticBodies(t *testing.T) {
	want := realisticParams()
	for mt, body := range map[string][]byte{MediaJSON: realisticJSON(), MediaForm: realisticForm()} {
		got, err := ParseParams(mt, body)
		if err != nil {
			t.Fatalf("%s: %v", mt, err)
		}
		if !maps.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", mt, got, want)
		}
		if len(got) != 20 {
			t.Errorf("%s: %d params, want 20", mt, len(got))
		}
		if err := Validate(got); err != nil {
			t.Errorf("%s: Validate: %v", mt, err)
		}
	}
}

func BenchmarkParseParamsJSON(b *testing.B) {
	body := realisticJSON()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseParams(MediaJSON, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseParamsForm(b *testing.B) {
	body := realisticForm()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseParams(MediaForm, body); err != nil {
			b.Fatal(err)
		}
	}
}

// rotatingSource is a merchant secret that was rotated since the cache last read it.
type rotatingSource struct{ old, current Merchant }

func (s *rotatingSource) Get(context.Context) (Merchant, error) { return s.old, nil }
func (s *rotatingSource) Refresh(context.Context) (Merchant, bool, error) {
	return s.current, true, nil
}

func TestSignatureWithAPhraseRotatedInSinceTheLastFetch(t *testing.T) {
	parse := MerchantParser(apssignature.SHA256)
	old, err := parse([]byte(`{"shaResponsePhrase":"old","merchantIdentifier":"M","accessCode":"A"}`))
	if err != nil {
		t.Fatal(err)
	}
	current, _ := parse([]byte(`{"shaResponsePhrase":"new","previousShaResponsePhrase":"old","merchantIdentifier":"M","accessCode":"A"}`))
	signer, _ := apssignature.NewSigner(apssignature.SHA256, "new")
	p := map[string]string{"merchant_identifier": "M", "access_code": "A", "status": "14", "response_code": "14000", "merchant_reference": "R"}
	p["signature"] = signer.Sign(p)
	body, _ := json.Marshal(p)
	req := events.APIGatewayV2HTTPRequest{RouteKey: "POST /aps/transaction-feedback", Headers: map[string]string{"content-type": "application/json"}, Body: string(body)}
	h := pipeline.New(Webhook, &Steps{Merchant: &rotatingSource{old: old, current: current}}, pipeline.Deps{
		Quarantine:   &quarantine.Keeper{},
		Once:         onceFunc(func(ctx context.Context, work func(context.Context) error) error { return work(ctx) }),
		Events:       publishFunc(func(context.Context, []eventbus.Event) error { return nil }),
		MaxBodyBytes: DefaultMaxBodyBytes,
		Log:          slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	resp, _ := h.Handle(context.Background(), req)
	if resp.StatusCode != 200 {
		t.Fatalf("got %d %s: a message signed with the newly rotated phrase must be accepted", resp.StatusCode, resp.Body)
	}
}

type onceFunc func(context.Context, func(context.Context) error) error

func (f onceFunc) DoAll(ctx context.Context, _ []idempotency.Claim, _ []idempotency.Write, _ time.Time, work func(context.Context) error) error {
	return f(ctx, work)
}

type publishFunc func(context.Context, []eventbus.Event) error

func (f publishFunc) Publish(ctx context.Context, evs []eventbus.Event) error { return f(ctx, evs) }
