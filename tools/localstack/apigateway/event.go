package apigateway

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// timeLayout is the format of requestContext.time.
const timeLayout = "02/Jan/2006:15:04:05 -0700"

// textMediaTypes are the media types, besides text/*, whose bodies API Gateway HTTP APIs pass
// as plain strings in payload 2.0; every other body (form posts, no Content-Type at all,
// +json / +xml suffixes) arrives base64-encoded.
var textMediaTypes = map[string]bool{
	"application/json":       true,
	"application/xml":        true,
	"application/javascript": true,
}

// IsTextMediaType reports whether API Gateway would pass a body with this Content-Type header
// as plain text rather than base64.
func IsTextMediaType(contentType string) bool {
	ct := strings.TrimSpace(contentType)
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(ct, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	return strings.HasPrefix(mt, "text/") || textMediaTypes[mt]
}

// Event builds the payload 2.0 event API Gateway would send for r, whose body has already been
// read into body. route is the matched route and pathParams its path variables (nil for none).
// Config defaults apply to zero fields of cfg.
//
// As API Gateway does: header names are lowercased and repeated headers joined with ","; the
// Cookie header moves to cookies; host is kept; x-forwarded-for (the client address appended),
// x-forwarded-port, x-forwarded-proto and x-amzn-trace-id are added; rawPath and
// requestContext.http.path are the URL-decoded path; repeated query keys are joined with ",";
// the body is plain text only for text/*, application/json, application/xml and
// application/javascript, base64 otherwise.
func Event(r *http.Request, body []byte, route Route, pathParams map[string]string, cfg Config) events.APIGatewayV2HTTPRequest {
	cfg = cfg.withDefaults()
	now := cfg.Now()

	sourceIP := r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		sourceIP = host
	}

	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		lname := strings.ToLower(name)
		if lname == "cookie" {
			for _, v := range values {
				for _, c := range strings.Split(v, "; ") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lname] = strings.Join(values, ",")
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	if xff := headers["x-forwarded-for"]; xff != "" {
		headers["x-forwarded-for"] = xff + ", " + sourceIP
	} else {
		headers["x-forwarded-for"] = sourceIP
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	headers["x-forwarded-proto"] = proto
	headers["x-forwarded-port"] = localPort(r, proto)
	if headers["x-amzn-trace-id"] == "" {
		headers["x-amzn-trace-id"] = fmt.Sprintf("Root=1-%08x-%s", now.Unix(), randomHex(12))
	}

	domain := r.Host
	if h, _, err := net.SplitHostPort(domain); err == nil {
		domain = h
	}
	prefix, _, _ := strings.Cut(domain, ".")

	path := r.URL.Path
	if path == "" {
		path = "/"
	}

	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route.RouteKey(),
		RawPath:               path,
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: queryParameters(r.URL.RawQuery),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     route.RouteKey(),
			AccountID:    cfg.AccountID,
			Stage:        cfg.Stage,
			RequestID:    newRequestID(),
			APIID:        cfg.APIID,
			DomainName:   domain,
			DomainPrefix: prefix,
			Time:         now.UTC().Format(timeLayout),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(pathParams) > 0 {
		ev.PathParameters = make(map[string]string, len(pathParams))
		for k, v := range pathParams {
			ev.PathParameters[k] = v
		}
	}
	if len(body) > 0 {
		if IsTextMediaType(r.Header.Get("Content-Type")) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// MarshalEvent encodes an event as API Gateway sends it. It is json.Marshal except that an
// empty requestContext.authentication (which the events struct always encodes, as a
// clientCert object of empty strings) is left out: API Gateway sends it only for mutual TLS.
func MarshalEvent(ev events.APIGatewayV2HTTPRequest) ([]byte, error) {
	raw, err := json.Marshal(ev)
	if err != nil || ev.RequestContext.Authentication != (events.APIGatewayV2HTTPRequestContextAuthentication{}) {
		return raw, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	var rc map[string]json.RawMessage
	if err := json.Unmarshal(top["requestContext"], &rc); err != nil {
		return nil, err
	}
	delete(rc, "authentication")
	if top["requestContext"], err = json.Marshal(rc); err != nil {
		return nil, err
	}
	return json.Marshal(top)
}

// queryParameters decodes a raw query string the way payload 2.0 reports it: values
// URL-decoded, a repeated key's values joined with ",", a key without "=" mapped to "".
// It returns nil for an empty query, so the field is left out of the event.
func queryParameters(raw string) map[string]string {
	if raw == "" {
		return nil
	}
	params := map[string]string{}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, v = unescapeQuery(k), unescapeQuery(v)
		if prev, ok := params[k]; ok {
			params[k] = prev + "," + v
		} else {
			params[k] = v
		}
	}
	if len(params) == 0 {
		return nil
	}
	return params
}

func unescapeQuery(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// localPort is the port the client connected to: the listener's, else the Host header's, else
// the scheme's default.
func localPort(r *http.Request, proto string) string {
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, port, err := net.SplitHostPort(addr.String()); err == nil {
			return port
		}
	}
	if _, port, err := net.SplitHostPort(r.Host); err == nil && port != "" {
		return port
	}
	if proto == "https" {
		return "443"
	}
	return "80"
}

// newRequestID returns a random ID shaped like API Gateway's (16 base64 characters).
func newRequestID() string {
	b := make([]byte, 11)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
