package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/amazon-webhook-gateway/gateway/shared/lookup"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
	"github.com/amazon-webhook-gateway/gateway/tools/localstack/apigateway"
)

// The lookup routes through the local stack as `make run` wires it (moto does not front API
// Gateway: the stack's gateway stands in for it and verifies SigV4 as API Gateway does): an OTP
// posted to the webhook is returned to a signed lookup, by either leg; an unsigned or wrongly
// signed lookup gets 403 and never reaches the function; a second after its verificationCodeTTL
// the same lookup gets the 404 of an ID never seen.
func TestSignedLookupsThroughTheStackNeverServeAnExpiredOTP(t *testing.T) {
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

// Account isolation through the local stack: two development principals, each standing for a
// role tagged amazon-webhook-gateway-account=<its account>, sign lookups of their account's
// routes. The local gateway verifies their signatures but evaluates no IAM policy, so the test
// asserts both halves of the isolation: the function answers each account's route with that
// account's item only (acme-b's item on acme-a's route is 404, byte-identical to an unknown ID),
// and ShippingAccountLookupInvokePolicy, with each principal's tag substituted, grants each
// principal its own account's routes and neither the other's nor the default routes.
func TestTwoPrincipalsReadTheirOwnAccountsThroughTheStack(t *testing.T) {
	ctx := context.Background()
	skipWithoutMoto(t)
	logs := &testenv.LogBuffer{}
	root := localaws.RepoRoot()
	s, err := startStack(ctx, options{root: root, logs: logs}, []string{"ShippingLookupFunction", "ShippingOtpFunction"})
	if err != nil {
		t.Fatalf("%v\nlogs:\n%s", err, logs.String())
	}
	t.Cleanup(s.Close)
	routes, err := apigateway.RoutesFromTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	principalA := apigateway.Principal{AccessKeyID: "AKIALOCALACMEACALLER", SecretAccessKey: "dev-acme-a-caller-secret-not-for-production",
		AccountID: "123456789012", UserARN: "arn:aws:sts::123456789012:assumed-role/acme-a-courier-app/s1", UserID: "AROALOCALACMEA:s1"}
	principalB := apigateway.Principal{AccessKeyID: "AKIALOCALACMEBCALLER", SecretAccessKey: "dev-acme-b-caller-secret-not-for-production",
		AccountID: "123456789012", UserARN: "arn:aws:sts::123456789012:assumed-role/acme-b-courier-app/s1", UserID: "AROALOCALACMEB:s1"}
	tags := map[string]string{principalA.AccessKeyID: "acme-a", principalB.AccessKeyID: "acme-b"}
	api, err := apigateway.NewHandler(apigateway.Config{Routes: routes, Invoker: s, Log: logs,
		SigV4: &apigateway.SigV4{Region: localaws.Region, Principals: []apigateway.Principal{principalA, principalB}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)

	// Each account's OTP of the same tracking ID, and one only acme-b has, in their key spaces of
	// the stack's table (the local stack configures the default Shipping account only; labelled
	// deliveries through the pipeline: tests/harness TestEachAccountsLookupsReadItsOwnDeliveries).
	now := time.UnixMilli(time.Now().UnixMilli())
	db := dynamodb.NewFromConfig(s.awsCfg)
	store := otpstore.New(db, s.env["ShippingLookupFunction"]["OTP_TABLE_NAME"], nil)
	for _, o := range []otpstore.OTP{
		{TrackingID: "T25", AlternateLegTrackingID: "R25", Code: "511511", Account: "acme-a"},
		{TrackingID: "T25", AlternateLegTrackingID: "R25", Code: "522522", Account: "acme-b"},
		{TrackingID: "T25-B-ONLY", Code: "533533", Account: "acme-b"},
	} {
		o.ExpiresAt, o.EventTime, o.ReceivedAt, o.EventCode = now.Add(time.Hour), now, now, "PIN_GENERATED"
		put, _ := store.Write(o)
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: put.TableName, Item: put.Item}); err != nil {
			t.Fatal(err)
		}
	}
	// The default account's OTP, delivered to the webhook: the valid sample, valid for an hour.
	ev := testenv.LoadEvent(t, "shipping-otp-valid.json")
	body := strings.Replace(ev.Body, "4102444799000", strconv.FormatInt(now.Add(time.Hour).UnixMilli(), 10), 1)
	post, _ := http.NewRequest("POST", srv.URL+"/shipping/notifications", strings.NewReader(body))
	post.Header.Set("Content-Type", "application/json; charset=utf-8")
	post.Header.Set("X-API-KEY", ev.Headers["x-api-key"])
	if status, answer := do(t, post); status != 200 {
		t.Fatalf("posting the OTP: %d %s\nlogs:\n%s", status, answer, logs.String())
	}

	get := func(path string, p *apigateway.Principal, secret string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if p != nil {
			empty := sha256.Sum256(nil)
			creds := aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: secret}
			if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(empty[:]), apigateway.Service, localaws.Region, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		return do(t, req)
	}
	policy := accountInvokePolicy(t)
	// The 404 of an ID never seen, per kind: every 404 below must be that, byte for byte.
	unknown := map[string]string{}
	for _, kind := range []string{"otps", "tracking"} {
		_, unknown[kind] = get("/shipping/accounts/acme-a/"+kind+"/NEVER-SEEN", &principalA, principalA.SecretAccessKey)
	}
	for _, tc := range []struct {
		name   string
		p      *apigateway.Principal
		secret string
		path   string
		// status and code: the function's answer (locally, whatever IAM would say);
		// account: the 200 body's; iam: whether the account policy grants the principal the route.
		status        int
		code, account string
		iam           bool
	}{
		{"A reads acme-a's OTP", &principalA, principalA.SecretAccessKey, "/shipping/accounts/acme-a/otps/T25", 200, "511511", "acme-a", true},
		{"A reads acme-a's OTP by the reverse leg", &principalA, principalA.SecretAccessKey, "/shipping/accounts/acme-a/otps/R25", 200, "511511", "acme-a", true},
		{"B reads acme-b's OTP", &principalB, principalB.SecretAccessKey, "/shipping/accounts/acme-b/otps/T25", 200, "522522", "acme-b", true},
		{"B reads acme-b's own ID", &principalB, principalB.SecretAccessKey, "/shipping/accounts/acme-b/otps/T25-B-ONLY", 200, "533533", "acme-b", true},
		{"acme-b's ID on A's route: 404", &principalA, principalA.SecretAccessKey, "/shipping/accounts/acme-a/otps/T25-B-ONLY", 404, "", "", true},
		{"the default account's delivered OTP on A's route: 404", &principalA, principalA.SecretAccessKey, "/shipping/accounts/acme-a/otps/1709913037960", 404, "", "", true},
		{"an unknown account: 404", &principalA, principalA.SecretAccessKey, "/shipping/accounts/acme-zz/otps/T25", 404, "", "", false},
		{"A's tracking route, none stored: 404", &principalA, principalA.SecretAccessKey, "/shipping/accounts/acme-a/tracking/T25", 404, "", "", true},
		{"not a label: 400", &principalA, principalA.SecretAccessKey, "/shipping/accounts/Acme-A/otps/T25", 400, "", "", false},
		// Locally answered (no IAM here); on AWS the account policy refuses A these routes.
		{"A on acme-b's route: refused by the policy", &principalA, principalA.SecretAccessKey, "/shipping/accounts/acme-b/otps/T25", 200, "522522", "acme-b", false},
		{"A on the default route: refused by the policy", &principalA, principalA.SecretAccessKey, "/shipping/otps/1709913037960", 200, "417305", "default", false},
		{"unsigned", nil, "", "/shipping/accounts/acme-a/otps/T25", 403, "", "", false},
		{"A's key, wrong secret", &principalA, "not-the-secret", "/shipping/accounts/acme-a/otps/T25", 403, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, answer := get(tc.path, tc.p, tc.secret)
			if status != tc.status {
				t.Fatalf("%d %s, want %d\nlogs:\n%s", status, answer, tc.status, logs.String())
			}
			for _, code := range []string{"511511", "522522", "533533", "417305"} {
				if code != tc.code && strings.Contains(answer, code) {
					t.Errorf("answer %s holds another item's code %s", answer, code)
				}
			}
			switch status {
			case 200:
				var b lookup.OTPBody
				if err := json.Unmarshal([]byte(answer), &b); err != nil || b.VerificationCode != tc.code || b.Account != tc.account {
					t.Errorf("answer %s, want code %s of account %s", answer, tc.code, tc.account)
				}
			case 404:
				kind := strings.Split(tc.path, "/")[4]
				if answer != unknown[kind] {
					t.Errorf("404 %s, want the unknown ID's %s", answer, unknown[kind])
				}
			case 400:
				if !strings.Contains(answer, `"field":"account"`) {
					t.Errorf("400 %s does not name field account", answer)
				}
			}
			if tc.p == nil {
				return
			}
			if got := grants(policy, tags[tc.p.AccessKeyID], tc.p.AccountID, "GET"+tc.path); got != tc.iam {
				t.Errorf("ShippingAccountLookupInvokePolicy grants %s (tag %s) GET %s: %v, want %v", tc.p.UserARN, tags[tc.p.AccessKeyID], tc.path, got, tc.iam)
			}
		})
	}
	// The function logs who read which account's item, never a code.
	text := logs.String()
	for _, code := range []string{"511511", "522522", "533533", "417305"} {
		if strings.Contains(text, code) {
			t.Errorf("the code %s reached the logs", code)
		}
	}
	answered := regexp.MustCompile(`\{[^\n]*"msg":"lookup answered"[^\n]*\}`)
	byAccount := map[string]map[string]bool{}
	for _, line := range answered.FindAllString(text, -1) {
		var rec struct{ Account, UserArn string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %s: %v", line, err)
		}
		if byAccount[rec.Account] == nil {
			byAccount[rec.Account] = map[string]bool{}
		}
		byAccount[rec.Account][rec.UserArn] = true
	}
	if !byAccount["acme-b"][principalB.UserARN] || !byAccount["acme-a"][principalA.UserARN] || byAccount["acme-a"][principalB.UserARN] {
		t.Errorf("the lookup lines do not name each principal with its account: %v", byAccount)
	}
}

// accountInvokePolicy is the resource of template.yaml's ShippingAccountLookupInvokePolicy, its
// one Allow execute-api:Invoke statement.
func accountInvokePolicy(t *testing.T) string {
	t.Helper()
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := tmpl.Resources["ShippingAccountLookupInvokePolicy"].Properties["PolicyDocument"].(map[string]any)
	list, _ := doc["Statement"].([]any)
	if len(list) != 1 {
		t.Fatalf("ShippingAccountLookupInvokePolicy has %d statements, want 1", len(list))
	}
	st, _ := list[0].(map[string]any)
	res, _ := st["Resource"].([]any)
	if st["Effect"] != "Allow" || st["Action"] != "execute-api:Invoke" || st["Condition"] != nil || len(res) != 1 {
		t.Fatalf("ShippingAccountLookupInvokePolicy statement %v: want Allow execute-api:Invoke on one resource", st)
	}
	r, _ := res[0].(string)
	return r
}

// grants evaluates resource as IAM would for execute-api:Invoke on this stack's API (in AWS
// account accountID) by a caller whose principal tag amazon-webhook-gateway-account is tag ("" =
// untagged: the statement does not apply) on methodPath ("GET/shipping/..."): the !Sub values and
// the policy variable substituted, "*" any run of characters ("/" included).
func grants(resource, tag, accountID, methodPath string) bool {
	const variable = "${!aws:PrincipalTag/amazon-webhook-gateway-account}"
	if strings.Contains(resource, variable) && tag == "" {
		return false
	}
	r := strings.NewReplacer("${AWS::Partition}", "aws", "${AWS::Region}", localaws.Region, "${AWS::AccountId}", accountID,
		"${HttpApi}", "local", variable, tag).Replace(resource)
	pattern := "^" + strings.ReplaceAll(regexp.QuoteMeta(r), `\*`, ".*") + "$"
	arn := "arn:aws:execute-api:" + localaws.Region + ":" + accountID + ":local/$default/" + methodPath
	return regexp.MustCompile(pattern).MatchString(arn)
}
