package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
	"github.com/amazon-webhook-gateway/gateway/tools/localstack/apigateway"
)

// Issue 15 through the local stack as `make run` wires it (moto does not front API Gateway: the
// stack's gateway stands in for it and verifies SigV4 as API Gateway does): an OTP posted to the
// webhook is returned to a signed lookup, by either leg; an unsigned or wrongly signed lookup
// gets 403 and never reaches the function; a second after its verificationCodeTTL the same
// lookup gets the 404 of an ID never seen.
func TestIssue15_SignedLookupsThroughTheStack(t *testing.T) {
	ctx := context.Background()
	root := localaws.RepoRoot()
	st := serveStack(t, ctx, "ShippingLookupFunction", "ShippingOtpFunction")

	caller, err := loadLookupCaller(root)
	if err != nil {
		t.Fatal(err)
	}
	dev := aws.Credentials{AccessKeyID: caller.AccessKeyID, SecretAccessKey: caller.SecretAccessKey}

	// The valid sample, its code valid for three more seconds.
	ttl := time.UnixMilli(time.Now().Add(3 * time.Second).UnixMilli())
	ev := testenv.LoadEvent(t, "shipping-otp-valid.json")
	body := strings.Replace(ev.Body, "4102444799000", strconv.FormatInt(ttl.UnixMilli(), 10), 1)
	post, _ := http.NewRequest("POST", st.URL+"/shipping/notifications", strings.NewReader(body))
	post.Header.Set("Content-Type", "application/json; charset=utf-8")
	post.Header.Set("X-API-KEY", ev.Headers["x-api-key"])
	if status, answer := do(t, post); status != 200 {
		t.Fatalf("posting the OTP: %d %s\nlogs:\n%s", status, answer, st.Logs.String())
	}

	get := func(path string, creds *aws.Credentials) (int, string) {
		req, _ := http.NewRequest("GET", st.URL+path, nil)
		if creds != nil {
			empty := sha256.Sum256(nil)
			if err := v4.NewSigner().SignHTTP(ctx, *creds, req, hex.EncodeToString(empty[:]), apigateway.Service, localaws.Region, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		return do(t, req)
	}
	wrong := aws.Credentials{AccessKeyID: caller.AccessKeyID, SecretAccessKey: "not-the-secret"}
	_, unknown := get("/shipping/otps/NEVER-SEEN", &dev)
	for _, tc := range []struct {
		name   string
		path   string
		creds  *aws.Credentials
		status int
		code   string
	}{
		{"unsigned", "/shipping/otps/1709913037960", nil, 403, ""},
		{"wrongly signed", "/shipping/otps/1709913037960", &wrong, 403, ""},
		{"unsigned tracking", "/shipping/tracking/1709913037960", nil, 403, ""},
		{"signed", "/shipping/otps/1709913037960", &dev, 200, "417305"},
		{"signed, by the reverse leg", "/shipping/otps/1709912326420", &dev, 200, "417305"},
		{"signed tracking, none stored", "/shipping/tracking/1709913037960", &dev, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, answer := get(tc.path, tc.creds)
			if status != tc.status {
				t.Fatalf("%d %s, want %d\nlogs:\n%s", status, answer, tc.status, st.Logs.String())
			}
			if tc.code != "" && !strings.Contains(answer, `"verificationCode":"`+tc.code+`"`) {
				t.Errorf("answer %s lacks the code", answer)
			}
			if tc.code == "" && strings.Contains(answer, "417305") {
				t.Errorf("answer %s holds the code", answer)
			}
		})
	}
	// A second after verificationCodeTTL, the same signed lookup: as an ID never seen.
	time.Sleep(time.Until(ttl.Add(time.Second)))
	if status, answer := get("/shipping/otps/1709913037960", &dev); status != 404 || answer != unknown {
		t.Errorf("after expiry: %d %s, want 404 %s", status, answer, unknown)
	}
	text := st.Logs.String()
	if strings.Count(text, "IAM authorization of GET /shipping/") != 3 || !strings.Contains(text, caller.UserARN) {
		t.Errorf("the gateway's refusals or the caller are not logged:\n%s", text)
	}
	if strings.Contains(text, "417305") {
		t.Errorf("the code reached the logs:\n%s", text)
	}
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 403 && resp.Header.Get("Cache-Control") != "no-store" && strings.HasPrefix(req.URL.Path, "/shipping/otps") {
		t.Errorf("%s: Cache-Control %q", req.URL.Path, resp.Header.Get("Cache-Control"))
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		t.Errorf("%s: body %q is not JSON", req.URL.Path, b)
	}
	return resp.StatusCode, string(b)
}
