package apigateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var devCaller = Principal{AccessKeyID: "AKIADEVLOOKUP", SecretAccessKey: "dev-secret", AccountID: "123456789012",
	UserARN: "arn:aws:iam::123456789012:user/dev-lookup-caller", UserID: "AIDADEVLOOKUP"}

// sign signs req as a client with the SDK signer would.
func sign(t *testing.T, req *http.Request, creds aws.Credentials, region, service string, at time.Time) {
	t.Helper()
	sum := sha256.Sum256(nil)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, region, at); err != nil {
		t.Fatal(err)
	}
}

// An IAM route is invoked only for a request signed (SigV4, service execute-api, the
// gateway's region) with a known principal's keys, within five minutes of the gateway's clock;
// the function then finds the principal in requestContext.authorizer.iam. Open routes are not
// affected.
func TestAnIAMRouteIsInvokedOnlyForAValidSigV4Signature(t *testing.T) {
	now := time.Date(2026, 11, 27, 17, 0, 0, 0, time.UTC)
	routes := []Route{
		{Method: "GET", Path: "/shipping/otps/{trackingId}", Function: "Lookup", Auth: AuthIAM},
		{Method: "GET", Path: "/open/{id}", Function: "Open"},
	}
	good := aws.Credentials{AccessKeyID: devCaller.AccessKeyID, SecretAccessKey: devCaller.SecretAccessKey}
	for _, tc := range []struct {
		name   string
		path   string
		signer func(t *testing.T, r *http.Request)
		status int
	}{
		{"signed", "/shipping/otps/T1", func(t *testing.T, r *http.Request) { sign(t, r, good, "eu-west-1", Service, now) }, 200},
		{"signed 4 minutes ago", "/shipping/otps/T1", func(t *testing.T, r *http.Request) { sign(t, r, good, "eu-west-1", Service, now.Add(-4*time.Minute)) }, 200},
		{"unsigned", "/shipping/otps/T1", func(*testing.T, *http.Request) {}, 403},
		{"wrong secret", "/shipping/otps/T1", func(t *testing.T, r *http.Request) {
			sign(t, r, aws.Credentials{AccessKeyID: good.AccessKeyID, SecretAccessKey: "guess"}, "eu-west-1", Service, now)
		}, 403},
		{"unknown access key", "/shipping/otps/T1", func(t *testing.T, r *http.Request) {
			sign(t, r, aws.Credentials{AccessKeyID: "AKIAOTHER", SecretAccessKey: good.SecretAccessKey}, "eu-west-1", Service, now)
		}, 403},
		{"other region", "/shipping/otps/T1", func(t *testing.T, r *http.Request) { sign(t, r, good, "us-east-1", Service, now) }, 403},
		{"other service", "/shipping/otps/T1", func(t *testing.T, r *http.Request) { sign(t, r, good, "eu-west-1", "lambda", now) }, 403},
		{"signed 6 minutes ago", "/shipping/otps/T1", func(t *testing.T, r *http.Request) { sign(t, r, good, "eu-west-1", Service, now.Add(-6*time.Minute)) }, 403},
		{"path changed after signing", "/shipping/otps/T1", func(t *testing.T, r *http.Request) {
			sign(t, r, good, "eu-west-1", Service, now)
			r.URL.Path = "/shipping/otps/T2"
		}, 403},
		{"open route, unsigned", "/open/1", func(*testing.T, *http.Request) {}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := &fakeInvoker{response: []byte(`{"statusCode":200,"body":"ok"}`)}
			h, err := NewHandler(Config{Routes: routes, Invoker: inv, Now: func() time.Time { return now },
				SigV4: &SigV4{Region: "eu-west-1", Principals: []Principal{devCaller}}})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "http://127.0.0.1:3000"+tc.path, nil)
			tc.signer(t, req)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status == 403 {
				if len(inv.calls) != 0 {
					t.Error("the function ran for a refused request")
				}
				return
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(inv.payloads[0], &ev); err != nil {
				t.Fatal(err)
			}
			a := ev.RequestContext.Authorizer
			switch {
			case tc.path == "/open/1" && a != nil:
				t.Errorf("an open route got an authorizer: %+v", a)
			case tc.path != "/open/1" && (a == nil || a.IAM == nil || a.IAM.UserARN != devCaller.UserARN || a.IAM.AccessKey != devCaller.AccessKeyID):
				t.Errorf("authorizer %+v, want the dev caller's IAM identity", a)
			}
		})
	}
}
