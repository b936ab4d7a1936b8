package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/amazon-webhook-gateway/gateway/tools/localstack/apigateway"
)

func TestRegionOf(t *testing.T) {
	for _, tc := range []struct{ url, def, want string }{
		{"https://abc123.execute-api.eu-west-1.amazonaws.com/shipping/otps/1", "us-east-1", "eu-west-1"},
		{"https://abc123.execute-api.ap-south-1.amazonaws.com.cn/x", "", "ap-south-1"},
		{"http://127.0.0.1:3000/shipping/otps/1", "eu-west-1", "eu-west-1"},
		{"https://lookups.example.com/shipping/otps/1", "", ""},
		{"::not a url", "eu-west-1", "eu-west-1"},
	} {
		if got := RegionOf(tc.url, tc.def); got != tc.want {
			t.Errorf("RegionOf(%q, %q) = %q, want %q", tc.url, tc.def, got, tc.want)
		}
	}
}

// What the tool sends passes the local gateway's SigV4 check with the right keys only, and the
// tool prints the body and reports the status.
func TestSignedGetPassesTheLocalGatewaysCheck(t *testing.T) {
	caller := apigateway.Principal{AccessKeyID: "AKIATEST", SecretAccessKey: "right", UserARN: "arn:aws:iam::123456789012:user/u"}
	h, err := apigateway.NewHandler(apigateway.Config{
		Routes: []apigateway.Route{{Method: "GET", Path: "/shipping/otps/{trackingId}", Function: "F", Auth: apigateway.AuthIAM}},
		Invoker: apigateway.InvokerFunc(func(context.Context, string, []byte) ([]byte, string, error) {
			return []byte(`{"statusCode":200,"body":"{\"ok\":true}"}`), "", nil
		}),
		SigV4: &apigateway.SigV4{Region: "eu-west-1", Principals: []apigateway.Principal{caller}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, tc := range []struct {
		secret string
		status int
	}{{"right", 200}, {"wrong", 403}} {
		req, err := NewSignedGet(context.Background(), srv.URL+"/shipping/otps/1709913037960",
			aws.Credentials{AccessKeyID: caller.AccessKeyID, SecretAccessKey: tc.secret}, "eu-west-1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("secret %s: status %d, want %d", tc.secret, resp.StatusCode, tc.status)
		}
	}
	t.Setenv("AWS_ACCESS_KEY_ID", caller.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "right")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	var out, errOut bytes.Buffer
	status, err := run(context.Background(), srv.URL+"/shipping/otps/1709913037960", "", &out, &errOut)
	if err != nil || status != 200 || out.String() != "{\"ok\":true}\n" || errOut.String() != "200 OK\n" {
		t.Errorf("run: %d %v, out %q, err %q", status, err, out.String(), errOut.String())
	}
}
