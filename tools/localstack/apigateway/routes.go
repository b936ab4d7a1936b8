package apigateway

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// Route is one HTTP API route: an HTTP method (or ANY), a path template and the logical ID of
// the function behind it. Path may hold whole-segment variables such as {id} and, as its last
// segment only, a greedy variable such as {proxy+}. Path "$default" is the catch-all route.
// Auth is AuthIAM for a route API Gateway protects with IAM, "" for an open one.
type Route struct {
	Method, Path, Function string
	Auth                   string
}

// defaultRoutePath is the path of the $default route, which takes every request no other route
// matches.
const defaultRoutePath = "$default"

// RouteKey is the route key API Gateway puts in the event: "METHOD /path/template", or
// "$default" for the catch-all route.
func (r Route) RouteKey() string {
	if r.Path == defaultRoutePath {
		return defaultRoutePath
	}
	return r.Method + " " + r.Path
}

// RoutesFromTemplate reads a SAM template and returns one Route per HttpApi event of every
// AWS::Serverless::Function, sorted by path, method and function. CloudFormation intrinsic
// tags (!Ref, !If, ...) decode as plain values. A route with a non-2.0 payload format, an
// invalid path, a duplicate route key or a template without any route is an error.
func RoutesFromTemplate(templatePath string) ([]Route, error) {
	tpl, err := localaws.ReadTemplate(templatePath)
	if err != nil {
		return nil, err
	}
	var routes []Route
	seen := map[string]string{}
	for _, name := range tpl.Functions() {
		events, err := tpl.FunctionEvents(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", templatePath, err)
		}
		for evName, ev := range events {
			if ev.Type != "HttpApi" {
				continue
			}
			where := fmt.Sprintf("%s: %s event %s", templatePath, name, evName)
			method, err := stringProp(ev.Properties, "Method")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			path, err := stringProp(ev.Properties, "Path")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			version, err := stringProp(ev.Properties, "PayloadFormatVersion")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			// SAM's defaults for an HttpApi event: payload 2.0, any method, the $default route.
			if version != "" && version != "2.0" {
				return nil, fmt.Errorf("%s: PayloadFormatVersion %q is not supported (only 2.0)", where, version)
			}
			auth, err := routeAuth(tpl, ev.Properties)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			rt := Route{Method: strings.ToUpper(method), Path: path, Function: name, Auth: auth}
			if rt.Method == "" || strings.EqualFold(rt.Method, "x-amazon-apigateway-any-method") {
				rt.Method = "ANY"
			}
			if rt.Path == "" || rt.Path == "/"+defaultRoutePath {
				rt.Path = defaultRoutePath
			}
			if _, err := compileRoute(rt); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if other, dup := seen[rt.RouteKey()]; dup {
				return nil, fmt.Errorf("%s: route %q is also declared by %s", where, rt.RouteKey(), other)
			}
			seen[rt.RouteKey()] = name
			routes = append(routes, rt)
		}
	}
	if len(routes) == 0 {
		return nil, fmt.Errorf("%s: no HttpApi event in any AWS::Serverless::Function", templatePath)
	}
	sort.Slice(routes, func(i, j int) bool {
		a, b := routes[i], routes[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Method != b.Method {
			return a.Method < b.Method
		}
		return a.Function < b.Function
	})
	return routes, nil
}

// routeAuth is the authorizer of an HttpApi event: its Auth.Authorizer, else its API's
// Auth.DefaultAuthorizer; "" for none (or NONE). Only IAM can be enforced locally: any other
// authorizer is an error rather than a route left open.
func routeAuth(tpl *localaws.Template, props map[string]any) (string, error) {
	authorizer := ""
	if auth, ok := props["Auth"].(map[string]any); ok {
		authorizer, _ = auth["Authorizer"].(string)
	}
	if authorizer == "" {
		if api, ok := props["ApiId"].(string); ok {
			if auth, ok := tpl.Resources[api].Properties["Auth"].(map[string]any); ok {
				authorizer, _ = auth["DefaultAuthorizer"].(string)
			}
		}
	}
	switch authorizer {
	case "", "NONE":
		return "", nil
	case AuthIAM:
		return AuthIAM, nil
	}
	return "", fmt.Errorf("authorizer %q is not supported locally (only %s)", authorizer, AuthIAM)
}

// stringProp returns a scalar property as a string ("" when absent). Anything else (a !Sub
// map, a list) cannot be resolved locally and is an error.
func stringProp(props map[string]any, key string) (string, error) {
	v, ok := props[key]
	if !ok || v == nil {
		return "", nil
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case float64, int, bool:
		return fmt.Sprint(v), nil
	default:
		return "", fmt.Errorf("%s must be a plain scalar, got %T", key, v)
	}
}

// segment kinds, in decreasing order of specificity.
const (
	segGreedy = iota
	segParam
	segLiteral
)

type segment struct {
	kind  int
	value string // the literal, or the variable name
}

type compiledRoute struct {
	Route
	segs      []segment
	isDefault bool
	anyMethod bool
	routeKey  string
}

var validMethods = map[string]bool{
	"ANY": true, "GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true,
	"DELETE": true, "OPTIONS": true,
}

// compileRoute validates a route and splits its path template into segments.
func compileRoute(r Route) (compiledRoute, error) {
	r.Method = strings.ToUpper(r.Method)
	c := compiledRoute{Route: r, routeKey: r.RouteKey()}
	if r.Function == "" {
		return c, errors.New("route has no function")
	}
	if !validMethods[c.Method] {
		return c, fmt.Errorf("route method %q is not one API Gateway accepts", r.Method)
	}
	c.anyMethod = c.Method == "ANY"
	if r.Path == defaultRoutePath {
		c.isDefault = true
		return c, nil
	}
	if !strings.HasPrefix(r.Path, "/") {
		return c, fmt.Errorf("route path %q must start with /", r.Path)
	}
	if r.Path == "/" {
		return c, nil
	}
	parts := strings.Split(r.Path[1:], "/")
	names := map[string]bool{}
	for i, p := range parts {
		switch {
		case p == "":
			return c, fmt.Errorf("route path %q has an empty segment", r.Path)
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			name := p[1 : len(p)-1]
			kind := segParam
			if strings.HasSuffix(name, "+") {
				if i != len(parts)-1 {
					return c, fmt.Errorf("route path %q: greedy variable %s must be the last segment", r.Path, p)
				}
				name = strings.TrimSuffix(name, "+")
				kind = segGreedy
			}
			if name == "" || strings.ContainsAny(name, "{}+/") {
				return c, fmt.Errorf("route path %q: bad variable %s", r.Path, p)
			}
			if names[name] {
				return c, fmt.Errorf("route path %q: variable %s appears twice", r.Path, name)
			}
			names[name] = true
			c.segs = append(c.segs, segment{kind: kind, value: name})
		case strings.ContainsAny(p, "{}"):
			return c, fmt.Errorf("route path %q: a variable must fill a whole segment", r.Path)
		default:
			c.segs = append(c.segs, segment{kind: segLiteral, value: p})
		}
	}
	return c, nil
}

// match reports whether the decoded request path fits the template and, if so, its path
// parameters (nil when the template has none).
func (c compiledRoute) match(path string) (map[string]string, bool) {
	if c.isDefault {
		return nil, true
	}
	if !strings.HasPrefix(path, "/") {
		return nil, false
	}
	if len(c.segs) == 0 {
		return nil, path == "/"
	}
	rest := path[1:]
	var params map[string]string
	for i, s := range c.segs {
		if s.kind == segGreedy {
			// {proxy+} takes one or more whole segments: everything left, never nothing.
			if rest == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[s.value] = rest
			return params, true
		}
		seg, after, found := strings.Cut(rest, "/")
		last := i == len(c.segs)-1
		if last == found { // the path has fewer or more segments than the template
			return nil, false
		}
		switch s.kind {
		case segLiteral:
			if seg != s.value {
				return nil, false
			}
		case segParam:
			if seg == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[s.value] = seg
		}
		rest = after
	}
	return params, true
}

// moreSpecific reports whether a should win over b when both match a request: literal segments
// beat variables, variables beat a greedy variable, segment by segment from the left; then an
// explicit method beats ANY; $default always loses.
func moreSpecific(a, b compiledRoute) bool {
	if a.isDefault != b.isDefault {
		return b.isDefault
	}
	for i := 0; i < len(a.segs) && i < len(b.segs); i++ {
		if a.segs[i].kind != b.segs[i].kind {
			return a.segs[i].kind > b.segs[i].kind
		}
	}
	if len(a.segs) != len(b.segs) {
		// Only possible with a greedy tail (the same request matched both): the longer
		// template fixed more segments.
		return len(a.segs) > len(b.segs)
	}
	if a.anyMethod != b.anyMethod {
		return b.anyMethod
	}
	return a.Path < b.Path
}

// router finds the route for a request.
type router struct{ routes []compiledRoute }

func newRouter(routes []Route) (*router, error) {
	if len(routes) == 0 {
		return nil, errors.New("apigateway: no routes")
	}
	rt := &router{}
	seen := map[string]string{}
	for _, r := range routes {
		c, err := compileRoute(r)
		if err != nil {
			return nil, fmt.Errorf("apigateway: %w", err)
		}
		if other, dup := seen[c.routeKey]; dup {
			return nil, fmt.Errorf("apigateway: route %q declared for both %s and %s", c.routeKey, other, r.Function)
		}
		seen[c.routeKey] = r.Function
		rt.routes = append(rt.routes, c)
	}
	return rt, nil
}

// find returns the most specific route matching method and decoded path. HTTP APIs have no
// 405: a path that matches only under another method is simply not found.
func (rt *router) find(method, path string) (compiledRoute, map[string]string, bool) {
	var best compiledRoute
	var bestParams map[string]string
	found := false
	for _, c := range rt.routes {
		if !c.anyMethod && c.Method != method {
			continue
		}
		params, ok := c.match(path)
		if !ok {
			continue
		}
		if !found || moreSpecific(c, best) {
			best, bestParams, found = c, params, true
		}
	}
	return best, bestParams, found
}
