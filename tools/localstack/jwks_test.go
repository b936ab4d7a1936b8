package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

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

// make invoke prints the function's answer and then every event the invocation published. It
// sends the valid sample with its OTP valid for an hour from now (Amazon's example says 2099); with
// -raw it sends the file as it is, whose TTL is beyond ShippingOtpMaxTtlDays: quarantined, no event.
func TestInvokePrintsTheEventsItPublished(t *testing.T) {
	skipWithoutMoto(t)
	root := localaws.RepoRoot()
	ttlInEvent := regexp.MustCompile(`"verificationCodeTTL": (\d+)`)
	for _, tc := range []struct {
		name   string
		raw    bool
		status int
		answer string
		events int
	}{
		{"TTL refreshed", false, 200, "accepted", 1},
		{"raw", true, 202, "quarantined", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			var logs testenv.LogBuffer
			sent := time.Now()
			err := invoke(context.Background(), &out, options{root: root, jwksAddr: "127.0.0.1:0", logs: &logs}, "ShippingOtpFunction", filepath.Join(root, "events", "shipping-otp-valid.json"), tc.raw)
			if err != nil {
				t.Fatalf("%v\nlogs:\n%s", err, logs.String())
			}
			got := out.String()
			var resp struct {
				StatusCode int    `json:"statusCode"`
				Body       string `json:"body"`
			}
			var answer struct{ Status, Field string }
			if err := json.NewDecoder(strings.NewReader(got)).Decode(&resp); err != nil || json.Unmarshal([]byte(resp.Body), &answer) != nil {
				t.Fatalf("make invoke printed no answer first (%v):\n%s", err, got)
			}
			if resp.StatusCode != tc.status || answer.Status != tc.answer || !strings.Contains(got, fmt.Sprintf("%d events published", tc.events)) {
				t.Fatalf("make invoke printed:\n%s\nwant %d %s and %d events", got, tc.status, tc.answer, tc.events)
			}
			if tc.raw {
				if !strings.HasSuffix(answer.Field, "verificationCodeTTL") {
					t.Errorf("quarantined for %q, want the verificationCodeTTL", answer.Field)
				}
				return
			}
			m := ttlInEvent.FindStringSubmatch(got)
			if !strings.Contains(got, `"detail-type": "Shipping OTP Generated"`) || m == nil {
				t.Fatalf("make invoke printed:\n%s\nwant its one Shipping OTP Generated event", got)
			}
			ttl, _ := strconv.ParseInt(m[1], 10, 64)
			if lo, hi := sent.Add(time.Hour).UnixMilli(), time.Now().Add(time.Hour).UnixMilli(); ttl < lo || ttl > hi {
				t.Errorf("the OTP was sent with verificationCodeTTL %d, want an hour from the invocation (%d..%d)", ttl, lo, hi)
			}
			if !strings.Contains(logs.String(), "verificationCodeTTL of 1 OTP entry") || strings.Contains(logs.String(), "417305") {
				t.Errorf("the logs do not say the TTL was set, or hold the code:\n%s", logs.String())
			}
		})
	}
}
