package httpapi

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// samples are the repository's sample events: API Gateway payloads as Lambda delivers them.
func samples(tb testing.TB) map[string][]byte {
	tb.Helper()
	paths, err := filepath.Glob("../../events/*.json")
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no sample events: %v", err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		if filepath.Base(p) == "env.json" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

// TestIssue13_DecodeRequestReadsSamples: every sample event, shaped as API Gateway sends it, takes
// the fast path and reads as encoding/json reads it.
func TestIssue13_DecodeRequestReadsSamples(t *testing.T) {
	for name, payload := range samples(t) {
		t.Run(name, func(t *testing.T) {
			var got, want events.APIGatewayV2HTTPRequest
			if !DecodeRequest(payload, &got) {
				t.Fatal("declined")
			}
			if err := json.Unmarshal(payload, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestIssue13_DecodeRequestDeclines: what the fast path leaves to encoding/json.
func TestIssue13_DecodeRequestDeclines(t *testing.T) {
	for _, payload := range []string{
		`{"version":"2.0","Body":"x"}`,                 // a name encoding/json would match case-insensitively
		`{"body":"x","body":"y"}`,                      // repeated: encoding/json keeps the last
		`{"body":null}`,                                // null leaves the field as it is
		`{"quarantineReplay":{"key":"k"}}`,             // not API Gateway's
		`{"requestContext":{"authorizer":{"iam":{}}}}`, // not read by hand
		`{"requestContext":{"timeEpoch":1.5}}`,         // encoding/json fails on it
		`{"headers":{"a":1}}`,                          // not a string
		`{"isBase64Encoded":"true"}`,                   // not a bool
		`{"cookies":["a",null]}`,                       // null element
		`{"headers":{"a":"1"}} x`,                      // trailing data
		`[]`,                                           // not an object
	} {
		var req events.APIGatewayV2HTTPRequest
		if DecodeRequest([]byte(payload), &req) {
			t.Errorf("%s: decoded", payload)
		}
	}
}

// FuzzDecodeRequest: whatever DecodeRequest reads, encoding/json reads the same way.
func FuzzDecodeRequest(f *testing.F) {
	for _, payload := range samples(f) {
		f.Add(payload)
	}
	f.Add([]byte(`{"cookies":[],"headers":{},"body":"\u00e9\ud800","requestContext":{"timeEpoch":-0,"http":{}}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		var got, want events.APIGatewayV2HTTPRequest
		if !DecodeRequest(payload, &got) {
			return
		}
		if err := json.Unmarshal(payload, &want); err != nil {
			t.Fatalf("%q: decoded, but encoding/json fails: %v", payload, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\ngot  %+v\nwant %+v", payload, got, want)
		}
	})
}

// BenchmarkDecodeRequest compares DecodeRequest with json.Unmarshal on the sample events.
func BenchmarkDecodeRequest(b *testing.B) {
	payload := samples(b)["shipping-otp-api-key.json"]
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req events.APIGatewayV2HTTPRequest
			if !DecodeRequest(payload, &req) {
				b.Fatal("declined")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(payload, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
