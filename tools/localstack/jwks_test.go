package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// `make run` and `make invoke` at the same time: each stack serves the development JWKS on a free
// port and gives its functions that URL, so both start and both accept the OAuth sample's token.
func TestTwoStacksRunSideBySideWithTheirOwnJWKS(t *testing.T) {
	skipWithoutMoto(t)
	ctx := context.Background()
	root := localaws.RepoRoot()
	payload, err := os.ReadFile(filepath.Join(root, "events", "shipping-otp-oauth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for i := range 2 {
		var logs testenv.LogBuffer
		s, err := startStack(ctx, options{root: root, jwksAddr: "127.0.0.1:0", logs: &logs}, []string{"ShippingOtpFunction"})
		if err != nil {
			t.Fatalf("stack %d: %v\nlogs:\n%s", i+1, err, logs.String())
		}
		defer s.Close()
		if got := s.functionEnv("ShippingOtpFunction")["OAUTH_JWKS_URL"]; got != s.jwksURL {
			t.Errorf("stack %d: the function's OAUTH_JWKS_URL is %q, the stack serves %q", i+1, got, s.jwksURL)
		}
		urls = append(urls, s.jwksURL)
		r, err := s.instances["ShippingOtpFunction"].Invoke(ctx, payload)
		if err != nil {
			t.Fatal(err)
		}
		var resp struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(r.Payload, &resp); err != nil || resp.StatusCode != 200 {
			t.Errorf("stack %d: the OAuth sample answered %s (%v)\nlogs:\n%s", i+1, r.Payload, err, logs.String())
		}
	}
	if urls[0] == urls[1] {
		t.Errorf("both stacks serve the JWKS at %s", urls[0])
	}
}

// make invoke prints the function's answer and then every event the invocation published.
func TestInvokePrintsTheEventsItPublished(t *testing.T) {
	skipWithoutMoto(t)
	var out strings.Builder
	var logs testenv.LogBuffer
	root := localaws.RepoRoot()
	err := invoke(context.Background(), &out, options{root: root, jwksAddr: "127.0.0.1:0", logs: &logs}, "ShippingOtpFunction", filepath.Join(root, "events", "shipping-otp-valid.json"))
	if err != nil {
		t.Fatalf("%v\nlogs:\n%s", err, logs.String())
	}
	got := out.String()
	if !strings.Contains(got, `"statusCode": 200`) || !strings.Contains(got, "1 events published") || !strings.Contains(got, `"detail-type": "Shipping OTP Generated"`) {
		t.Errorf("make invoke printed:\n%s\nwant the 200 answer and its one Shipping OTP Generated event", got)
	}
}
