package jsonobject

import (
	"bytes"
	"encoding/json"
	"maps"
	"testing"
	"unicode/utf8"
)

func TestIssue13_Members(t *testing.T) {
	tests := []struct {
		name, body string
		want       map[string]string // nil: not ok
	}{
		{"flat", `{"a":"1","b":2}`, map[string]string{"a": `"1"`, "b": "2"}},
		{"empty", ` {} `, map[string]string{}},
		{"nested commas and braces", `{"a":"1,}{","b":[1,{"c":","}],"d":{"e":[]}}`, map[string]string{"a": `"1,}{"`, "b": `[1,{"c":","}]`, "d": `{"e":[]}`}},
		{"escaped quote before comma", `{"a":"x\",","b":null}`, map[string]string{"a": `"x\","`, "b": "null"}},
		{"repeated name", `{"a":"1","a":"2"}`, nil},
		{"repeated name, escaped", `{"a":"1","\u0061":"2"}`, nil},
		{"null", `null`, nil},
		{"array", `[1]`, nil},
		{"trailing data", `{"a":1}{}`, nil},
		{"invalid", `{"a":}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Members([]byte(tc.body))
			if ok != (tc.want != nil) {
				t.Fatalf("ok = %v", ok)
			}
			text := map[string]string{}
			for k, v := range got {
				text[k] = string(v)
			}
			if ok && !maps.Equal(text, tc.want) {
				t.Fatalf("got %q, want %q", text, tc.want)
			}
		})
	}
}

func TestIssue13_String(t *testing.T) {
	for _, raw := range []string{`"plain"`, `"esc\"aped\u00e9\n"`, `""`, "\"\x89 invalid UTF-8\""} {
		var want string
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatal(err)
		}
		if got, ok := String(json.RawMessage(raw)); !ok || got != want {
			t.Errorf("%s: got %q, %v; want %q", raw, got, ok, want)
		}
	}
	if _, ok := String(json.RawMessage(`1`)); ok {
		t.Error("a number read as a string")
	}
}

// FuzzMembers: Members agrees with json.Unmarshal and a token-by-token reading of the object on
// whether it is valid, what it holds and whether a name repeats; it declines only objects with a
// repeated, escaped or invalid-UTF-8 name (or nested deeper than maxDepth).
func FuzzMembers(f *testing.F) {
	f.Add([]byte(`{"a":"1","b":[1,{"c":","}],"d":null}`))
	f.Add([]byte(`{"a":"1","\u0061":"2"}`))
	f.Add([]byte(`{"a":"x\",","b":{}}`))
	f.Add([]byte(` {"n":-0.5e+3,"t":true,"f":false,"s":"\ud83d\ude00"} `))
	f.Add([]byte(`{"a":01}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := Members(body)
		var all map[string]json.RawMessage
		if json.Unmarshal(body, &all) != nil || all == nil {
			if ok {
				t.Fatalf("%q accepted", body)
			}
			return
		}
		// The object is valid: read it token by token.
		dec := json.NewDecoder(bytes.NewReader(body))
		_, _ = dec.Token()
		seen, declinable := map[string]bool{}, false
		for dec.More() {
			off := dec.InputOffset()
			tok, _ := dec.Token()
			var v json.RawMessage
			_ = dec.Decode(&v)
			k := tok.(string)
			name := bytes.TrimLeft(body[off:], " \t\r\n,")
			name = name[:bytes.IndexByte(name[1:], '"')+2] // up to the first quote: escaped or not
			declinable = declinable || seen[k] || bytes.IndexByte(name, '\\') >= 0 || !utf8.Valid(name)
			seen[k] = true
		}
		if !ok {
			if !declinable && !bytes.Contains(body, bytes.Repeat([]byte("["), maxDepth/2)) && !bytes.Contains(body, bytes.Repeat([]byte("{"), maxDepth/2)) {
				t.Fatalf("%q declined", body)
			}
			return
		}
		if declinable {
			t.Fatalf("%q: accepted with a repeated or escaped name", body)
		}
		if len(got) != len(all) {
			t.Fatalf("%q: %d members, json.Unmarshal %d", body, len(got), len(all))
		}
		for k, v := range all {
			if !bytes.Equal(got[k], v) {
				t.Fatalf("%q: %s is %q, json.Unmarshal %q", body, k, got[k], v)
			}
		}
	})
}

// FuzzElements: Elements agrees with json.Unmarshal into []json.RawMessage.
func FuzzElements(f *testing.F) {
	f.Add([]byte(`[1,{"c":","},"x\"]",[],null]`))
	f.Add([]byte(` [] `))
	f.Add([]byte(`[1,]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := Elements(body)
		var want []json.RawMessage
		if json.Unmarshal(body, &want) != nil || want == nil {
			if ok {
				t.Fatalf("%q accepted", body)
			}
			return
		}
		if !ok {
			if !bytes.Contains(body, bytes.Repeat([]byte("["), maxDepth/2)) && !bytes.Contains(body, bytes.Repeat([]byte("{"), maxDepth/2)) {
				t.Fatalf("%q declined", body)
			}
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d elements, json.Unmarshal %d", body, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%q: [%d] is %q, json.Unmarshal %q", body, i, got[i], want[i])
			}
		}
	})
}

// FuzzString: String reads exactly what json.Unmarshal reads into a string, and accepts exactly
// the JSON strings.
func FuzzString(f *testing.F) {
	for _, s := range []string{`"plain"`, `"esc\"aped\u00e9\n"`, `""`, "\"\x89 invalid\"", `"\ud83d\ude00 \ud83d x \udc00\ud800\u0041"`, `"\'"`, `1`, `"a" `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := String(raw)
		var want string
		valid := len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &want) == nil && raw[len(raw)-1] == '"'
		if ok != valid {
			t.Fatalf("%q: ok %v, json.Unmarshal %v", raw, ok, valid)
		}
		if ok && got != want {
			t.Fatalf("%q: %q, json.Unmarshal %q", raw, got, want)
		}
	})
}
