package shipping

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

// strayTestCode is the code the tables plant; an error or a failure message must never show it.
const strayTestCode = "938492"

func TestAStrayCodeIsRemovedAtAnyDepthInAnyCase(t *testing.T) {
	tests := []struct {
		name     string
		entry    string
		want     string
		stripped int
	}{
		{"the only member", `{"verificationCode":"938492"}`, `{}`, 1},
		{"first of several", `{"verificationCode":"938492","trackingId":"TBA1","status":"InTransit"}`, `{"trackingId":"TBA1","status":"InTransit"}`, 1},
		{"in the middle", `{"trackingId":"TBA1","verificationCode":"938492","status":"InTransit"}`, `{"trackingId":"TBA1","status":"InTransit"}`, 1},
		{"last", `{"trackingId":"TBA1","verificationCode":938492}`, `{"trackingId":"TBA1"}`, 1},
		{"spaced out, first", "{ \"verificationCode\" : \"938492\" ,\n\t\"a\" : 1 }", "{\n\t\"a\" : 1 }", 1},
		{"spaced out, last", `{ "a" : 1 , "verificationCode" : "938492" }`, `{ "a" : 1 }`, 1},
		{"spaced out, alone", `{ "verificationCode" : "938492" }`, `{ }`, 1},
		{"PascalCase", `{"VerificationCode":"938492","a":1}`, `{"a":1}`, 1},
		{"upper case", `{"a":1,"VERIFICATIONCODE":"938492"}`, `{"a":1}`, 1},
		{"lower case", `{"a":1,"verificationcode":"938492","b":2}`, `{"a":1,"b":2}`, 1},
		{"name spelt with escapes", `{"verification\u0043ode":"938492","\u0076ERIFICATIONCODE":"938492","a":1}`, `{"a":1}`, 2},
		{"nested objects", `{"a":{"b":{"verificationCode":"938492"},"c":true}}`, `{"a":{"b":{},"c":true}}`, 1},
		{"objects inside arrays", `{"events":[{"verificationCode":"938492","x":1},[{"y":2,"VerificationCode":"938492"}]]}`, `{"events":[{"x":1},[{"y":2}]]}`, 2},
		{"an entry that is an array", `[{"verificationCode":"938492"},{"a":{"verificationCode":null}}]`, `[{},{"a":{}}]`, 2},
		{"several in one object", `{"verificationCode":"938492","a":1,"VERIFICATIONCODE":"938492","b":2,"verificationcode":3}`, `{"a":1,"b":2}`, 3},
		{"several leading", `{"verificationCode":"1", "VerificationCode":"2" , "a":1,"verificationcode":"3"}`, `{ "a":1}`, 3},
		{"at several depths", `{"verificationCode":"938492","d":{"verificationCode":"938492","e":[{"verificationCode":"938492"}]}}`, `{"d":{"e":[{}]}}`, 3},
		{"a code holding a code goes whole", `{"verificationCode":{"verificationCode":"938492","x":[1]},"a":1}`, `{"a":1}`, 1},
		{"a code of any type", `{"verificationCode":[1,{"z":"938492"}],"a":null}`, `{"a":null}`, 1},
		{"numbers kept as written", `{"verificationCode":"938492","a":1e3,"b":12345678901234567890,"c":-0.0,"d":1.50,"e":-1E-7}`, `{"a":1e3,"b":12345678901234567890,"c":-0.0,"d":1.50,"e":-1E-7}`, 1},
		{"string escapes kept as written", `{"d":"\u00e9\ud83d\ude00\"\/<&>","verificationCode":"938492","é":"\u2028"}`, `{"d":"\u00e9\ud83d\ude00\"\/<&>","é":"\u2028"}`, 1},
		{"names with a comma kept", `{"verificationCode":"938492" , "a,b":",","c":"}"}`, `{ "a,b":",","c":"}"}`, 1},
		{"look-alike names kept", `{"verificationCodeTTL":1,"verificationCode":"938492","otpVerificationCode":"x","verification_code":"y"}`, `{"verificationCodeTTL":1,"otpVerificationCode":"x","verification_code":"y"}`, 1},
		{"repeated name only inside the removed code", `{"a":{"verificationCode":1},"b":2}`, `{"a":{},"b":2}`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, n, err := stripCodes(json.RawMessage(tt.entry))
			if err != nil {
				t.Fatalf("stripCodes() error = %v", err)
			}
			if string(out) != tt.want || n != tt.stripped {
				t.Errorf("stripCodes() = %s, %d; want %s, %d", out, n, tt.want, tt.stripped)
			}
			if !json.Valid(out) {
				t.Errorf("stripCodes() output %s is not JSON", out)
			}
		})
	}
}

func TestAnEntryWithoutAStrayCodeComesBackByteForByte(t *testing.T) {
	tests := []struct{ name, entry string }{
		{"tracking entry", `{"trackingId":"TBA1","eventCode":"Delivered","status":"Delivered","eventTime":"2025-01-28T10:02:11Z"}`},
		{"PN Event of another eventCode", `{"trackingId":"TBA1","eventCode":"PIN_EXPIRED","verificationCodeTTL":1705190399000}`},
		{"numbers and spacing as written", "{ \"a\" : 1e3 ,\"b\":12345678901234567890,\n\"c\":-0.0, \"d\":[ 1.50 ,-1E-7 ] }"},
		{"escapes as written", `{"d":"\u00e9\ud83d\ude00\"\/<&>","\u0061":"\u2028"}`},
		{"the name as a value", `{"note":"verificationCode","list":["VERIFICATIONCODE",{"k":"verificationcode"}]}`},
		{"look-alike names", `{"verificationCodeTTL":1,"verificationCodes":[],"xverificationCode":"y","verification Code":1}`},
		{"the name spelt across an escape", `{"verification\nCode":1,"verification\/Code":2}`},
		{"repeated names", `{"a":1,"a":2,"b":{"c":1,"c":{"d":[{"e":1,"e":2}]}}}`},
		{"repeated names through escapes", `{"a":1,"\u0061":2}`},
		{"empty object", `{}`},
		{"not an object", `"verificationCode"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := json.RawMessage(tt.entry)
			out, n, err := stripCodes(in)
			if err != nil {
				t.Fatalf("stripCodes() error = %v", err)
			}
			if n != 0 || !bytes.Equal(out, in) {
				t.Fatalf("stripCodes() = %s, %d; want the entry unchanged, 0", out, n)
			}
			if len(in) > 0 && &out[0] != &in[0] {
				t.Error("stripCodes() copied an entry it had nothing to remove from")
			}
		})
	}
}

func TestAnEntryThatCannotBeRewrittenFaithfullyIsRefused(t *testing.T) {
	tests := []struct {
		name, entry string
		want        error
	}{
		{"repeated name beside the code", `{"a":1,"a":2,"verificationCode":"938492"}`, errRepeatedName},
		{"repeated name nested, code at the top", `{"x":{"y":[{"a":"938492","a":2}]},"verificationCode":"938492"}`, errRepeatedName},
		{"repeated name at the top, code nested", `{"a":1,"a":2,"x":[{"VerificationCode":"938492"}]}`, errRepeatedName},
		{"the code repeated", `{"verificationCode":"938492","verificationCode":"111111"}`, errRepeatedName},
		{"a code hidden by a repeat", `{"a":{"verificationCode":"938492"},"a":2}`, errRepeatedName},
		{"repeated through an escape", `{"a":1,"\u0061":2,"verificationCode":"938492"}`, errRepeatedName},
		{"repeat inside the code's value", `{"verificationCode":{"a":"938492","a":2}}`, errRepeatedName},
		{"trailing comma", `{"verificationCode":"938492",}`, errNotJSON},
		{"truncated", `{"verificationCode":"938492"`, errNotJSON},
		{"two values", `{"verificationCode":"938492"} {}`, errNotJSON},
		{"trailing garbage", `{"verificationCode":"938492"}x`, errNotJSON},
		{"missing colon", `{"verificationCode" "938492"}`, errNotJSON},
		{"bad escape in the code", `{"verificationCode":"938492\x"}`, errNotJSON},
		{"mismatched brackets", `{"verificationCode":["938492"}]`, errNotJSON},
		{"invalid without a code", `{"a":938492,}`, errNotJSON},
		{"empty", ``, errNotJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, n, err := stripCodes(json.RawMessage(tt.entry))
			if !errors.Is(err, tt.want) {
				t.Fatalf("stripCodes() = %d bytes, %d, %v; want error %v", len(out), n, err, tt.want)
			}
			if out != nil || n != 0 {
				t.Errorf("stripCodes() returned %d bytes and %d with its error", len(out), n)
			}
			if strings.Contains(err.Error(), strayTestCode) || strings.Contains(err.Error(), "111111") {
				t.Error("the error carries the code")
			}
		})
	}
}

// stripCodes skips the token walk for an entry whose text has neither the name in ASCII letters of
// any case nor a \u escape; that holds only while no other rune matches one of its letters in
// strings.EqualFold, which follows unicode.SimpleFold's orbits.
func TestOnlyASCIILettersSpellTheCodeNameInAnyCase(t *testing.T) {
	for _, letter := range strings.ToLower(strayCodeName) {
		for r := unicode.SimpleFold(letter); r != letter; r = unicode.SimpleFold(r) {
			if r != unicode.ToUpper(letter) {
				t.Errorf("%U folds to %q: a name spelt with it would pass the prefilter", r, letter)
			}
		}
	}
	for _, entry := range []string{`{"VERIFICATIONCODE":1}`, `{"verificationcode":1}`, `{"vErIfIcAtIoNcOdE":1}`} {
		if !mayHoldCode([]byte(entry)) {
			t.Errorf("mayHoldCode(%s) = false", entry)
		}
	}
}

// FuzzStrippedEntriesHoldNoCode: an entry comes back unchanged when it holds no code, is refused
// when it is not JSON or holds a code and repeats a name, and otherwise comes back as JSON without
// any code that means the entry without its codes. Seeds: testdata/fuzz/FuzzStrippedEntriesHoldNoCode.
func FuzzStrippedEntriesHoldNoCode(f *testing.F) {
	f.Fuzz(func(t *testing.T, entry []byte) {
		names, ok := strayTestNames(entry)
		hasCode, repeated := false, false
		for _, obj := range names {
			seen := map[string]bool{}
			for _, n := range obj {
				hasCode = hasCode || strings.EqualFold(n, "verificationCode")
				repeated = repeated || seen[n]
				seen[n] = true
			}
		}
		out, n, err := stripCodes(entry)
		switch {
		case !ok || !json.Valid(entry):
			if !errors.Is(err, errNotJSON) {
				t.Fatalf("invalid entry: stripCodes() = %d bytes, %d, %v; want errNotJSON", len(out), n, err)
			}
			return
		case hasCode && repeated:
			if !errors.Is(err, errRepeatedName) {
				t.Fatalf("code and a repeated name: stripCodes() = %d bytes, %d, %v; want errRepeatedName", len(out), n, err)
			}
			return
		case err != nil:
			t.Fatalf("stripCodes() error = %v", err)
		case !hasCode:
			if n != 0 || !bytes.Equal(out, entry) {
				t.Fatalf("no code: stripCodes() changed the entry (%d removed)", n)
			}
			return
		}
		if n == 0 {
			t.Fatal("stripCodes() removed nothing from an entry with a code")
		}
		if !json.Valid(out) {
			t.Fatal("stripCodes() output is not JSON")
		}
		outNames, ok := strayTestNames(out)
		if !ok {
			t.Fatal("stripCodes() output is not JSON")
		}
		for _, obj := range outNames {
			for _, name := range obj {
				if strings.EqualFold(name, "verificationCode") {
					t.Fatalf("stripCodes() output still has a %q member", name)
				}
			}
		}
		if got, want := strayTestDecode(t, out), dropStrayCodes(strayTestDecode(t, entry)); !reflect.DeepEqual(got, want) {
			t.Fatal("stripCodes() output does not mean the entry without its codes")
		}
	})
}

// strayTestNames lists the member names of each object in raw, in the order met, from a plain
// token walk (independent of stripCodes' own); ok is false when raw is not one JSON value.
func strayTestNames(raw []byte) (names [][]string, ok bool) {
	type frame struct {
		object   int // its index in names; -1 for an array
		nameNext bool
	}
	var stack []frame
	values := 0
	valueDone := func() {
		if len(stack) == 0 {
			values++
		} else if top := &stack[len(stack)-1]; top.object >= 0 {
			top.nameNext = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // a number beyond float64 (1e700) is valid JSON all the same
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return names, values == 1 && len(stack) == 0
		}
		if err != nil {
			return nil, false
		}
		if len(stack) > 0 && stack[len(stack)-1].nameNext {
			top := &stack[len(stack)-1]
			if tok == json.Delim('}') {
				stack = stack[:len(stack)-1]
				valueDone()
				continue
			}
			names[top.object] = append(names[top.object], tok.(string))
			top.nameNext = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: len(names), nameNext: true})
			names = append(names, nil)
		case json.Delim('['):
			stack = append(stack, frame{object: -1})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

func strayTestDecode(t *testing.T, raw []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	return v
}

// dropStrayCodes deletes the members named verificationCode, in any case, at any depth of v.
func dropStrayCodes(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if strings.EqualFold(k, "verificationCode") {
				delete(v, k)
				continue
			}
			v[k] = dropStrayCodes(e)
		}
	case []any:
		for i, e := range v {
			v[i] = dropStrayCodes(e)
		}
	}
	return v
}
