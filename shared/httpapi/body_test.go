package httpapi

import (
	"math"
	"testing"
)

// The bodies as they were answered when written by hand (as json.Marshal writes them): keys
// sorted, '<', '>' and '&' escaped, invalid UTF-8 as \ufffd, U+2028 escaped.
func TestBodiesAreTheBytesTheyAlwaysWere(t *testing.T) {
	for name, tc := range map[string]struct {
		v    any
		want string
	}{
		"error body":               {ErrorBody{Error: "invalid_payload", Message: `detail.x: "<bad>" & worse`, Field: "detail[1].é"}, `{"error":"invalid_payload","message":"detail.x: \"\u003cbad\u003e\" \u0026 worse","field":"detail[1].é"}`},
		"error body without field": {ErrorBody{Error: "unauthorized", Message: "no"}, `{"error":"unauthorized","message":"no"}`},
		"empty error body":         {ErrorBody{}, `{"error":"","message":""}`},
		"ids":                      {map[string]any{"status": "accepted", "deliveryId": "d\u2028\xff", "events": 3, "n": -1, "ok": true}, `{"deliveryId":"d\u2028\ufffd","events":3,"n":-1,"ok":true,"status":"accepted"}`},
		"empty map":                {map[string]any{}, `{}`},
		"nil map":                  {map[string]any(nil), `null`},
		"nested":                   {map[string]any{"status": "accepted", "ids": []string{"a"}, "f": 1.5}, `{"f":1.5,"ids":["a"],"status":"accepted"}`},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := marshalBody(tc.v)
			if err != nil || string(got) != tc.want {
				t.Errorf("got %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestABodyThatCannotBeEncodedIsA500(t *testing.T) {
	r := ReplyJSON(200, map[string]any{"x": math.NaN()}, "accepted", "")
	if r.StatusCode != 500 || r.Body != `{"error":"internal_error","message":"response could not be encoded"}` || r.Code != "internal_error" {
		t.Errorf("got %d %s (code %q), want the 500 internal_error answer", r.StatusCode, r.Body, r.Code)
	}
}

// BenchmarkReplyBodies: the two bodies answered on every delivery, an error and a map of ids.
func BenchmarkReplyBodies(b *testing.B) {
	b.Run("error", func(b *testing.B) {
		for b.Loop() {
			ReplyError(400, "invalid_payload", `detail.x: "bad" & worse`)
		}
	})
	b.Run("ids", func(b *testing.B) {
		for b.Loop() {
			ReplyJSON(200, map[string]any{"status": "accepted", "deliveryId": "amzn-shipping-0123456789", "events": 2}, "accepted", "")
		}
	})
}
