package bench_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/amazon-webhook-gateway/gateway/shared/awsconfig"
)

// fakeAWS is AWS as the functions' SDK clients reach it in the bench: the http.RoundTripper under
// their aws.Config's HTTP client. Everything above it is the product's and the SDK's own code
// (serialisation, endpoint resolution, SigV4 signing, retryer, deserialisation); below it, each
// call is answered at once with a canned, valid response of the real service, as if it
// succeeded: no network, no emulator. A call it has no answer for fails, and is recorded.
type fakeAWS struct {
	// secrets are GetSecretValue's answers by SecretId.
	secrets map[string][]byte

	recording atomic.Bool
	mu        sync.Mutex
	calls     []string // service:operation, in order, while recording
}

// Canned answers. DynamoDB's writes answer {} (no ReturnValues asked for on success), as they do.
var (
	dynamoEmpty   = []byte(`{}`)
	putEventsOK   [11][]byte // by entry count: PutEvents takes at most 10 entries
	detailTypeKey = []byte(`"DetailType":`)
)

func init() {
	for n := range putEventsOK {
		var b strings.Builder
		b.WriteString(`{"FailedEntryCount":0,"Entries":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"EventId":"11111111-2222-3333-4444-%012d"}`, i)
		}
		b.WriteString(`]}`)
		putEventsOK[n] = []byte(b.String())
	}
}

const (
	amzJSON10 = "application/x-amz-json-1.0" // DynamoDB
	amzJSON11 = "application/x-amz-json-1.1" // EventBridge, Secrets Manager
)

// bodies are the request bodies read, as a transport reads them to send them.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (f *fakeAWS) RoundTrip(req *http.Request) (*http.Response, error) {
	buf := bodies.Get().(*bytes.Buffer)
	defer bodies.Put(buf)
	buf.Reset()
	if req.Body != nil {
		_, err := buf.ReadFrom(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	call, status, contentType, body := f.answer(req, buf.Bytes())
	// DynamoDB's responses carry their body's CRC32, which its client checks.
	crc := ""
	if contentType == amzJSON10 {
		crc = strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10)
	}
	if f.recording.Load() {
		f.mu.Lock()
		f.calls = append(f.calls, call)
		f.mu.Unlock()
	}
	h := http.Header{
		"Content-Type":     {contentType},
		"Content-Length":   {strconv.Itoa(len(body))},
		"X-Amzn-Requestid": {"00000000-0000-0000-0000-000000000000"},
		"Date":             {time.Now().UTC().Format(http.TimeFormat)},
	}
	if crc != "" {
		h["X-Amz-Crc32"] = []string{crc}
	}
	return &http.Response{
		Status: strconv.Itoa(status) + " " + http.StatusText(status), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h,
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}, nil
}

// answer is the service's answer to req (its body read): the call's name, and the response.
func (f *fakeAWS) answer(req *http.Request, in []byte) (call string, status int, contentType string, body []byte) {
	target := req.Header.Get("X-Amz-Target")
	switch {
	case strings.HasPrefix(target, "DynamoDB_20120810."):
		op := strings.TrimPrefix(target, "DynamoDB_20120810.")
		switch op {
		case "TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem":
			return "dynamodb:" + op, 200, amzJSON10, dynamoEmpty
		}
		return "dynamodb:" + op, 400, amzJSON10, unknown(op)
	case target == "AWSEvents.PutEvents":
		n := bytes.Count(in, detailTypeKey)
		if n < 1 || n >= len(putEventsOK) {
			return "events:PutEvents", 400, amzJSON11, []byte(`{"__type":"ValidationException","message":"1 to 10 entries"}`)
		}
		return "events:PutEvents", 200, amzJSON11, putEventsOK[n]
	case target == "secretsmanager.GetSecretValue":
		var id struct{ SecretId string }
		_ = json.Unmarshal(in, &id)
		if s, ok := f.secrets[id.SecretId]; ok {
			return "secretsmanager:GetSecretValue", 200, amzJSON11, s
		}
		return "secretsmanager:GetSecretValue", 400, amzJSON11,
			[]byte(`{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`)
	case target == "" && strings.HasPrefix(req.URL.Host, "s3.") && req.Method == http.MethodPut:
		return "s3:PutObject", 200, "application/xml", nil
	}
	return req.Method + " " + req.URL.Host + " " + target, 400, amzJSON11, unknown(target)
}

func unknown(op string) []byte {
	return []byte(`{"__type":"UnknownOperationException","message":"the bench's fake AWS has no answer for ` + op + `"}`)
}

// record starts recording the calls made; recorded returns them and stops.
func (f *fakeAWS) record() {
	f.mu.Lock()
	f.calls = nil
	f.mu.Unlock()
	f.recording.Store(true)
}

func (f *fakeAWS) recorded() []string {
	f.recording.Store(false)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// secretValue is GetSecretValue's answer for the secret name holding doc.
func secretValue(name string, doc []byte) []byte {
	b, err := json.Marshal(map[string]any{
		"ARN":  "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + name + "-AbCdEf",
		"Name": name, "SecretString": string(doc), "VersionId": "00000000-0000-0000-0000-000000000001",
		"VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
	})
	if err != nil {
		panic(err)
	}
	return b
}

// onFake is cfg (awsconfig.Load's, as main.go has it) with f as the network: the client
// awsconfig.Apply sets is an http.Client with the attempt timeout over a real transport; here the
// same http.Client over f. The retryer, region and credentials stay as loaded.
func onFake(cfg aws.Config, f *fakeAWS) aws.Config {
	cfg.HTTPClient = &http.Client{Transport: f, Timeout: awsconfig.AttemptTimeout}
	return cfg
}

// certFake serves the SNS signing certificate at url, in memory, for the Amazon Pay function's
// SNS verifier (its Config.HTTPClient, which main.go leaves to the default client).
type certFake struct {
	url     string
	pem     []byte
	fetches atomic.Int64
}

func (c *certFake) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
	status, body := http.StatusNotFound, []byte("not found")
	if req.Method == http.MethodGet && req.URL.String() == c.url {
		c.fetches.Add(1)
		status, body = http.StatusOK, c.pem
	}
	return &http.Response{
		Status: strconv.Itoa(status) + " " + http.StatusText(status), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/x-pem-file"}},
		Body:   io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}, nil
}
