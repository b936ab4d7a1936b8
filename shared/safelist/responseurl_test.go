package safelist

import (
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

// ResponseURL must be CloudFormation's response bucket for the function's region, on S3,
// in each form S3 serves it. Real examples: AWS's CloudFormation guide names the bucket
// cloudformation-custom-resource-response-<region without dashes>; logged ResponseURLs show
// useast1.s3.amazonaws.com and euwest1.s3-eu-west-1.amazonaws.com.
func TestResponseURLCheckAcceptsOnlyTheRegionsBucketInEachS3Form(t *testing.T) {
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

// Until a real deployment has confirmed the pattern, an event with an unexpected
// ResponseURL is logged at ERROR with a stable message (a metric filter counts it) and still
// handled and answered; an expected one is answered without that line. The log never holds the
// URL's signature.
func TestAnUnexpectedResponseURLIsLoggedAndStillAnswered(t *testing.T) {
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
