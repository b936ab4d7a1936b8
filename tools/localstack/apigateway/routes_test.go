package apigateway

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// repoFile returns a path relative to the repository root, found from this test file.
func repoFile(t *testing.T, rel string) string {
	t.Helper()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test file")
	}
	return filepath.Join(filepath.Dir(self), "..", "..", "..", rel)
}

func TestRoutesFromTemplateRealTemplate(t *testing.T) {
	routes, err := RoutesFromTemplate(repoFile(t, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ method, path, function, auth string }{
		{"POST", "/shipping/notifications", "ShippingOtpFunction", ""},
		{"POST", "/aps/transaction-feedback", "ApsFunction", ""},
		{"POST", "/aps/notification-feedback", "ApsFunction", ""},
		{"POST", "/amazon-pay/ipn", "AmazonPayIpnFunction", ""},
		{"GET", "/shipping/otps/{trackingId}", "ShippingLookupFunction", AuthIAM},
		{"GET", "/shipping/tracking/{trackingId}", "ShippingLookupFunction", AuthIAM},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			want := Route{Method: tt.method, Path: tt.path, Function: tt.function, Auth: tt.auth}
			for _, r := range routes {
				if r == want {
					return
				}
			}
			t.Errorf("route %+v not found in %+v", want, routes)
		})
	}
	for _, r := range routes {
		if r.Function == "AmazonPaySafelistFunction" {
			t.Errorf("AmazonPaySafelistFunction has no HttpApi event, got route %+v", r)
		}
	}
	again, err := RoutesFromTemplate(repoFile(t, "template.yaml"))
	if err != nil || !reflect.DeepEqual(routes, again) {
		t.Errorf("not deterministic: %v / %v (%v)", routes, again, err)
	}
	for i := 1; i < len(routes); i++ {
		a, b := routes[i-1], routes[i]
		if a.Path > b.Path || (a.Path == b.Path && a.Method > b.Method) {
			t.Errorf("routes not sorted: %+v before %+v", a, b)
		}
	}
}

const inlineTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
Resources:
  HttpApi:
    Type: AWS::Serverless::HttpApi
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-q"
  OrdersFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Environment:
        Variables:
          QUEUE: !Ref Queue
          ARN: !GetAtt Queue.Arn
          MODE: !If [IsProd, a, b]
      Events:
        GetOrder:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: get
            Path: /orders/{orderId}
            PayloadFormatVersion: "2.0"
        OrderItems:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: POST
            Path: /orders/{orderId}/items/{proxy+}
        FromQueue:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
  CatchAllFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Anything:
          Type: HttpApi
  NoEventsFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
`

func writeTemplate(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRoutesFromTemplateInline(t *testing.T) {
	routes, err := RoutesFromTemplate(writeTemplate(t, inlineTemplate))
	if err != nil {
		t.Fatal(err)
	}
	want := []Route{
		{Method: "ANY", Path: "$default", Function: "CatchAllFunction"},
		{Method: "GET", Path: "/orders/{orderId}", Function: "OrdersFunction"},
		{Method: "POST", Path: "/orders/{orderId}/items/{proxy+}", Function: "OrdersFunction"},
	}
	if !reflect.DeepEqual(routes, want) {
		t.Errorf("routes\n got %+v\nwant %+v", routes, want)
	}
}

func TestRoutesFromTemplateErrors(t *testing.T) {
	fn := func(props string) string {
		return "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        E:\n          Type: HttpApi\n          Properties:\n" + props
	}
	tests := []struct {
		name, template, wantErr string
	}{
		{"no routes", "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n", "no HttpApi event"},
		{"payload 1.0", fn("            Method: POST\n            Path: /a\n            PayloadFormatVersion: \"1.0\"\n"), "only 2.0"},
		{"greedy not last", fn("            Method: POST\n            Path: /a/{proxy+}/b\n"), "last segment"},
		{"partial variable", fn("            Method: POST\n            Path: /a/x{id}\n"), "whole segment"},
		{"relative path", fn("            Method: POST\n            Path: a/b\n"), "must start with /"},
		{"bad method", fn("            Method: FETCH\n            Path: /a\n"), "method"},
		{"path from !Sub list", fn("            Method: POST\n            Path: !Sub [\"/${X}\", {X: a}]\n"), "plain scalar"},
		{"duplicate route", "Resources:\n" +
			"  A:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        E:\n          Type: HttpApi\n          Properties: {Method: POST, Path: /x}\n" +
			"  B:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        E:\n          Type: HttpApi\n          Properties: {Method: post, Path: /x}\n", "also declared"},
		{"not yaml", "Resources: [unclosed", "yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes, err := RoutesFromTemplate(writeTemplate(t, tt.template))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, %v; want error containing %q", routes, err, tt.wantErr)
			}
		})
	}
	if _, err := RoutesFromTemplate(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing file: want error")
	}
}

func TestRouterFind(t *testing.T) {
	rt, err := newRouter([]Route{
		{Method: "POST", Path: "/orders/{id}", Function: "ByID"},
		{Method: "POST", Path: "/orders/new", Function: "New"},
		{Method: "ANY", Path: "/orders/new", Function: "AnyNew"},
		{Method: "GET", Path: "/files/{proxy+}", Function: "Files"},
		{Method: "GET", Path: "/files/{dir}/readme", Function: "Readme"},
		{Method: "GET", Path: "/", Function: "Root"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		wantFn       string // "" = not found
		wantParams   map[string]string
	}{
		{"POST", "/orders/new", "New", nil},
		{"PUT", "/orders/new", "AnyNew", nil},
		{"POST", "/orders/42", "ByID", map[string]string{"id": "42"}},
		{"POST", "/orders/a b", "ByID", map[string]string{"id": "a b"}},
		{"GET", "/orders/42", "", nil},   // path matches, method does not: 404, never 405
		{"POST", "/orders/", "", nil},    // a variable never matches an empty segment
		{"POST", "/orders/42/", "", nil}, // trailing slash is another path
		{"POST", "/orders", "", nil},
		{"GET", "/files/a/b/c", "Files", map[string]string{"proxy": "a/b/c"}},
		{"GET", "/files/docs/readme", "Readme", map[string]string{"dir": "docs"}},
		{"GET", "/files/", "", nil}, // {proxy+} needs at least one segment
		{"GET", "/", "Root", nil},
		{"GET", "/nope", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r, params, ok := rt.find(tt.method, tt.path)
			if tt.wantFn == "" {
				if ok {
					t.Errorf("matched %+v, want not found", r.Route)
				}
				return
			}
			if !ok || r.Function != tt.wantFn || !reflect.DeepEqual(params, tt.wantParams) {
				t.Errorf("got %+v %v %v, want %s %v", r.Route, params, ok, tt.wantFn, tt.wantParams)
			}
		})
	}

	withDefault, err := newRouter([]Route{{Method: "POST", Path: "/a", Function: "A"}, {Method: "ANY", Path: "$default", Function: "Default"}})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/a": "A", "/b/c": "Default"} {
		if r, _, ok := withDefault.find("POST", path); !ok || r.Function != want {
			t.Errorf("$default router: %s matched %+v %v, want %s", path, r.Route, ok, want)
		}
	}
	if r, _, ok := withDefault.find("GET", "/a"); !ok || r.Function != "Default" || r.RouteKey() != "$default" {
		t.Errorf("GET /a with $default: got %+v %v", r.Route, ok)
	}
}
