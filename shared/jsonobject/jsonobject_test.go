package jsonobject

import (
	"bytes"
	"encoding/json"
	"maps"
	"testing"
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

// FuzzMembers: Members agrees with a token-by-token reading of the object on what it holds and
// on whether a name repeats.
func FuzzMembers(f *testing.F) {
	f.Add([]byte(`{"a":"1","b":[1,{"c":","}],"d":null}`))
	f.Add([]byte(`{"a":"1","\u0061":"2"}`))
	f.Add([]byte(`{"a":"x\",","b":{}}`))
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
		seen, repeated := map[string]bool{}, false
		for dec.More() {
			tok, _ := dec.Token()
			var v json.RawMessage
			_ = dec.Decode(&v)
			k := tok.(string)
			repeated = repeated || seen[k]
			seen[k] = true
		}
		if ok == repeated {
			t.Fatalf("%q: ok %v, repeated %v", body, ok, repeated)
		}
		if ok && len(got) != len(seen) {
			t.Fatalf("%q: %d members, %d names", body, len(got), len(seen))
		}
	})
}
