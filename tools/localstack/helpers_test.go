package main

import (
	"encoding/base64"
	"testing"

	"github.com/aws/aws-lambda-go/events"
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
