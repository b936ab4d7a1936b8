package apigateway

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

var fixedNow = time.Date(2025, 1, 28, 11, 14, 36, 0, time.UTC)

func fixedConfig() Config { return Config{Now: func() time.Time { return fixedNow }} }

var shippingRoute = Route{Method: "POST", Path: "/shipping/notifications", Function: "ShippingOtpFunction"}

func newRequest(method, target, contentType string, body []byte) *http.Request {
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func TestEventBodyEncoding(t *testing.T) {
	binary := make([]byte, 256)
	if _, err := rand.Read(binary); err != nil {
		t.Fatal(err)
	}
	binary[0] = 0xff // never valid UTF-8
	tests := []struct {
		name        string
		contentType string
		body        []byte
		wantBase64  bool
	}{
		{"json", "application/json", []byte(`{"a":1}`), false},
		{"json with charset", "application/json; charset=utf-8", []byte(`{"a":1}`), false},
		{"json upper case", "Application/JSON", []byte(`{"a":1}`), false},
		{"text/plain", "text/plain", []byte("hello"), false},
		{"text/html", "text/html; charset=UTF-8", []byte("<p>hi</p>"), false},
		{"xml", "application/xml", []byte("<a/>"), false},
		{"javascript", "application/javascript", []byte("var a;"), false},
		{"form", "application/x-www-form-urlencoded; charset=UTF-8", []byte("a=1&b=2"), true},
		{"no content type", "", []byte(`{"a":1}`), true},
		{"json suffix is not in the list", "application/vnd.api+json", []byte(`{"a":1}`), true},
		{"text/xml", "text/xml", []byte("<a/>"), false},
		{"binary", "application/octet-stream", binary, true},
		{"binary without content type", "", binary, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := Event(newRequest("POST", "/shipping/notifications", tt.contentType, tt.body), tt.body, shippingRoute, nil, fixedConfig())
			if ev.IsBase64Encoded != tt.wantBase64 {
				t.Fatalf("isBase64Encoded = %v, want %v", ev.IsBase64Encoded, tt.wantBase64)
			}
			got := []byte(ev.Body)
			if ev.IsBase64Encoded {
				var err error
				if got, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
					t.Fatalf("body is not base64: %v", err)
				}
			}
			if !bytes.Equal(got, tt.body) {
				t.Errorf("body round trip: got %q, want %q", got, tt.body)
			}
		})
	}

	t.Run("empty body", func(t *testing.T) {
		for _, ct := range []string{"", "application/x-www-form-urlencoded", "application/json"} {
			ev := Event(newRequest("POST", "/shipping/notifications", ct, nil), nil, shippingRoute, nil, fixedConfig())
			if ev.Body != "" || ev.IsBase64Encoded {
				t.Errorf("content type %q: body %q base64 %v, want empty and false", ct, ev.Body, ev.IsBase64Encoded)
			}
			raw, err := MarshalEvent(ev)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(raw, []byte(`"body"`)) {
				t.Errorf("empty body should be left out of the JSON: %s", raw)
			}
		}
	})
}

func TestEventHeadersCookiesQuery(t *testing.T) {
	r := newRequest("POST", "/shipping/notifications?api_key=k%2B1&a=1&a=2&b=x+y&flag&c=%E2%82%AC", "application/json", []byte(`{}`))
	r.Host = "abcdef1234.execute-api.eu-west-1.amazonaws.com"
	r.RemoteAddr = "203.0.113.10:54321"
	r.Header.Set("User-Agent", "Amazon/EventBridge/ApiDestinations")
	r.Header["X-API-KEY"] = []string{"secret"} // non-canonical name, as a raw client may send it
	r.Header.Add("X-Multi", "one")
	r.Header.Add("X-Multi", "two")
	r.Header.Add("Cookie", "session=abc; theme=dark")
	r.Header.Add("Cookie", "lang=en")
	r.Header.Set("X-Forwarded-For", "198.51.100.7")

	ev := Event(r, []byte(`{}`), shippingRoute, nil, fixedConfig())

	wantHeaders := map[string]string{
		"content-type":      "application/json",
		"host":              "abcdef1234.execute-api.eu-west-1.amazonaws.com",
		"user-agent":        "Amazon/EventBridge/ApiDestinations",
		"x-api-key":         "secret",
		"x-multi":           "one,two",
		"x-forwarded-for":   "198.51.100.7, 203.0.113.10",
		"x-forwarded-proto": "http",
		"x-forwarded-port":  "80",
	}
	for k, want := range wantHeaders {
		if got, ok := ev.Headers[k]; !ok || got != want {
			t.Errorf("header %q = %q (present %v), want %q", k, got, ok, want)
		}
	}
	for k := range ev.Headers {
		if k != strings.ToLower(k) {
			t.Errorf("header name %q is not lowercase", k)
		}
	}
	if _, ok := ev.Headers["cookie"]; ok {
		t.Error("cookie header must move to cookies")
	}
	if !strings.HasPrefix(ev.Headers["x-amzn-trace-id"], "Root=1-") {
		t.Errorf("x-amzn-trace-id = %q", ev.Headers["x-amzn-trace-id"])
	}
	if want := []string{"session=abc", "theme=dark", "lang=en"}; !reflect.DeepEqual(ev.Cookies, want) {
		t.Errorf("cookies = %q, want %q", ev.Cookies, want)
	}

	if want := "api_key=k%2B1&a=1&a=2&b=x+y&flag&c=%E2%82%AC"; ev.RawQueryString != want {
		t.Errorf("rawQueryString = %q, want %q", ev.RawQueryString, want)
	}
	wantQuery := map[string]string{"api_key": "k+1", "a": "1,2", "b": "x y", "flag": "", "c": "€"}
	if !reflect.DeepEqual(ev.QueryStringParameters, wantQuery) {
		t.Errorf("queryStringParameters = %q, want %q", ev.QueryStringParameters, wantQuery)
	}

	plain := Event(newRequest("GET", "/x", "", nil), nil, Route{Method: "GET", Path: "/x", Function: "F"}, nil, fixedConfig())
	if plain.QueryStringParameters != nil || plain.Cookies != nil || plain.PathParameters != nil || plain.StageVariables != nil {
		t.Errorf("no query/cookies/params: got %q %q %q %q", plain.QueryStringParameters, plain.Cookies, plain.PathParameters, plain.StageVariables)
	}
}

func TestEventPathParameters(t *testing.T) {
	route := Route{Method: "GET", Path: "/orders/{orderId}/items/{proxy+}", Function: "Orders"}
	rt, err := newRouter([]Route{route})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		target     string
		wantParams map[string]string
		wantPath   string
	}{
		{"/orders/42/items/a/b", map[string]string{"orderId": "42", "proxy": "a/b"}, "/orders/42/items/a/b"},
		{"/orders/a%20b/items/x", map[string]string{"orderId": "a b", "proxy": "x"}, "/orders/a b/items/x"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			r := newRequest("GET", tt.target, "", nil)
			c, params, ok := rt.find(r.Method, r.URL.Path)
			if !ok {
				t.Fatal("no route")
			}
			ev := Event(r, nil, c.Route, params, fixedConfig())
			if !reflect.DeepEqual(ev.PathParameters, tt.wantParams) {
				t.Errorf("pathParameters = %q, want %q", ev.PathParameters, tt.wantParams)
			}
			if ev.RawPath != tt.wantPath || ev.RequestContext.HTTP.Path != tt.wantPath {
				t.Errorf("rawPath %q, http.path %q, want %q", ev.RawPath, ev.RequestContext.HTTP.Path, tt.wantPath)
			}
			if ev.RouteKey != "GET /orders/{orderId}/items/{proxy+}" {
				t.Errorf("routeKey = %q", ev.RouteKey)
			}
		})
	}
}

func TestEventRequestContext(t *testing.T) {
	r := newRequest("POST", "/shipping/notifications", "application/json", []byte(`{}`))
	r.Host = "payments.example.com:8443"
	r.RemoteAddr = "[2001:db8::1]:4000"
	r.Header.Set("User-Agent", "Apache-HttpClient/4.5")

	tests := []struct {
		name string
		cfg  Config
		want events.APIGatewayV2HTTPRequestContext
	}{
		{"defaults", fixedConfig(), events.APIGatewayV2HTTPRequestContext{
			RouteKey: "POST /shipping/notifications", AccountID: "123456789012", Stage: "$default", APIID: "local",
			DomainName: "payments.example.com", DomainPrefix: "payments",
			Time: "28/Jan/2025:11:14:36 +0000", TimeEpoch: 1738062876000,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: "POST", Path: "/shipping/notifications", Protocol: "HTTP/1.1", SourceIP: "2001:db8::1", UserAgent: "Apache-HttpClient/4.5",
			},
		}},
		{"configured", Config{
			AccountID: "111122223333", APIID: "abcdef1234", Stage: "dev",
			Now: func() time.Time { return time.Date(2025, 1, 28, 13, 14, 36, 500_000_000, time.FixedZone("x", 2*3600)) },
		}, events.APIGatewayV2HTTPRequestContext{
			RouteKey: "POST /shipping/notifications", AccountID: "111122223333", Stage: "dev", APIID: "abcdef1234",
			DomainName: "payments.example.com", DomainPrefix: "payments",
			Time: "28/Jan/2025:11:14:36 +0000", TimeEpoch: 1738062876500,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: "POST", Path: "/shipping/notifications", Protocol: "HTTP/1.1", SourceIP: "2001:db8::1", UserAgent: "Apache-HttpClient/4.5",
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := Event(r, []byte(`{}`), shippingRoute, nil, tt.cfg)
			if ev.Version != "2.0" || ev.RouteKey != "POST /shipping/notifications" || ev.RawPath != "/shipping/notifications" {
				t.Errorf("version %q routeKey %q rawPath %q", ev.Version, ev.RouteKey, ev.RawPath)
			}
			got := ev.RequestContext
			if len(got.RequestID) != 16 {
				t.Errorf("requestId %q: want 16 characters like API Gateway's", got.RequestID)
			}
			got.RequestID = ""
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("requestContext\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}

	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := Event(r, nil, shippingRoute, nil, fixedConfig()).RequestContext.RequestID
		if seen[id] {
			t.Fatalf("requestId %q repeated", id)
		}
		seen[id] = true
	}
}

func keySet(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestEventMatchesSamples rebuilds every request described by events/*.json, builds our event
// for it and checks that the JSON has exactly the sample's field names (top level,
// requestContext, requestContext.http) and the same body encoding.
func TestEventMatchesSamples(t *testing.T) {
	files, err := filepath.Glob(repoFile(t, "events/*.json"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var sample events.APIGatewayV2HTTPRequest
		if json.Unmarshal(data, &sample) != nil || sample.Version != "2.0" {
			continue // events/env.json and anything else that is not an HTTP API event
		}
		checked++
		t.Run(filepath.Base(file), func(t *testing.T) {
			body := []byte(sample.Body)
			if sample.IsBase64Encoded {
				if body, err = base64.StdEncoding.DecodeString(sample.Body); err != nil {
					t.Fatal(err)
				}
			}
			target := sample.RawPath
			if sample.RawQueryString != "" {
				target += "?" + sample.RawQueryString
			}
			r := httptest.NewRequest(sample.RequestContext.HTTP.Method, target, bytes.NewReader(body))
			for k, v := range sample.Headers {
				if strings.EqualFold(k, "host") {
					r.Host = v
					continue
				}
				r.Header.Set(k, v)
			}
			for _, c := range sample.Cookies {
				r.Header.Add("Cookie", c)
			}
			route := Route{Method: sample.RequestContext.HTTP.Method, Path: strings.TrimPrefix(sample.RouteKey, sample.RequestContext.HTTP.Method+" "), Function: "F"}
			ev := Event(r, body, route, sample.PathParameters, fixedConfig())
			ours, err := MarshalEvent(ev)
			if err != nil {
				t.Fatal(err)
			}

			var want, got map[string]json.RawMessage
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(ours, &got); err != nil {
				t.Fatal(err)
			}
			if w, g := keySet(want), keySet(got); !reflect.DeepEqual(w, g) {
				t.Errorf("top-level keys\nsample %v\n  ours %v", w, g)
			}
			for _, path := range [][]string{{"requestContext"}, {"requestContext", "http"}} {
				w, g := want, got
				for _, k := range path {
					var wn, gn map[string]json.RawMessage
					if err := json.Unmarshal(w[k], &wn); err != nil {
						t.Fatalf("sample %v: %v", path, err)
					}
					if err := json.Unmarshal(g[k], &gn); err != nil {
						t.Fatalf("ours %v: %v", path, err)
					}
					w, g = wn, gn
				}
				if wk, gk := keySet(w), keySet(g); !reflect.DeepEqual(wk, gk) {
					t.Errorf("%v keys\nsample %v\n  ours %v", path, wk, gk)
				}
			}
			if ev.IsBase64Encoded != sample.IsBase64Encoded || ev.Body != sample.Body {
				t.Errorf("body: ours base64=%v %.60q, sample base64=%v %.60q", ev.IsBase64Encoded, ev.Body, sample.IsBase64Encoded, sample.Body)
			}
			if !reflect.DeepEqual(ev.QueryStringParameters, sample.QueryStringParameters) {
				t.Errorf("queryStringParameters: ours %q, sample %q", ev.QueryStringParameters, sample.QueryStringParameters)
			}
		})
	}
	if checked == 0 {
		t.Fatal("no HTTP API sample event found under events/")
	}
}
