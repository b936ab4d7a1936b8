// Package apigateway is a local stand-in for an API Gateway HTTP API in front of Lambda
// functions (what `sam local start-api` does, without Docker): an http.Handler that serves the
// HttpApi routes of a SAM template, turns each request into the payload 2.0 event API Gateway
// would send (events.APIGatewayV2HTTPRequest), hands it to an Invoker, and turns the function's
// answer into an HTTP response by the payload 2.0 response rules.
//
// API Gateway's own answers are reproduced: 404 {"message":"Not Found"} for a request no route
// takes (HTTP APIs have no 405), 413 {"message":"Request Entity Too Large"} above the payload
// limit, 500 {"message":"Internal Server Error"} when the function fails or answers something
// malformed. Every response carries an apigw-requestid header. The access log has one line per
// request and never contains the query string (it may carry API keys).
package apigateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Invoker runs a function synchronously. function is the template's logical ID, payload the
// JSON event. A function that ran but failed reports functionError (Lambda's
// X-Amz-Function-Error, e.g. "Unhandled") with its error document as response; err is for
// failures to invoke at all. Timeouts are the invoker's business.
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) (response []byte, functionError string, err error)
}

// InvokerFunc adapts a function to Invoker.
type InvokerFunc func(ctx context.Context, function string, payload []byte) ([]byte, string, error)

// Invoke calls f.
func (f InvokerFunc) Invoke(ctx context.Context, function string, payload []byte) ([]byte, string, error) {
	return f(ctx, function, payload)
}

// Defaults of Config.
const (
	DefaultAccountID = "123456789012"
	DefaultAPIID     = "local"
	DefaultStage     = "$default"
	// DefaultMaxBodyBytes is API Gateway's HTTP API payload limit (10 MB).
	DefaultMaxBodyBytes = 10 << 20
)

// Config configures NewHandler and Event. Zero fields take the defaults above; Now defaults to
// time.Now and Log to io.Discard.
type Config struct {
	Routes       []Route
	Invoker      Invoker
	AccountID    string
	APIID        string
	Stage        string
	MaxBodyBytes int
	Now          func() time.Time
	Log          io.Writer
	// SigV4 verifies the requests to IAM routes; nil refuses them all.
	SigV4 *SigV4
}

func (c Config) withDefaults() Config {
	if c.AccountID == "" {
		c.AccountID = DefaultAccountID
	}
	if c.APIID == "" {
		c.APIID = DefaultAPIID
	}
	if c.Stage == "" {
		c.Stage = DefaultStage
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c
}

type handler struct {
	cfg    Config
	router *router
	logMu  sync.Mutex
}

// NewHandler returns the HTTP API emulator for cfg. It fails without routes, without an
// invoker, or on a route API Gateway would refuse (bad method, bad path template, duplicate
// route key).
func NewHandler(cfg Config) (http.Handler, error) {
	if cfg.Invoker == nil {
		return nil, errors.New("apigateway: Config.Invoker is nil")
	}
	rt, err := newRouter(cfg.Routes)
	if err != nil {
		return nil, err
	}
	return &handler{cfg: cfg.withDefaults(), router: rt}, nil
}

// statusWriter remembers the status code written, for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (h *handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w := &statusWriter{ResponseWriter: rw}
	requestID, function := "", "-"
	defer func() {
		// Method and path only: the query string may hold an API key (auth mode "query").
		h.logf("%s %s %s %d %s fn=%s id=%s", start.UTC().Format(time.RFC3339), r.Method,
			r.URL.EscapedPath(), w.status, time.Since(start).Round(time.Microsecond), function, requestID)
	}()

	route, params, ok := h.router.find(r.Method, r.URL.Path)
	if !ok {
		requestID = newRequestID()
		w.Header().Set("Apigw-Requestid", requestID)
		writeMessage(w, http.StatusNotFound, "Not Found")
		return
	}
	function = route.Function

	limit := int64(h.cfg.MaxBodyBytes)
	if r.ContentLength > limit {
		requestID = newRequestID()
		w.Header().Set("Apigw-Requestid", requestID)
		writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil || int64(len(body)) > limit {
		requestID = newRequestID()
		w.Header().Set("Apigw-Requestid", requestID)
		if err != nil {
			h.logf("error id=%s reading request body: %v", requestID, err)
			writeMessage(w, http.StatusBadRequest, "Bad Request")
			return
		}
		writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}

	ev := Event(r, body, route.Route, params, h.cfg)
	requestID = ev.RequestContext.RequestID
	w.Header().Set("Apigw-Requestid", requestID)
	if route.Auth == AuthIAM {
		// As API Gateway: the function never runs for a request that is unsigned or wrongly signed.
		iam, err := h.verify(r, body)
		if err != nil {
			h.logf("error id=%s IAM authorization of %s failed: %v", requestID, route.routeKey, err)
			writeMessage(w, http.StatusForbidden, "Forbidden")
			return
		}
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: iam}
	}
	payload, err := MarshalEvent(ev)
	if err != nil {
		h.logf("error id=%s encoding event: %v", requestID, err)
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	resp, functionError, err := h.cfg.Invoker.Invoke(r.Context(), route.Function, payload)
	if err != nil {
		h.logf("error id=%s invoking %s: %v", requestID, route.Function, err)
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if functionError != "" {
		h.logf("error id=%s function %s failed (%s): %s", requestID, route.Function, functionError, describeFunctionError(resp))
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if err := WriteResponse(w, resp); err != nil {
		h.logf("error id=%s function %s: %v", requestID, route.Function, err)
	}
}

func (h *handler) verify(r *http.Request, body []byte) (*events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription, error) {
	if h.cfg.SigV4 == nil {
		return nil, errors.New("no SigV4 verifier configured")
	}
	if h.cfg.SigV4.Now == nil {
		v := *h.cfg.SigV4
		v.Now = h.cfg.Now
		return v.Verify(r, body)
	}
	return h.cfg.SigV4.Verify(r, body)
}

// describeFunctionError summarises Lambda's error document {"errorType","errorMessage"}.
func describeFunctionError(resp []byte) string {
	var doc struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(resp, &doc) != nil || (doc.ErrorType == "" && doc.ErrorMessage == "") {
		return fmt.Sprintf("%d-byte error payload", len(resp))
	}
	msg := doc.ErrorMessage
	if len(msg) > 500 {
		msg = msg[:500] + "..."
	}
	return fmt.Sprintf("%s: %q", doc.ErrorType, msg)
}

// logf writes one line to the log; lines from concurrent requests never interleave.
func (h *handler) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...) + "\n"
	h.logMu.Lock()
	defer h.logMu.Unlock()
	_, _ = io.WriteString(h.cfg.Log, line)
}
