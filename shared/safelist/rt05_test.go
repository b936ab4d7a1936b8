package safelist

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
)

// logLines decodes the JSON lines a test logger wrote.
func logLines(t *testing.T, logs *testenv.LogBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func hasLog(lines []map[string]any, level, msg string) bool {
	for _, l := range lines {
		if l["level"] == level && l["msg"] == msg {
			return true
		}
	}
	return false
}

// RT-05: whoever may invoke the function cannot make it safelist a URL of their choosing: an event
// whose Endpoint or Sandbox differs from the function's environment is refused (FAILED, with the
// reason, logged at ERROR) before any credential is read or Amazon Pay called. Deletes and update
// rollbacks still succeed, so that no stack operation fails or hangs because of the check.
func TestRT05_EventMustMatchTheDeployedTarget(t *testing.T) {
	const (
		deployedURL = "https://abc123.execute-api.eu-west-1.amazonaws.com/amazon-pay/ipn"
		previousURL = "https://old999.execute-api.eu-west-1.amazonaws.com/amazon-pay/ipn"
		attackerURL = "https://attacker.example/ipn?token=s3cr3t"
	)
	deployed := Target{Endpoint: deployedURL, Sandbox: true}
	props := func(endpoint string, sandbox any) map[string]any {
		p := map[string]any{"ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:safelist", "Endpoint": endpoint}
		if sandbox != nil {
			p["Sandbox"] = sandbox
		}
		return p
	}
	const physical = PhysicalIDPrefix + deployedURL
	tests := []struct {
		name         string
		rt           cfn.RequestType
		physical     string
		props, old   map[string]any
		wantStatus   cfn.StatusType
		wantPhysical string
		wantCall     bool     // Amazon Pay is called (with the deployed endpoint)
		wantReason   []string // FAILED Reason mentions each
		wantLog      string   // level of the refusal/no-op log line, "" for none
		wantMessage  string   // Data "Message"
	}{
		{name: "create for an attacker's URL", rt: cfn.RequestCreate, props: props(attackerURL, "true"),
			wantStatus: cfn.StatusFailed, wantPhysical: "cfn-req", wantReason: []string{"does not match the deployed target", "https://attacker.example/ipn", deployedURL}, wantLog: "ERROR"},
		{name: "update to an attacker's URL", rt: cfn.RequestUpdate, physical: physical, props: props(attackerURL, "true"), old: props(previousURL, "true"),
			wantStatus: cfn.StatusFailed, wantPhysical: physical, wantReason: []string{"does not match the deployed target"}, wantLog: "ERROR"},
		{name: "update to an attacker's URL without old properties", rt: cfn.RequestUpdate, physical: physical, props: props(attackerURL, "true"),
			wantStatus: cfn.StatusFailed, wantPhysical: physical, wantReason: []string{"does not match the deployed target"}, wantLog: "ERROR"},
		{name: "create for the production host when deployed for the sandbox", rt: cfn.RequestCreate, props: props(deployedURL, "false"),
			wantStatus: cfn.StatusFailed, wantPhysical: "cfn-req", wantReason: []string{"Sandbox false", "Sandbox true"}, wantLog: "ERROR"},
		{name: "create without Sandbox when deployed for the sandbox", rt: cfn.RequestCreate, props: props(deployedURL, nil),
			wantStatus: cfn.StatusFailed, wantPhysical: "cfn-req", wantReason: []string{"does not match"}, wantLog: "ERROR"},
		{name: "create for the deployed URL with a different query", rt: cfn.RequestCreate, props: props(deployedURL+"?x=1", "true"),
			wantStatus: cfn.StatusFailed, wantPhysical: "cfn-req", wantReason: []string{"does not match"}, wantLog: "ERROR"},
		{name: "create for the deployed target", rt: cfn.RequestCreate, props: props(deployedURL, "true"),
			wantStatus: cfn.StatusSuccess, wantPhysical: physical, wantCall: true},
		{name: "update to the deployed target from the previous URL (OldResourceProperties differ)", rt: cfn.RequestUpdate,
			physical: PhysicalIDPrefix + previousURL, props: props(deployedURL, "TRUE"), old: props(previousURL, "true"),
			wantStatus: cfn.StatusSuccess, wantPhysical: physical, wantCall: true},
		{name: "update rollback reaching the resource before the function's environment", rt: cfn.RequestUpdate,
			physical: physical, props: props(previousURL, "true"), old: props(deployedURL, "true"),
			wantStatus: cfn.StatusSuccess, wantPhysical: physical, wantLog: "WARN", wantMessage: RollbackNote},
		{name: "delete with the previous URL after a replacement", rt: cfn.RequestDelete,
			physical: PhysicalIDPrefix + previousURL, props: props(previousURL, "true"),
			wantStatus: cfn.StatusSuccess, wantPhysical: PhysicalIDPrefix + previousURL, wantMessage: DeleteNote},
		{name: "delete with an attacker's URL", rt: cfn.RequestDelete, physical: "x", props: props(attackerURL, "false"),
			wantStatus: cfn.StatusSuccess, wantPhysical: "x", wantMessage: DeleteNote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			amazon := newStandIn(t)
			responses := newCFNResponses(t)
			var clients int
			var logs testenv.LogBuffer
			h := ResourceHandler(slog.New(slog.NewJSONHandler(&logs, nil)), deployed, func(_ context.Context, host string) (*Client, error) {
				clients++
				if host != SandboxHost {
					t.Errorf("host %s", host)
				}
				return amazon.client(t), nil
			})
			ev := cfn.Event{RequestType: tt.rt, RequestID: "cfn-req", ResponseURL: responses.srv.URL + "/r?X-Amz-Signature=abc",
				LogicalResourceID: "AmazonPayIpnSafelist", StackID: "arn:aws:cloudformation:eu-west-1:123456789012:stack/gw/1",
				PhysicalResourceID: tt.physical, ResourceProperties: tt.props, OldResourceProperties: tt.old}
			if _, err := cfn.LambdaWrap(h)(lambdaCtx(t), ev); err != nil {
				t.Fatal(err)
			}
			r := responses.only(t)
			if r.Status != tt.wantStatus || r.PhysicalResourceID != tt.wantPhysical {
				t.Errorf("Status %s PhysicalResourceId %q (Reason %q); want %s %q", r.Status, r.PhysicalResourceID, r.Reason, tt.wantStatus, tt.wantPhysical)
			}
			for _, w := range tt.wantReason {
				if !strings.Contains(r.Reason, w) {
					t.Errorf("Reason %q does not mention %q", r.Reason, w)
				}
			}
			if strings.Contains(r.Reason+logs.String(), "s3cr3t") {
				t.Errorf("the query of the asked URL was shown: %q %s", r.Reason, logs.String())
			}
			if tt.wantMessage != "" && r.Data["Message"] != tt.wantMessage {
				t.Errorf("Data = %v", r.Data)
			}
			calls, endpoints, _, _ := amazon.state()
			switch {
			case tt.wantCall && (calls != 1 || len(endpoints) != 1 || endpoints[0] != deployedURL):
				t.Errorf("Amazon Pay got %d calls for %q; want one for the deployed URL", calls, endpoints)
			case !tt.wantCall && (calls != 0 || clients != 0):
				t.Errorf("Amazon Pay calls %d, credentials read %d times; want none", calls, clients)
			}
			lines := logLines(t, &logs)
			switch tt.wantLog {
			case "ERROR":
				if !hasLog(lines, "ERROR", "safelist: event refused") {
					t.Errorf("refusal not logged at ERROR: %s", logs.String())
				}
			case "WARN":
				if !hasLog(lines, "WARN", "safelist: update away from the deployed target, nothing done") {
					t.Errorf("rollback no-op not logged: %s", logs.String())
				}
			}
		})
	}
}

// RT-05: a function whose environment is wrong still answers: Create and Update fail with the
// configuration error, Delete succeeds, so the stack never waits for a response.
func TestRT05_UnconfiguredFunctionStillAnswers(t *testing.T) {
	responses := newCFNResponses(t)
	h := cfn.LambdaWrap(Unconfigured(slog.New(slog.DiscardHandler), errors.New("environment variable AMAZON_PAY_IPN_ENDPOINT is required")))
	for _, tt := range []struct {
		rt   cfn.RequestType
		want cfn.StatusType
	}{{cfn.RequestCreate, cfn.StatusFailed}, {cfn.RequestUpdate, cfn.StatusFailed}, {cfn.RequestDelete, cfn.StatusSuccess}} {
		if _, err := h(lambdaCtx(t), cfn.Event{RequestType: tt.rt, RequestID: "r", PhysicalResourceID: "p", ResponseURL: responses.srv.URL,
			ResourceProperties: map[string]any{"Endpoint": exEndpoint}}); err != nil {
			t.Fatal(err)
		}
		r := responses.only(t)
		if r.Status != tt.want || (tt.want == cfn.StatusFailed) != strings.Contains(r.Reason, "AMAZON_PAY_IPN_ENDPOINT") {
			t.Errorf("%s: %+v", tt.rt, r)
		}
	}
}

// RT-05: ResponseURL must be CloudFormation's response bucket for the function's region, on S3,
// in each form S3 serves it. Real examples: AWS's CloudFormation guide names the bucket
// cloudformation-custom-resource-response-<region without dashes>; logged ResponseURLs show
// useast1.s3.amazonaws.com and euwest1.s3-eu-west-1.amazonaws.com.
func TestRT05_ResponseURLForms(t *testing.T) {
	const key = "/arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/gw/1%7CAmazonPayIpnSafelist%7Creq?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc"
	const b = "cloudformation-custom-resource-response-"
	tests := []struct {
		name, url, region string
		ok                bool
	}{
		{"virtual host, global endpoint", "https://" + b + "useast1.s3.amazonaws.com" + key, "us-east-1", true},
		{"virtual host, regional endpoint", "https://" + b + "useast1.s3.us-east-1.amazonaws.com" + key, "us-east-1", true},
		{"virtual host, legacy dash endpoint", "https://" + b + "euwest1.s3-eu-west-1.amazonaws.com" + key, "eu-west-1", true},
		{"virtual host, China", "https://" + b + "cnnorth1.s3.cn-north-1.amazonaws.com.cn" + key, "cn-north-1", true},
		{"path style, global endpoint", "https://s3.amazonaws.com/" + b + "useast1" + key, "us-east-1", true},
		{"path style, regional endpoint", "https://s3.us-east-1.amazonaws.com/" + b + "useast1" + key, "us-east-1", true},
		{"path style, legacy dash endpoint", "https://s3-ap-northeast-1.amazonaws.com/" + b + "apnortheast1" + key, "ap-northeast-1", true},
		{"path style, China", "https://s3.cn-northwest-1.amazonaws.com.cn/" + b + "cnnorthwest1" + key, "cn-northwest-1", true},
		{"host in capitals", "https://" + strings.ToUpper(b) + "USEAST1.S3.AMAZONAWS.COM" + key, "us-east-1", true},

		{"http", "http://" + b + "useast1.s3.amazonaws.com" + key, "us-east-1", false},
		{"another region's bucket", "https://" + b + "uswest2.s3.amazonaws.com" + key, "us-east-1", false},
		{"bucket of a region that does not exist", "https://" + b + "attacker.s3.amazonaws.com" + key, "us-east-1", false},
		{"bucket with the dashed region", "https://" + b + "us-east-1.s3.amazonaws.com" + key, "us-east-1", false},
		{"endpoint of another region", "https://" + b + "useast1.s3.us-west-2.amazonaws.com" + key, "us-east-1", false},
		{"China domain outside China", "https://" + b + "useast1.s3.us-east-1.amazonaws.com.cn" + key, "us-east-1", false},
		{"global endpoint in China", "https://" + b + "cnnorth1.s3.amazonaws.com" + key, "cn-north-1", false},
		{"legacy dash endpoint in China", "https://" + b + "cnnorth1.s3-cn-north-1.amazonaws.com.cn" + key, "cn-north-1", false},
		{"look-alike domain", "https://" + b + "useast1.s3.amazonaws.com.attacker.example" + key, "us-east-1", false},
		{"bucket name in another host's path", "https://attacker.example/" + b + "useast1" + key, "us-east-1", false},
		{"userinfo", "https://" + b + "useast1.s3.amazonaws.com@attacker.example" + key, "us-east-1", false},
		{"port", "https://" + b + "useast1.s3.amazonaws.com:8443" + key, "us-east-1", false},
		{"trailing dot", "https://" + b + "useast1.s3.amazonaws.com." + key, "us-east-1", false},
		{"path style, bucket is a prefix", "https://s3.amazonaws.com/" + b + "useast1x" + key, "us-east-1", false},
		{"path style, encoded slash", "https://s3.amazonaws.com/" + b + "useast1%2Fx" + key, "us-east-1", false},
		{"path style, bucket only", "https://s3.amazonaws.com/" + b + "useast1", "us-east-1", false},
		{"path style, dot segments", "https://s3.amazonaws.com/" + b + "useast1/../attacker" + key, "us-east-1", false},
		{"path style, encoded dot segments", "https://s3.amazonaws.com/" + b + "useast1/%2e%2E/attacker" + key, "us-east-1", false},
		{"path style, another bucket", "https://s3.amazonaws.com/attacker" + key, "us-east-1", false},
		{"not a URL", "https://%zz", "us-east-1", false},
		{"empty", "", "us-east-1", false},
		{"region unknown", "https://" + b + "useast1.s3.amazonaws.com" + key, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckResponseURL(tt.url, tt.region)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckResponseURL(%q, %q) = %v; want ok %t", tt.url, tt.region, err, tt.ok)
			}
			if err != nil && (!errors.Is(err, ErrResponseURL) || strings.Contains(err.Error(), "X-Amz-Signature")) {
				t.Errorf("error %q: not ErrResponseURL, or shows the signature", err)
			}
		})
	}
}

// recordingTransport stands in for S3 behind http.DefaultClient (which cfn.LambdaWrap uses): it
// records where responses are PUT and what they say.
type recordingTransport struct {
	mu   sync.Mutex
	urls []string
	got  []cfn.Response
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	var resp cfn.Response
	_ = json.Unmarshal(body, &resp)
	rt.mu.Lock()
	rt.urls = append(rt.urls, r.URL.String())
	rt.got = append(rt.got, resp)
	rt.mu.Unlock()
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

// RT-05: until a real deployment has confirmed the pattern, an event with an unexpected
// ResponseURL is logged at ERROR with a stable message (a metric filter counts it) and still
// handled and answered; an expected one is answered without that line. The log never holds the
// URL's signature.
func TestRT05_ResponseURLMismatchIsLoggedAndAnswered(t *testing.T) {
	rec := &recordingTransport{}
	saved := http.DefaultClient.Transport
	http.DefaultClient.Transport = rec
	t.Cleanup(func() { http.DefaultClient.Transport = saved })

	const genuine = "https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/arn%3Aaws%3Acloudformation%3Aeu-west-1%3A123456789012%3Astack/gw/1%7CAmazonPayIpnSafelist%7Cr?X-Amz-Signature=sig0123456789"
	tests := []struct {
		name     string
		url      string
		wantLogs bool
	}{
		{"CloudFormation's bucket", genuine, false},
		{"another host", "https://attacker.example/collect?X-Amz-Signature=sig0123456789", true},
		{"plain http", "http://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/k?X-Amz-Signature=sig0123456789", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs testenv.LogBuffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			h := LambdaHandler(log, "eu-west-1", ResourceHandler(log, Target{Endpoint: exEndpoint}, nil))
			if _, err := h(lambdaCtx(t), cfn.Event{RequestType: cfn.RequestDelete, RequestID: "r", PhysicalResourceID: "p",
				ResponseURL: tt.url, StackID: "arn:aws:cloudformation:eu-west-1:123456789012:stack/gw/1"}); err != nil {
				t.Fatal(err)
			}
			rec.mu.Lock()
			urls, got := rec.urls, rec.got
			rec.urls, rec.got = nil, nil
			rec.mu.Unlock()
			if len(urls) != 1 || urls[0] != tt.url || got[0].Status != cfn.StatusSuccess {
				t.Fatalf("answered %q with %+v; want one SUCCESS to the event's ResponseURL", urls, got)
			}
			lines := logLines(t, &logs)
			if hasLog(lines, "ERROR", MsgResponseURLMismatch) != tt.wantLogs {
				t.Errorf("mismatch logged = %t, want %t: %s", !tt.wantLogs, tt.wantLogs, logs.String())
			}
			if strings.Contains(logs.String(), "sig0123456789") {
				t.Errorf("the log holds the URL's signature: %s", logs.String())
			}
		})
	}
}
