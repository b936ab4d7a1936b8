package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func TestHeaderIgnoresCase(t *testing.T) {
	req := &events.APIGatewayV2HTTPRequest{Headers: map[string]string{"x-api-key": "a", "Content-Type": "b"}}
	for name, want := range map[string]string{"X-API-KEY": "a", "x-api-key": "a", "content-type": "b", "missing": ""} {
		if got := Header(req, name); got != want {
			t.Errorf("Header(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestBody(t *testing.T) {
	raw := []byte("a=1&b=\x00\xff")
	tests := []struct {
		name    string
		req     events.APIGatewayV2HTTPRequest
		want    string
		wantErr bool
	}{
		{"plain", events.APIGatewayV2HTTPRequest{Body: `{"a":1}`}, `{"a":1}`, false},
		{"base64", events.APIGatewayV2HTTPRequest{Body: base64.StdEncoding.EncodeToString(raw), IsBase64Encoded: true}, string(raw), false},
		{"broken base64", events.APIGatewayV2HTTPRequest{Body: "!!", IsBase64Encoded: true}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Body(&tc.req)
			if (err != nil) != tc.wantErr || string(got) != tc.want {
				t.Fatalf("Body = %q, %v", got, err)
			}
			if err == nil && BodySize(&tc.req) < len(got) {
				t.Errorf("BodySize %d below the real size %d: the cap could be bypassed", BodySize(&tc.req), len(got))
			}
		})
	}
}

// BodySize is exact for base64 bodies, padding or not, so a body at the cap is not refused.
func TestBodySizeIsExact(t *testing.T) {
	for n := range 10 {
		body := strings.Repeat("x", n)
		req := events.APIGatewayV2HTTPRequest{Body: base64.StdEncoding.EncodeToString([]byte(body)), IsBase64Encoded: true}
		if got := BodySize(&req); got != n {
			t.Errorf("BodySize of %d bytes as base64 %q = %d", n, req.Body, got)
		}
	}
}

func TestMediaType(t *testing.T) {
	for ct, want := range map[string]string{
		"":                                "",
		"application/json":                "application/json",
		"Application/JSON; charset=utf-8": "application/json",
		"text/plain;charset=UTF-8":        "text/plain",
		"application/cloudevents+json":    "application/cloudevents+json",
		"garbage;;;":                      "garbage;;;",
	} {
		req := &events.APIGatewayV2HTTPRequest{Headers: map[string]string{"content-type": ct}}
		if got := MediaType(req); got != want {
			t.Errorf("MediaType(%q) = %q, want %q", ct, got, want)
		}
	}
	for mt, want := range map[string]bool{"application/json": true, "application/problem+json": true, "text/json": false, "application/jsonx": false} {
		if IsJSON(mt) != want {
			t.Errorf("IsJSON(%q) = %v", mt, !want)
		}
	}
}

func TestErrorResponses(t *testing.T) {
	resp := ReplyJSON(400, ErrorBody{Error: "invalid_payload", Message: "detail.trackingId: is required", Field: "detail.trackingId"}, "", "invalid_payload")
	var body ErrorBody
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 || body.Error != "invalid_payload" || body.Field != "detail.trackingId" {
		t.Errorf("got %d %+v", resp.StatusCode, body)
	}
	for _, h := range []string{"Content-Type", "Cache-Control", "X-Content-Type-Options", "Strict-Transport-Security"} {
		if resp.Headers[h] == "" {
			t.Errorf("security header %s missing", h)
		}
	}
	// Each answer owns its header map.
	a, b := ReplyError(401, "x", "y"), ReplyError(401, "x", "y")
	a.Headers["WWW-Authenticate"] = "Basic"
	if b.Headers["WWW-Authenticate"] != "" {
		t.Error("responses share a header map")
	}
}

// Answer hands handle a logger that carries the request's ids, and returns the answer with the
// request's id for the delivery's record; it logs nothing of its own, the record says how the
// delivery was answered.
func TestAnswerLogsNothingOfItsOwnAndNamesTheRequest(t *testing.T) {
	var logs strings.Builder
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	req := &events.APIGatewayV2HTTPRequest{}
	req.RequestContext.RequestID = "Jx1a2b3c4d5e6fA="
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "8f5c3a1e"})
	for _, status := range []int{200, 401, 503} {
		logs.Reset()
		resp := Answer(ctx, log, req, func(_ context.Context, log *slog.Logger, _ *events.APIGatewayV2HTTPRequest) Reply {
			log.Debug("worked")
			return ReplyError(status, "x", "y")
		})
		if resp.StatusCode != status || resp.RequestID != "Jx1a2b3c4d5e6fA=" {
			t.Errorf("answer %d, request id %q", resp.StatusCode, resp.RequestID)
		}
		want := `"msg":"worked","requestId":"Jx1a2b3c4d5e6fA=","awsRequestId":"8f5c3a1e"}` + "\n"
		if strings.Count(logs.String(), "\n") != 1 || !strings.HasSuffix(logs.String(), want) {
			t.Errorf("logged %q, want the handler's one line, ending %q", logs.String(), want)
		}
	}
}
