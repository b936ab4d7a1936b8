package pipeline

import (
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
)

// Rejection is a delivery refused for a stated reason. Before authentication it is the answer;
// after, it is why the delivery is quarantined (answered 202). It is rendered once, by Response.
type Rejection struct {
	Status  int
	Code    string // the body's "error"
	Message string
	Field   string // the offending field, if one is to blame
	Header  map[string]string
	// metricCode, when set, is the code the answer's metrics see instead of Code (AuthUnavailable).
	metricCode string
}

func (r *Rejection) Error() string { return r.Message }

// Response is r as the HTTP answer: an httpapi.ErrorBody with r's headers.
func (r *Rejection) Response() events.APIGatewayV2HTTPResponse {
	return r.reply().APIGatewayV2HTTPResponse
}

func (r *Rejection) reply() httpapi.Reply {
	code := r.Code
	if r.metricCode != "" {
		code = r.metricCode
	}
	resp := httpapi.ReplyJSON(r.Status, httpapi.ErrorBody{Error: r.Code, Message: r.Message, Field: r.Field}, "", code)
	for name, v := range r.Header {
		resp.Headers[name] = v
	}
	return resp
}

// reason is r as a quarantine record states it.
func (r *Rejection) reason() quarantine.Reason {
	return quarantine.Reason{Error: r.Code, Message: r.Message, Field: r.Field}
}

// Reject is a rejection with status, error code and message.
func Reject(status int, code, message string) *Rejection {
	return &Rejection{Status: status, Code: code, Message: message}
}

// Invalid is a 400 invalid_payload naming field.
func Invalid(field, message string) *Rejection {
	return &Rejection{Status: 400, Code: "invalid_payload", Message: message, Field: field}
}

// RetryLater is a 503 with Retry-After, as httpapi.RetryLater answers: a retry can succeed.
func RetryLater(message string) *Rejection {
	return &Rejection{Status: 503, Code: "temporarily_unavailable", Message: message, Header: map[string]string{"Retry-After": "10"}}
}

// AuthUnavailable is the answer when authentication could not complete for err, no fault of the
// sender's: RetryLater(message). When err is a secret that could not be read
// (secrets.ErrUnavailable), the sender sees the same answer, but it is counted under
// metrics.AuthUnavailable, outside the 5xx alarm, and logged at WARN (the cache logged the failed
// read at ERROR, once per secrets.FailedReadFloor).
func AuthUnavailable(err error, message string) *Rejection {
	r := RetryLater(message)
	if errors.Is(err, secrets.ErrUnavailable) {
		r.metricCode = metrics.CodeAuthUnavailable
	}
	return r
}

// FieldError is a value of a delivery that breaks a rule; Field is its path ("detail[1].trackingId").
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Fieldf is a *FieldError whose problem is formatted.
func Fieldf(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}
