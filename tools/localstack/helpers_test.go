package main

import (
	"context"
	"encoding/base64"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
	"github.com/amazon-webhook-gateway/gateway/tools/localstack/apigateway"
)

func decodeBody(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if req.IsBase64Encoded {
		return base64.StdEncoding.DecodeString(req.Body)
	}
	return []byte(req.Body), nil
}

// skipWithoutMoto skips, in -short mode (make test-unit), a test that starts moto_server.
func skipWithoutMoto(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs moto_server: make test runs it")
	}
}

// servedStack is a stack of fns behind the template's routes, as `make run` serves it.
type servedStack struct {
	*stack
	URL    string
	Routes []apigateway.Route
	Logs   *testenv.LogBuffer
}

// serveStack starts a stack of fns (skipped in -short mode) and serves its routes on a loopback
// port until the test ends.
func serveStack(t *testing.T, ctx context.Context, fns ...string) *servedStack {
	t.Helper()
	skipWithoutMoto(t)
	logs := &testenv.LogBuffer{}
	root := localaws.RepoRoot()
	s, err := startStack(ctx, options{root: root, logs: logs}, fns)
	if err != nil {
		t.Fatalf("%v\nlogs:\n%s", err, logs.String())
	}
	t.Cleanup(s.Close)
	routes, err := apigateway.RoutesFromTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.handler(routes, logs)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &servedStack{stack: s, URL: srv.URL, Routes: routes, Logs: logs}
}
