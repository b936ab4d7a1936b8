// Package httpapi holds the small pieces every webhook handler needs to read an API Gateway HTTP API
// (payload 2.0) request and to answer it: case-insensitive headers, base64 bodies, JSON error bodies.
package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// ErrBadEncoding reports a body flagged as base64 that does not decode.
var ErrBadEncoding = errors.New("body is not valid base64")

// Header returns the named header's value. API Gateway lowercases names in payload 2.0, but
// `sam local` and hand-written events may not, so the lookup ignores case.
func Header(req *events.APIGatewayV2HTTPRequest, name string) string {
	if v, ok := req.Headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// BodySize is the decoded size of the body, computed without decoding so that size caps run
// before any other work.
func BodySize(req *events.APIGatewayV2HTTPRequest) int {
	if req.IsBase64Encoded {
		// DecodedLen counts the "=" padding as data.
		return base64.StdEncoding.DecodedLen(len(req.Body)) - min(2, len(req.Body)-len(strings.TrimRight(req.Body, "=")))
	}
	return len(req.Body)
}

// Body returns the raw bytes the sender posted. Signatures and parsers work on these bytes.
func Body(req *events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if !req.IsBase64Encoded {
		return []byte(req.Body), nil
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, ErrBadEncoding
	}
	return b, nil
}

// MediaType returns the lowercased media type of the Content-Type header without parameters,
// or "" when the header is absent. A header that does not parse is returned as is, so callers
// reject it as unsupported.
func MediaType(req *events.APIGatewayV2HTTPRequest) string {
	ct := strings.TrimSpace(Header(req, "Content-Type"))
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(ct)
	}
	return mt
}

// IsJSON reports whether a media type is JSON (application/json or a +json suffix).
func IsJSON(mediaType string) bool {
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
}

// securityHeaders go on every answer: nothing here is for browsers, and nothing may be cached.
func securityHeaders() map[string]string {
	return map[string]string{
		"Content-Type":              "application/json",
		"Cache-Control":             "no-store",
		"X-Content-Type-Options":    "nosniff",
		"Strict-Transport-Security": "max-age=31536000",
		"Content-Security-Policy":   "default-src 'none'; frame-ancestors 'none'",
		"Referrer-Policy":           "no-referrer",
	}
}

// Reply is an answer with what its JSON body says in "status" and "error", kept from where the
// body is built: the delivery's metrics classify the answer by them without decoding it back.
type Reply struct {
	events.APIGatewayV2HTTPResponse
	BodyStatus string // the body's "status"
	Code       string // the body's "error", or metrics.CodeAuthUnavailable in place of it
	// Account is the label of the account that authenticated the delivery, for the delivery's
	// record ("" before authentication).
	Account string
	// RequestID is API Gateway's id of the request answered, for the delivery's record (Answer
	// sets it).
	RequestID string
}

// ReplyJSON answers with status and v encoded as JSON, with the security headers; bodyStatus and
// code are v's "status" and "error".
func ReplyJSON(status int, v any, bodyStatus, code string) Reply {
	body, err := marshalBody(v)
	if err != nil {
		status, body = 500, []byte(`{"error":"internal_error","message":"response could not be encoded"}`)
		bodyStatus, code = "", "internal_error"
	}
	return Reply{
		APIGatewayV2HTTPResponse: events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: securityHeaders(), Body: string(body)},
		BodyStatus:               bodyStatus, Code: code,
	}
}

// ErrorBody is the JSON body of every rejection.
type ErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// ReplyError answers with status and an ErrorBody.
func ReplyError(status int, code, message string) Reply {
	return ReplyJSON(status, ErrorBody{Error: code, Message: message}, "", code)
}

// ReplyRetryLater answers 503 with Retry-After: the sender's retry can succeed where this attempt
// did not.
func ReplyRetryLater(message string) Reply {
	r := ReplyError(503, "temporarily_unavailable", message)
	r.Headers["Retry-After"] = "10"
	return r
}

// AnswerReserve is kept back from the invocation's deadline: work that hangs (an AWS service not
// answering) is cut off in time for the function to answer 503 and release its idempotency claim
// before Lambda ends the invocation, which the sender would see as a bare gateway error.
const AnswerReserve = 500 * time.Millisecond

// Answer runs handle, within the invocation's deadline less AnswerReserve, with a logger that
// carries the request ids, and returns its answer with the request's id. Answer logs nothing of
// its own: the delivery's one record (metrics.Measure) says how it was answered.
func Answer(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest,
	handle func(context.Context, *slog.Logger, *events.APIGatewayV2HTTPRequest) Reply,
) Reply {
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-AnswerReserve))
		defer cancel()
	}
	// One With for both ids: each With copies the handler's preformatted attributes. Attrs, not
	// key-value pairs, so that nothing is boxed on the way.
	ids := []slog.Attr{slog.String("requestId", req.RequestContext.RequestID)}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		ids = append(ids, slog.String("awsRequestId", lc.AwsRequestID))
	}
	log = slog.New(log.Handler().WithAttrs(ids))
	resp := handle(ctx, log, req)
	resp.RequestID = req.RequestContext.RequestID
	return resp
}

// RejectEarly answers what every webhook route refuses before any other work: a method other than
// POST (405) and a body larger than limit (413, checked on the length, so before any hashing).
// rejected is false when the request may go on.
func RejectEarly(req *events.APIGatewayV2HTTPRequest, limit int) (resp Reply, rejected bool) {
	if m := req.RequestContext.HTTP.Method; m != "" && m != "POST" {
		resp = ReplyError(405, "method_not_allowed", "use POST")
		resp.Headers["Allow"] = "POST"
		return resp, true
	}
	if BodySize(req) > limit {
		return ReplyError(413, "payload_too_large", "body exceeds "+strconv.Itoa(limit)+" bytes"), true
	}
	return Reply{}, false
}
