package safelist

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels for errors.Is. The API ones match an *APIError by its code (ErrServer by any 5xx),
// so callers branch on the kind of failure without parsing text.
var (
	// ErrInvalidEndpoint: the URL to safelist failed local validation; no request was made.
	ErrInvalidEndpoint = errors.New("safelist: invalid endpoint")
	// ErrInvalidCredentials: the credentials (secret JSON or New's argument) are incomplete.
	ErrInvalidCredentials = errors.New("safelist: invalid credentials")

	ErrInvalidArguments     = errors.New("safelist: InvalidArguments")
	ErrMerchantIDMismatch   = errors.New("safelist: MerchantIdMismatch")
	ErrAuthorizationExpired = errors.New("safelist: AuthorizationExpired")
	ErrAuthorizationFailed  = errors.New("safelist: AuthorizationFailed")
	ErrLimitExceeded        = errors.New("safelist: LimitExceeded")
	ErrIdentifierNotFound   = errors.New("safelist: IdentifierNotFound")
	// ErrServer: Amazon Pay failed (any 5xx, or code InternalServerError); the call may be retried.
	ErrServer = errors.New("safelist: Amazon Pay server error")
)

// The error codes of Amazon Pay's documented error table, with the sentinel each matches and what
// the operator should do about it.
var codes = map[string]struct {
	sentinel error
	hint     string
}{
	"InvalidArguments":     {ErrInvalidArguments, "fix the field Amazon Pay names"},
	"MerchantIdMismatch":   {ErrMerchantIDMismatch, "merchantId in the credentials secret must equal the merchant whose keys sign the request"},
	"AuthorizationExpired": {ErrAuthorizationExpired, "check the machine clock / x-amz-expires"},
	"AuthorizationFailed":  {ErrAuthorizationFailed, "check accessKeyId/secretKey and the Authorization separator"},
	"LimitExceeded":        {ErrLimitExceeded, "remove an old subscription with Amazon Pay support"},
	"IdentifierNotFound":   {ErrIdentifierNotFound, "check merchantId, and that the host (production or sandbox) is the one the merchant is registered on"},
	"InternalServerError":  {ErrServer, "retry later"},
}

// APIError is a non-2xx answer from Amazon Pay. Code and Message come from its JSON body
// {"code","message"}; both are empty when the body was not JSON. Message never holds the secret
// key or the request's signature: they are redacted should a server or proxy echo them.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "safelist: Amazon Pay answered %d", e.Status)
	switch {
	case e.Code != "":
		b.WriteString(" " + e.Code)
	case e.Message == "":
		b.WriteString(" without Amazon Pay's JSON error body")
	default:
		b.WriteString(" without an error code")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	b.WriteString(" (" + e.hint() + ")")
	return b.String()
}

func (e *APIError) hint() string {
	if c, ok := codes[e.Code]; ok {
		return c.hint
	}
	if e.Status >= 500 {
		return "retry later"
	}
	return "not in Amazon Pay's documented error table; see the status and message"
}

// Is reports whether target is the sentinel for this error's code, or ErrServer for any 5xx.
func (e *APIError) Is(target error) bool {
	if target == ErrServer && e.Status >= 500 {
		return true
	}
	c, ok := codes[e.Code]
	return ok && c.sentinel == target
}

// EndpointError is the local validation failure of the URL to safelist. Endpoint is the URL
// without its query and fragment, which may carry a token.
type EndpointError struct {
	Endpoint string
	Reason   string
}

func (e *EndpointError) Error() string {
	if e.Endpoint == "" {
		return "safelist: invalid endpoint: " + e.Reason
	}
	return fmt.Sprintf("safelist: invalid endpoint %q: %s", e.Endpoint, e.Reason)
}

func (e *EndpointError) Unwrap() error { return ErrInvalidEndpoint }
