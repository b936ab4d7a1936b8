package apigateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// fakeInvoker records every invocation and answers with fixed values.
type fakeInvoker struct {
	mu        sync.Mutex
	calls     []string
	payloads  [][]byte
	response  []byte
	funcError string
	err       error
}

func (f *fakeInvoker) Invoke(_ context.Context, function string, payload []byte) ([]byte, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, function)
	f.payloads = append(f.payloads, append([]byte(nil), payload...))
	return f.response, f.funcError, f.err
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var testRoutes = []Route{
	{Method: "POST", Path: "/shipping/notifications", Function: "ShippingOtpFunction"},
	{Method: "POST", Path: "/aps/transaction-feedback", Function: "ApsFunction"},
	{Method: "GET", Path: "/orders/{id}", Function: "OrdersFunction"},
}

const secretQuery = "api_key=SECRET-QUERY-KEY-123"

func TestHandler(t *testing.T) {
	tests := []struct {
		name          string
		method        string
		target        string
		contentType   string
		body          string
		maxBody       int
		chunked       bool
		response      string
		funcError     string
		invokeErr     error
		wantStatus    int
		wantFunction  string // "" = the invoker must not be called
		wantHeaders   map[string]string
		wantCookies   []string
		wantBody      string
		wantLogSubstr string
	}{
		{
			name: "structured response with headers, cookies and base64 body", method: "POST",
			target: "/shipping/notifications?" + secretQuery, contentType: "application/json", body: `{"id":"1"}`,
			response: `{"statusCode":202,"headers":{"Content-Type":"application/octet-stream","X-Custom":"a,b","Content-Length":"999"},
				"multiValueHeaders":{"X-Ignored":["1","2"]},"cookies":["a=1; Path=/","b=2; HttpOnly"],
				"body":"AAEC/w==","isBase64Encoded":true}`,
			wantStatus: 202, wantFunction: "ShippingOtpFunction",
			wantHeaders: map[string]string{"Content-Type": "application/octet-stream", "X-Custom": "a,b", "X-Ignored": "", "Content-Length": "4"},
			wantCookies: []string{"a=1; Path=/", "b=2; HttpOnly"},
			wantBody:    "\x00\x01\x02\xff",
		},
		{
			name: "structured response, plain body, no content type", method: "POST",
			target: "/aps/transaction-feedback", contentType: "application/x-www-form-urlencoded", body: "a=1",
			response:   `{"statusCode":400,"body":"{\"error\":\"bad\"}"}`,
			wantStatus: 400, wantFunction: "ApsFunction",
			wantHeaders: map[string]string{"Content-Type": "application/json"},
			wantBody:    `{"error":"bad"}`,
		},
		{
			name: "structured 204 without body", method: "POST", target: "/shipping/notifications",
			response:   `{"statusCode":204,"headers":{"Cache-Control":"no-store"}}`,
			wantStatus: 204, wantFunction: "ShippingOtpFunction",
			wantHeaders: map[string]string{"Cache-Control": "no-store"},
		},
		{
			name: "bare JSON object", method: "GET", target: "/orders/42",
			response:   ` {"message": "hello", "statusCodeX": 1} `,
			wantStatus: 200, wantFunction: "OrdersFunction",
			wantHeaders: map[string]string{"Content-Type": "application/json"},
			wantBody:    `{"message": "hello", "statusCodeX": 1}`,
		},
		{
			name: "bare JSON string is returned unquoted", method: "GET", target: "/orders/42",
			response: `"Hello from Lambda!"`, wantStatus: 200, wantFunction: "OrdersFunction",
			wantHeaders: map[string]string{"Content-Type": "application/json"}, wantBody: "Hello from Lambda!",
		},
		{
			name: "bare JSON number", method: "GET", target: "/orders/42",
			response: `42`, wantStatus: 200, wantFunction: "OrdersFunction", wantBody: "42",
		},
		{
			name: "function error", method: "POST", target: "/shipping/notifications?" + secretQuery,
			response:   `{"errorType":"runtime.Error","errorMessage":"boom"}`,
			funcError:  "Unhandled",
			wantStatus: 500, wantFunction: "ShippingOtpFunction",
			wantHeaders: map[string]string{"Content-Type": "application/json"},
			wantBody:    `{"message":"Internal Server Error"}`, wantLogSubstr: "boom",
		},
		{
			name: "invocation error", method: "POST", target: "/shipping/notifications",
			invokeErr: errors.New("connection refused"), wantStatus: 500, wantFunction: "ShippingOtpFunction",
			wantBody: `{"message":"Internal Server Error"}`, wantLogSubstr: "connection refused",
		},
		{
			name: "malformed response: statusCode not a number", method: "POST", target: "/shipping/notifications",
			response: `{"statusCode":"abc","body":"x"}`, wantStatus: 500, wantFunction: "ShippingOtpFunction",
			wantBody: `{"message":"Internal Server Error"}`, wantLogSubstr: "statusCode",
		},
		{
			name: "malformed response: not JSON", method: "POST", target: "/shipping/notifications",
			response: `not json`, wantStatus: 500, wantFunction: "ShippingOtpFunction",
			wantBody: `{"message":"Internal Server Error"}`, wantLogSubstr: "not valid JSON",
		},
		{
			name: "malformed response: bad base64", method: "POST", target: "/shipping/notifications",
			response: `{"statusCode":200,"body":"***","isBase64Encoded":true}`, wantStatus: 500, wantFunction: "ShippingOtpFunction",
			wantBody: `{"message":"Internal Server Error"}`,
		},
		{
			name: "unknown route", method: "POST", target: "/nope?" + secretQuery,
			wantStatus: 404, wantHeaders: map[string]string{"Content-Type": "application/json"}, wantBody: `{"message":"Not Found"}`,
		},
		{
			name: "known path, other method: 404 not 405", method: "GET", target: "/shipping/notifications",
			wantStatus: 404, wantBody: `{"message":"Not Found"}`,
		},
		{
			name: "oversized body", method: "POST", target: "/shipping/notifications?" + secretQuery,
			contentType: "application/json", body: strings.Repeat("x", 17), maxBody: 16,
			wantStatus: 413, wantBody: `{"message":"Request Entity Too Large"}`,
		},
		{
			name: "oversized chunked body", method: "POST", target: "/shipping/notifications",
			contentType: "application/json", body: strings.Repeat("x", 17), maxBody: 16, chunked: true,
			wantStatus: 413, wantBody: `{"message":"Request Entity Too Large"}`,
		},
		{
			name: "body at the limit", method: "POST", target: "/shipping/notifications",
			contentType: "application/json", body: strings.Repeat("x", 16), maxBody: 16,
			response: `{"statusCode":200,"body":"ok"}`, wantStatus: 200, wantFunction: "ShippingOtpFunction", wantBody: "ok",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := &fakeInvoker{response: []byte(tt.response), funcError: tt.funcError, err: tt.invokeErr}
			var log syncBuffer
			h, err := NewHandler(Config{Routes: testRoutes, Invoker: inv, MaxBodyBytes: tt.maxBody, Log: &log})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.NopCloser(body) // unknown length: the client sends it chunked
			}
			req, err := http.NewRequest(tt.method, srv.URL+tt.target, body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			gotBody, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}

			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %q)", resp.StatusCode, tt.wantStatus, gotBody)
			}
			if string(gotBody) != tt.wantBody {
				t.Errorf("body = %q, want %q", gotBody, tt.wantBody)
			}
			for k, want := range tt.wantHeaders {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if tt.wantCookies != nil && !reflect.DeepEqual(resp.Header.Values("Set-Cookie"), tt.wantCookies) {
				t.Errorf("Set-Cookie = %q, want %q", resp.Header.Values("Set-Cookie"), tt.wantCookies)
			}
			reqID := resp.Header.Get("Apigw-Requestid")
			if reqID == "" {
				t.Error("apigw-requestid header missing")
			}

			if tt.wantFunction == "" {
				if len(inv.calls) != 0 {
					t.Errorf("invoker called: %v", inv.calls)
				}
			} else {
				if len(inv.calls) != 1 || inv.calls[0] != tt.wantFunction {
					t.Fatalf("invoker calls = %v, want [%s]", inv.calls, tt.wantFunction)
				}
				var ev events.APIGatewayV2HTTPRequest
				if err := json.Unmarshal(inv.payloads[0], &ev); err != nil {
					t.Fatalf("payload is not an event: %v", err)
				}
				if ev.RequestContext.RequestID != reqID {
					t.Errorf("apigw-requestid %q != event requestId %q", reqID, ev.RequestContext.RequestID)
				}
				if wantKey := tt.method + " " + routePathFor(tt.wantFunction); ev.RouteKey != wantKey {
					t.Errorf("routeKey = %q, want %q", ev.RouteKey, wantKey)
				}
				if _, q, _ := strings.Cut(tt.target, "?"); ev.RawQueryString != q {
					t.Errorf("rawQueryString = %q, want %q", ev.RawQueryString, q)
				}
				if ev.Headers["content-length"] != "" && ev.Headers["content-length"] != itoa(len(tt.body)) {
					t.Errorf("content-length header = %q", ev.Headers["content-length"])
				}
				if ev.RequestContext.HTTP.SourceIP != "127.0.0.1" || ev.RequestContext.DomainName != "127.0.0.1" {
					t.Errorf("sourceIp %q domainName %q", ev.RequestContext.HTTP.SourceIP, ev.RequestContext.DomainName)
				}
				if _, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":"); ev.Headers["x-forwarded-port"] != port {
					t.Errorf("x-forwarded-port = %q, want %q", ev.Headers["x-forwarded-port"], port)
				}
				if bytes.Contains(inv.payloads[0], []byte(`"authentication"`)) {
					t.Errorf("payload carries an empty authentication block: %s", inv.payloads[0])
				}
			}

			logText := log.String()
			if strings.Contains(logText, "SECRET-QUERY-KEY") || strings.Contains(logText, "api_key") {
				t.Errorf("log leaks the query string:\n%s", logText)
			}
			path, _, _ := strings.Cut(tt.target, "?")
			wantLine := tt.method + " " + path + " " + itoa(tt.wantStatus) + " "
			if !strings.Contains(logText, wantLine) {
				t.Errorf("access log lacks %q:\n%s", wantLine, logText)
			}
			if tt.wantLogSubstr != "" && !strings.Contains(logText, tt.wantLogSubstr) {
				t.Errorf("log lacks %q:\n%s", tt.wantLogSubstr, logText)
			}
		})
	}
}

func routePathFor(function string) string {
	for _, r := range testRoutes {
		if r.Function == function {
			return r.Path
		}
	}
	return ""
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestWriteResponseDirect(t *testing.T) {
	tests := []struct {
		name       string
		payload    string
		wantErr    bool
		wantStatus int
		wantBody   string
	}{
		{"null", `null`, false, 200, "null"},
		{"array", `[1,2]`, false, 200, "[1,2]"},
		{"status out of range", `{"statusCode":99}`, true, 500, `{"message":"Internal Server Error"}`},
		{"header value not a string", `{"statusCode":200,"headers":{"X-A":1}}`, true, 500, `{"message":"Internal Server Error"}`},
		{"body not a string", `{"statusCode":200,"body":{"a":1}}`, true, 500, `{"message":"Internal Server Error"}`},
		{"empty payload", ``, true, 500, `{"message":"Internal Server Error"}`},
		{"null body", `{"statusCode":200,"body":null}`, false, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			err := WriteResponse(rec, []byte(tt.payload))
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestNewHandlerRejectsBadConfig(t *testing.T) {
	inv := &fakeInvoker{}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no invoker", Config{Routes: testRoutes}},
		{"no routes", Config{Invoker: inv}},
		{"bad path", Config{Invoker: inv, Routes: []Route{{Method: "GET", Path: "/a/{proxy+}/b", Function: "F"}}}},
		{"bad method", Config{Invoker: inv, Routes: []Route{{Method: "FETCH", Path: "/a", Function: "F"}}}},
		{"no function", Config{Invoker: inv, Routes: []Route{{Method: "GET", Path: "/a", Function: ""}}}},
		{"duplicate", Config{Invoker: inv, Routes: []Route{{Method: "GET", Path: "/a", Function: "F"}, {Method: "get", Path: "/a", Function: "G"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h, err := NewHandler(tt.cfg); err == nil {
				t.Errorf("got handler %v, want error", h)
			}
		})
	}
}
