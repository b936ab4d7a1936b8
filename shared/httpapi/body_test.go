package httpapi

import (
	"encoding/json"
	"math"
	"testing"
)

// TestIssue13_BodiesAsJSONMarshal: the bodies written by hand are json.Marshal's, and the rest
// still goes through it.
func TestIssue13_BodiesAsJSONMarshal(t *testing.T) {
	for name, v := range map[string]any{
		"error body":               ErrorBody{Error: "invalid_payload", Message: `detail.x: "<bad>" & worse`, Field: "detail[1].é"},
		"error body without field": ErrorBody{Error: "unauthorized", Message: "no"},
		"empty error body":         ErrorBody{},
		"ids":                      map[string]any{"status": "accepted", "deliveryId": "d\u2028\xff", "events": 3, "n": -1, "ok": true},
		"empty map":                map[string]any{},
		"nil map":                  map[string]any(nil),
		"many keys":                map[string]any{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6", "g": "7", "h": "8", "i": "9", "j": "10"},
		"nested (fallback)":        map[string]any{"status": "accepted", "ids": []string{"a"}, "f": 1.5},
		"nil":                      nil,
		"struct (fallback)":        struct{ A string }{"<"},
	} {
		t.Run(name, func(t *testing.T) {
			want, werr := json.Marshal(v)
			got, gerr := marshalBody(v)
			if (werr != nil) != (gerr != nil) || string(got) != string(want) {
				t.Errorf("got %s, %v; want %s, %v", got, gerr, want, werr)
			}
		})
	}
	if _, err := marshalBody(map[string]any{"x": math.NaN()}); err == nil {
		t.Error("a value json.Marshal refuses was encoded")
	}
}

// FuzzAnswerBody: error bodies and flat maps are encoded as json.Marshal encodes them.
func FuzzAnswerBody(f *testing.F) {
	f.Add("invalid_payload", "bad <x> & \"y\"", "detail[0]", "id", 3, true)
	f.Add("", "\xff\u2028\x00", "", "", -1, false)
	f.Fuzz(func(t *testing.T, code, message, field, key string, n int, flag bool) {
		for _, v := range []any{
			ErrorBody{Error: code, Message: message, Field: field},
			map[string]any{key: message, "status": code, field: n, key + "?": flag},
		} {
			want, werr := json.Marshal(v)
			got, gerr := marshalBody(v)
			if werr != nil || gerr != nil || string(got) != string(want) {
				t.Fatalf("got %s, %v; want %s, %v", got, gerr, want, werr)
			}
		}
	})
}
