package aps

import (
	"maps"
	"reflect"
	"testing"
)

// TestIssue13_JSONFastPathMatchesTokens: the one-Unmarshal reading of a JSON body gives what the
// token-by-token reading gives, and steps aside for every body that one refuses.
func TestIssue13_JSONFastPathMatchesTokens(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		fastOK bool
	}{
		{"realistic", string(realisticJSON()), true},
		{"numbers and null keep their text", `{"amount":1000,"ok":true,"n":null,"f":1.50}`, true},
		{"escaped string", `{"a":"x\"y\u00e9\\","b":"plain"}`, true},
		{"nested string holding a comma", `{"a":"1,2","b":"{[,]}"}`, true},
		{"repeated name", `{"a":"1","a":"2"}`, false},
		{"repeated name, escaped", `{"a":"1","\u0061":"2"}`, false},
		{"empty object", `{}`, true},
		{"null", `null`, false},
		{"array", `["a"]`, false},
		{"object value", `{"a":{"b":"c"}}`, false},
		{"empty name", `{"":"1"}`, false},
		{"trailing data", `{"a":"1"} x`, false},
		{"whitespace around", " \n{ \"a\" : \"1\" ,\t\"b\":2 }\r\n", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fast, ok := jsonParamsFast([]byte(tc.body))
			if ok != tc.fastOK {
				t.Fatalf("fast path ok = %v, want %v", ok, tc.fastOK)
			}
			assertSameAsTokens(t, []byte(tc.body))
			if ok && !maps.Equal(fast, mustTokens(t, tc.body)) {
				t.Fatalf("fast %q", fast)
			}
		})
	}
}

func mustTokens(t *testing.T, body string) map[string]string {
	t.Helper()
	p, err := jsonParamsTokens([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func assertSameAsTokens(t *testing.T, body []byte) {
	t.Helper()
	got, gotErr := jsonParams(body)
	want, wantErr := jsonParamsTokens(body)
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
		t.Fatalf("body %q:\n got %q, %v\nwant %q, %v", body, got, gotErr, want, wantErr)
	}
	if fast, ok := jsonParamsFast(body); ok && (wantErr != nil || !maps.Equal(fast, want)) {
		t.Fatalf("body %q: fast path %q, token path %q, %v", body, fast, want, wantErr)
	}
}

// FuzzJSONParamsFastPath: for any body, jsonParams (fast path first) answers exactly what the
// token-by-token reading answers.
func FuzzJSONParamsFastPath(f *testing.F) {
	f.Add(realisticJSON())
	f.Add([]byte(`{"a":"1","\u0061":"2"}`))
	f.Add([]byte(`{"a":"x\"y","b":[1,{"c":","}],"d":null}`))
	f.Add([]byte(`{"amount":1.50e3,"ok":true}`))
	f.Fuzz(func(t *testing.T, body []byte) { assertSameAsTokens(t, body) })
}
