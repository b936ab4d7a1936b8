package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
)

// answering is a LambdaHandler that answers resp whatever it is sent.
func answering(resp events.APIGatewayV2HTTPResponse) LambdaHandler {
	return func(context.Context, json.RawMessage) (events.APIGatewayV2HTTPResponse, error) { return resp, nil }
}

// asLambdaStart is what lambda.Start sends Lambda for a handler func answering resp: the encoding
// Invoke must keep.
func asLambdaStart(t testing.TB, resp events.APIGatewayV2HTTPResponse) []byte {
	t.Helper()
	out, err := lambda.NewHandler(func(context.Context, json.RawMessage) (events.APIGatewayV2HTTPResponse, error) { return resp, nil }).Invoke(context.Background(), []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// invokeAnswer checks what Invoke answers for resp: what lambda.Start sends for a handler func's
// same answer, byte for byte, decoding back to resp when resp is valid UTF-8.
func invokeAnswer(t testing.TB, resp events.APIGatewayV2HTTPResponse) []byte {
	t.Helper()
	got, err := answering(resp).Invoke(context.Background(), []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if want := asLambdaStart(t, resp); !bytes.Equal(got, want) {
		t.Fatalf("Invoke answered\n%s\nlambda.Start sends\n%s", got, want)
	}
	var back events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	if validUTF8(resp) && !reflect.DeepEqual(back, resp) {
		t.Fatalf("the answer decodes to %+v, want %+v", back, resp)
	}
	return got
}

// validUTF8: every string of resp is valid UTF-8, so that its JSON decodes back to it.
func validUTF8(resp events.APIGatewayV2HTTPResponse) bool {
	ss := append([]string{resp.Body}, resp.Cookies...)
	for k, v := range resp.Headers {
		ss = append(ss, k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		ss = append(append(ss, k), vs...)
	}
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

func TestInvokeAnswersAsLambdaStartEncodesAHandlerFunc(t *testing.T) {
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
		t.Run(tc.name, func(t *testing.T) { invokeAnswer(t, tc.resp) })
	}
}

// The answer as Invoke wrote it when it was encoded by hand: HTML characters as they are, keys
// sorted, nil maps and slices null; without the newline the hand encoder (and the json.Encoder
// before it, since 0341cce) ended it with, which lambda.Start never sent.
func TestInvokeAnswerIsTheJSONItAlwaysWas(t *testing.T) {
	got := invokeAnswer(t, events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"}, Body: `{"status":"accepted","id":"<a&b>"}`})
	want := "{\"statusCode\":200,\"headers\":{\"Cache-Control\":\"no-store\",\"Content-Type\":\"application/json\"},\"multiValueHeaders\":null,\"body\":\"{\\\"status\\\":\\\"accepted\\\",\\\"id\\\":\\\"<a&b>\\\"}\",\"cookies\":null}"
	if string(got) != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestInvokePassesABatchAnswerThroughAsItIs(t *testing.T) {
	body := `{"batchItemFailures":[{"itemIdentifier":"<m&1>"}]}`
	got, err := answering(events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"content-type": batchResponseType}, Body: body}).Invoke(context.Background(), []byte("{}"))
	if err != nil || string(got) != body {
		t.Errorf("got %q, %v; want the batch response %q as it is", got, err, body)
	}
}

// FuzzResponseEncoding: whatever the response, Invoke answers what lambda.Start sends for a
// handler func's same answer, and it decodes back to the response.
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
		if resp.Headers["content-type"] == batchResponseType { // passed through, tested above
			return
		}
		invokeAnswer(t, resp)
	})
}

// BenchmarkInvokeAnswer: Invoke encoding a typical answer (security headers, an ids body).
func BenchmarkInvokeAnswer(b *testing.B) {
	resp := httpapi.ReplyJSON(200, map[string]any{"status": "accepted", "deliveryId": "amzn-shipping-0123456789", "events": 2}, "accepted", "").APIGatewayV2HTTPResponse
	h := answering(resp)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Invoke(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
}
