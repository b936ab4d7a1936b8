package pipeline

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// encoded is Invoke's encoding before issue 13: a json.Encoder without HTML escaping.
func encoded(t *testing.T, resp events.APIGatewayV2HTTPResponse) string {
	t.Helper()
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(resp); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestIssue13_ResponseEncodingUnchanged(t *testing.T) {
	tests := []struct {
		name string
		resp events.APIGatewayV2HTTPResponse
	}{
		{"zero", events.APIGatewayV2HTTPResponse{}},
		{"an answer", events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "Retry-After": "10"}, Body: `{"status":"accepted","id":"<a&b>"}`}},
		{"empty maps and slices", events.APIGatewayV2HTTPResponse{StatusCode: 503, Headers: map[string]string{}, MultiValueHeaders: map[string][]string{}, Cookies: []string{}}},
		{"everything", events.APIGatewayV2HTTPResponse{
			StatusCode: -1, Headers: map[string]string{"b": "2", "a": "1\n\u2028", "é": "\xff"},
			MultiValueHeaders: map[string][]string{"x": {"1", "<2>"}, "n": nil, "": {""}},
			Body:              "line\r\n\t\"q\" \\ \x00 😀", IsBase64Encoded: true, Cookies: []string{"a=b", "c=\"d\""},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := string(appendResponse(nil, &tc.resp)), encoded(t, tc.resp); got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

// FuzzResponseEncoding: any response is encoded as the json.Encoder encoded it.
func FuzzResponseEncoding(f *testing.F) {
	f.Add(200, "Content-Type", "application/json", `{"status":"accepted"}`, "c=1", false)
	f.Add(503, "Retry-After", "<10>&", "\xff\u2028\x00", "", true)
	f.Fuzz(func(t *testing.T, status int, name, value, body, cookie string, base64 bool) {
		resp := events.APIGatewayV2HTTPResponse{
			StatusCode: status, Headers: map[string]string{name: value, "z" + name: body},
			MultiValueHeaders: map[string][]string{value: {name, cookie}}, Body: body, IsBase64Encoded: base64,
		}
		if cookie != "" {
			resp.Cookies = []string{cookie, value}
		}
		if got, want := string(appendResponse(nil, &resp)), encoded(t, resp); got != want {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	})
}
