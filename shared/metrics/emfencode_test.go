package metrics

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// marshalViaMap is how MarshalJSON encoded an object before issue 13: a map through json.Marshal.
func marshalViaMap(o Object) ([]byte, error) {
	root := make(map[string]any, len(o.Members)+1)
	for k, v := range o.Members {
		root[k] = v
	}
	root["_aws"] = awsMember{o.Timestamp.UnixMilli(), o.Directives}
	return json.Marshal(root)
}

// TestIssue13_EncodingUnchanged: the hand-written encoding writes the bytes the map encoding wrote.
func TestIssue13_EncodingUnchanged(t *testing.T) {
	d := &Delivery{}
	base := d.Object("shipping", time.UnixMilli(1764201600123), Answer{Status: 200, BodyStatus: "accepted"}, 1234567*time.Nanosecond)
	odd := base
	odd.Members = map[string]any{}
	for k, v := range base.Members {
		odd.Members[k] = v
	}
	for k, v := range map[string]any{
		"escaped <&> \"q\" \\ \n é": "value <&> \"q\" \\ \t é \u2028", "nil": nil, "int64": int64(math.MaxInt64),
		"neg": -3, "bool": true, "floats": []float64{0.1, 1e21, 1e-7, 3}, "float": 123456789.125, "tiny": 1e-9,
	} {
		odd.Members[k] = v
	}
	for name, o := range map[string]Object{"delivery": base, "odd members": odd} {
		t.Run(name, func(t *testing.T) {
			want, err := marshalViaMap(o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := o.appendJSON(nil)
			if err != nil || string(got) != string(want) {
				t.Fatalf("got  %s, %v\nwant %s", got, err, want)
			}
		})
	}
}

// FuzzEMFEncoding: for any string member and value, the encoding is the map encoding's.
func FuzzEMFEncoding(f *testing.F) {
	f.Add("reason", "bad <json> & \"quotes\"", 1.5)
	f.Add("\u2028key", "\xff\x00", math.Inf(1))
	f.Fuzz(func(t *testing.T, k, v string, x float64) {
		if k == "_aws" { // refused by Validate
			return
		}
		o := Object{Timestamp: time.UnixMilli(1), Members: map[string]any{k: v, k + "#f": x}}
		want, werr := marshalViaMap(o)
		got, gerr := o.appendJSON(nil)
		if (werr == nil) != (gerr == nil) || (werr == nil && string(got) != string(want)) {
			t.Fatalf("got %s, %v; want %s, %v", got, gerr, want, werr)
		}
	})
}
