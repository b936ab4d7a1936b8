package admin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }

// What a quarantined request may carry and no output may show by default.
const (
	otp         = "938492"
	headerValue = "header-value-never-printed"
	cardNumber  = "400555******0001"
)

var at = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// newStore is a quarantine store on a new bucket in moto, as NewStore makes it.
func newStore(t *testing.T) (*quarantine.Store, aws.Config) {
	t.Helper()
	cfg, err := localaws.Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := localaws.CreateBucket(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return NewStore(cfg, bucket), cfg
}

func shippingRecord(id string) quarantine.Record {
	return quarantine.Record{
		Webhook: "shipping", Account: "acme", Function: "ShippingOtpFunction", Reason: "invalid_payload",
		Field: "detail.verificationCodeTTL", Message: "detail.verificationCodeTTL: is required", QuarantinedAt: at,
		Request: events.APIGatewayV2HTTPRequest{
			RawPath: "/shipping/notifications",
			Headers: map[string]string{"content-type": "application/json", "x-trace": headerValue},
			Body:    fmt.Sprintf(`{"id":%q,"detail":{"verificationCode":%q}}`, id, otp),
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				RequestID: "req-" + id,
				HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/shipping/notifications"},
			},
		},
	}
}

func apsRecord() quarantine.Record {
	body := "card_number=" + cardNumber + "&status=14"
	return quarantine.Record{
		Webhook: "aps", Function: "ApsFunction", Reason: "internal_error", Message: "the function failed on this delivery",
		QuarantinedAt: at.Add(time.Minute),
		Request: events.APIGatewayV2HTTPRequest{
			RawPath: "/aps/transaction-feedback", IsBase64Encoded: true,
			Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			Body:    base64.StdEncoding.EncodeToString([]byte(body)),
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/aps/transaction-feedback"},
			},
		},
	}
}

func put(t *testing.T, st *quarantine.Store, r quarantine.Record) string {
	t.Helper()
	key, err := st.Put(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func assertNoSecrets(t *testing.T, what, out string) {
	t.Helper()
	for _, s := range []string{otp, headerValue, cardNumber, "verificationCode\""} {
		if strings.Contains(out, s) {
			t.Errorf("%s shows %q:\n%s", what, s, out)
		}
	}
}

func TestListShowsMetadataNeverTheRequest(t *testing.T) {
	ctx := context.Background()
	st, cfg := newStore(t)
	ship := put(t, st, shippingRecord("a"))
	apsKey := put(t, st, apsRecord())
	// Not a record: listed as unreadable, and the listing fails after printing.
	bad := quarantine.Prefix + "shipping/not-a-record.json"
	if _, err := localaws.S3(cfg).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(st.Bucket()), Key: &bad, Body: strings.NewReader("{" + otp)}); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	err := List(ctx, st, Quarantine, "", &out)
	if err == nil || !strings.Contains(err.Error(), "1 record could not be read") || !strings.Contains(err.Error(), bad) {
		t.Errorf("List error = %v, want the unreadable record named", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "KEY") || lines[4] != "3 quarantined deliveries" {
		t.Fatalf("List output:\n%s", out.String())
	}
	row := func(key string) []string {
		for _, l := range lines {
			if f := strings.Fields(l); len(f) > 0 && f[0] == key {
				return f
			}
		}
		t.Fatalf("no row for %s:\n%s", key, out.String())
		return nil
	}
	if got, want := strings.Join(row(ship)[1:7], " "), "shipping acme ShippingOtpFunction invalid_payload detail.verificationCodeTTL 2026-11-23T10:00:00Z"; got != want {
		t.Errorf("shipping row %q, want %q", got, want)
	}
	if got, want := strings.Join(row(apsKey)[1:7], " "), "aps - ApsFunction internal_error - 2026-11-23T10:01:00Z"; got != want {
		t.Errorf("aps row %q, want %q", got, want)
	}
	if r := row(bad); r[4] != "unreadable" {
		t.Errorf("unreadable row %v", r)
	}
	if size := row(ship)[7]; size == "0" || size == "" {
		t.Errorf("size %q", size)
	}
	assertNoSecrets(t, "list", out.String())

	out.Reset()
	if err := List(ctx, st, Quarantine, "aps", &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), apsKey) || strings.Contains(out.String(), ship) {
		t.Errorf("List aps:\n%s", out.String())
	}
	if err := List(ctx, st, Quarantine, "nope", &out); err == nil || !strings.Contains(err.Error(), "unknown webhook") {
		t.Errorf("List nope: %v", err)
	}
}

func TestListEmpty(t *testing.T) {
	st, _ := newStore(t)
	var out bytes.Buffer
	if err := List(context.Background(), st, Quarantine, "amazon-pay", &out); err != nil || out.String() != "no quarantined deliveries\n" {
		t.Errorf("List = %q, %v", out.String(), err)
	}
}

func TestShowPrintsTheBodyOnlyWhenAsked(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	key := put(t, st, apsRecord())

	var out bytes.Buffer
	if err := Show(ctx, st, key, false, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"key:", key, "webhook:", "aps", "function:", "ApsFunction", "reason:", "internal_error",
		"quarantinedAt:", "2026-11-23T10:01:00Z", "request.method:", "POST", "request.path:", "/aps/transaction-feedback",
		"request.contentType:", "application/x-www-form-urlencoded", "request.bodyLength:", fmt.Sprintf("%d bytes", len("card_number="+cardNumber+"&status=14")), "add -body",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("show lacks %q:\n%s", want, out.String())
		}
	}
	assertNoSecrets(t, "show", out.String())

	out.Reset()
	if err := Show(ctx, st, key, true, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "request.body:\ncard_number="+cardNumber+"&status=14\n") {
		t.Errorf("show -body does not end with the decoded body:\n%s", out.String())
	}
	if strings.Contains(out.String(), headerValue) {
		t.Error("show -body printed a header")
	}

	if err := Show(ctx, st, quarantine.Prefix+"aps/missing.json", false, &out); !errors.Is(err, quarantine.ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
	if err := Show(ctx, st, "oversized/x.json", false, &out); err == nil || !strings.Contains(err.Error(), "is not a kept delivery's key") {
		t.Errorf("key outside the quarantine: %v", err)
	}
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	st, cfg := newStore(t)
	k1, k2 := put(t, st, shippingRecord("1")), put(t, st, shippingRecord("2"))
	oversized := "oversized/event.json"
	if _, err := localaws.S3(cfg).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(st.Bucket()), Key: &oversized, Body: strings.NewReader("{}")}); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := Delete(ctx, st, []string{oversized}, &out); err == nil || !strings.Contains(err.Error(), "is not a kept delivery's key") {
		t.Errorf("deleting outside the quarantine: %v", err)
	}
	if _, err := localaws.S3(cfg).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(st.Bucket()), Key: &oversized}); err != nil {
		t.Errorf("the oversized payload is gone: %v", err)
	}

	missing := quarantine.Prefix + "shipping/missing.json"
	err := Delete(ctx, st, []string{k1, missing}, &out)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 not deleted") || !strings.Contains(out.String(), "deleted "+k1+" (shipping, invalid_payload)") ||
		!strings.Contains(out.String(), "not deleted "+missing) {
		t.Errorf("Delete = %v\n%s", err, out.String())
	}
	items, err := st.List(ctx, "")
	if err != nil || len(items) != 1 || items[0].Key != k2 {
		t.Errorf("left: %+v, %v", items, err)
	}
	if err := Delete(ctx, st, nil, &out); err == nil {
		t.Error("Delete without keys succeeded")
	}
}

// fakeInvoker answers each replay order by the key it names, and each re-drive order by
// "redrive " and the key.
type fakeInvoker struct {
	mu      sync.Mutex
	calls   []*lambda.InvokeInput
	answers map[string]func() (*lambda.InvokeOutput, error)
}

func (f *fakeInvoker) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, in)
	var order struct {
		Replay  *struct{ Key string } `json:"quarantineReplay"`
		Redrive *struct{ Key string } `json:"deferredRedrive"`
	}
	if err := json.Unmarshal(in.Payload, &order); err != nil {
		return nil, err
	}
	var key string
	switch {
	case order.Replay != nil:
		key = order.Replay.Key
	case order.Redrive != nil:
		key = "redrive " + order.Redrive.Key
	}
	a, ok := f.answers[key]
	if !ok {
		return nil, fmt.Errorf("unexpected order %s", in.Payload)
	}
	return a()
}

func (f *fakeInvoker) functions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, aws.ToString(c.FunctionName))
	}
	return out
}

// answer is a function's API Gateway response, as Invoke returns it.
func answer(status int, body string) func() (*lambda.InvokeOutput, error) {
	return func() (*lambda.InvokeOutput, error) {
		b, _ := json.Marshal(events.APIGatewayV2HTTPResponse{StatusCode: status, Body: body})
		return &lambda.InvokeOutput{StatusCode: 200, Payload: b}, nil
	}
}

func outcomes(s Summary) map[string]Outcome {
	m := map[string]Outcome{}
	for _, o := range s.Outcomes {
		m[o.Key] = o
	}
	return m
}

func TestReplay(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	processed := put(t, st, shippingRecord("processed"))
	duplicate := put(t, st, shippingRecord("duplicate"))
	stillBad := put(t, st, shippingRecord("still-bad"))
	busy := put(t, st, shippingRecord("busy"))
	crashed := put(t, st, shippingRecord("crashed"))
	unreachable := put(t, st, shippingRecord("unreachable"))
	garbled := put(t, st, shippingRecord("garbled"))
	missing := quarantine.Prefix + "shipping/missing.json"

	inv := &fakeInvoker{answers: map[string]func() (*lambda.InvokeOutput, error){
		processed: answer(200, `{"status":"accepted"}`),
		duplicate: answer(200, `{"status":"duplicate"}`),
		stillBad: answer(202, `{"status":"quarantined","error":"invalid_payload","field":"detail.verificationCodeTTL",`+
			`"message":"detail.verificationCodeTTL: is required","quarantineKey":"`+stillBad+`"}`),
		busy: answer(503, `{"error":"temporarily_unavailable","message":"retry later"}`),
		crashed: func() (*lambda.InvokeOutput, error) {
			return &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"),
				Payload: []byte(`{"errorType":"Sandbox.Timedout","errorMessage":"detail ` + otp + `"}`)}, nil
		},
		unreachable: func() (*lambda.InvokeOutput, error) {
			return nil, &lambdatypes.TooManyRequestsException{Message: aws.String("Rate exceeded")}
		},
		garbled: func() (*lambda.InvokeOutput, error) {
			return &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(`"ok"`)}, nil
		},
	}}
	keys := []string{processed, duplicate, stillBad, busy, crashed, unreachable, garbled, missing, processed}
	var out bytes.Buffer
	s, err := Replay(ctx, st, inv, ReplayOptions{Keys: keys}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if s.OK() || len(s.Outcomes) != 8 {
		t.Fatalf("summary OK=%v with %d outcomes (a repeated key is replayed once)", s.OK(), len(s.Outcomes))
	}
	got := outcomes(s)
	for key, want := range map[string]Outcome{
		processed:   {Result: Replayed, Status: 200, Reason: "accepted", Deleted: true},
		duplicate:   {Result: Replayed, Status: 200, Reason: "duplicate", Deleted: true},
		stillBad:    {Result: StillQuarantined, Status: 202, Reason: "invalid_payload", Field: "detail.verificationCodeTTL"},
		busy:        {Result: Failed, Status: 503, Reason: "temporarily_unavailable"},
		crashed:     {Result: Failed, Reason: "function_error"},
		unreachable: {Result: Failed, Reason: "invoke_failed"},
		garbled:     {Result: Failed, Reason: "unexpected_answer"},
		missing:     {Result: Failed, Reason: "not_found"},
	} {
		o := got[key]
		if o.Result != want.Result || o.Status != want.Status || o.Reason != want.Reason || o.Field != want.Field || o.Deleted != want.Deleted {
			t.Errorf("%s: got %+v, want %+v", key, o, want)
		}
	}
	if m := got[crashed].Message; !strings.Contains(m, "Sandbox.Timedout") {
		t.Errorf("function error message %q lacks the error type", m)
	}
	for _, fn := range inv.functions() {
		if fn != "ShippingOtpFunction" {
			t.Errorf("invoked %q, want the record's function", fn)
		}
	}
	c := inv.calls[0]
	if c.InvocationType != lambdatypes.InvocationTypeRequestResponse || string(c.Payload) != `{"quarantineReplay":{"key":"`+processed+`"}}` {
		t.Errorf("invocation %s %s", c.InvocationType, c.Payload)
	}

	left, err := st.List(ctx, "shipping")
	if err != nil {
		t.Fatal(err)
	}
	var leftKeys []string
	for _, it := range left {
		leftKeys = append(leftKeys, it.Key)
	}
	if len(leftKeys) != 5 || strings.Contains(strings.Join(leftKeys, " "), processed) || strings.Contains(strings.Join(leftKeys, " "), duplicate) {
		t.Errorf("left in the quarantine: %v", leftKeys)
	}

	text := out.String()
	assertNoSecrets(t, "replay", text)
	for _, want := range []string{
		"replayed    " + processed + " -> ShippingOtpFunction: 200 accepted; deleted from the quarantine",
		"quarantined " + stillBad + " -> ShippingOtpFunction: 202 invalid_payload (detail.verificationCodeTTL): detail.verificationCodeTTL: is required; kept",
		"failed      " + busy + " -> ShippingOtpFunction: 503 temporarily_unavailable: retry later; kept",
		"failed      " + missing + " -> -: not_found",
		"8 deliveries: 2 replayed, 1 still quarantined, 5 failed\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}

func TestReplayAllWithOverridesAndDryRun(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	ship := put(t, st, shippingRecord("x"))
	apsKey := put(t, st, apsRecord())
	nameless := shippingRecord("nameless")
	nameless.Function = ""
	noFn := put(t, st, nameless)

	// A dry run invokes nothing and deletes nothing, but a delivery without a function fails it.
	inv := &fakeInvoker{}
	var out bytes.Buffer
	s, err := Replay(ctx, st, inv, ReplayOptions{All: true, Webhook: "shipping", DryRun: true}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.calls) != 0 || s.OK() || len(s.Outcomes) != 2 || outcomes(s)[noFn].Reason != "no_function" || outcomes(s)[ship].Result != WouldReplay {
		t.Errorf("dry run: calls %d, %+v", len(inv.calls), s)
	}
	if !strings.Contains(out.String(), "dry-run     "+ship+" -> ShippingOtpFunction: quarantined for invalid_payload (detail.verificationCodeTTL)") ||
		!strings.Contains(out.String(), "dry run: 1 of 2 deliveries would be replayed, 1 failed") {
		t.Errorf("dry run output:\n%s", out.String())
	}
	if items, _ := st.List(ctx, ""); len(items) != 3 {
		t.Errorf("a dry run changed the quarantine: %v", items)
	}

	// -function names the deployed function when the record's name is not the one to invoke.
	inv = &fakeInvoker{answers: map[string]func() (*lambda.InvokeOutput, error){
		ship: answer(200, `{"status":"accepted"}`), noFn: answer(200, `{"status":"accepted"}`),
		apsKey: answer(200, `{"status":"accepted"}`),
	}}
	out.Reset()
	s, err = Replay(ctx, st, inv, ReplayOptions{All: true, Functions: map[string]string{"shipping": "stack-ShippingOtpFunction-1A2B"}}, &out)
	if err != nil || !s.OK() || len(s.Outcomes) != 3 {
		t.Fatalf("replay all: %v %+v\n%s", err, s, out.String())
	}
	fns := strings.Join(inv.functions(), ",")
	if strings.Count(fns, "stack-ShippingOtpFunction-1A2B") != 2 || !strings.Contains(fns, "ApsFunction") {
		t.Errorf("invoked %s", fns)
	}
	if items, _ := st.List(ctx, ""); len(items) != 0 {
		t.Errorf("left after replaying all: %v", items)
	}
	out.Reset()
	if s, err := Replay(ctx, st, inv, ReplayOptions{All: true}, &out); err != nil || !s.OK() || out.String() != "no quarantined deliveries\n" {
		t.Errorf("empty quarantine: %v %+v %q", err, s, out.String())
	}
}

// failingDelete is a store whose deletes fail.
type failingDelete struct{ Store }

func (failingDelete) Delete(context.Context, string) error { return errors.New("access denied") }

func TestReplayedButNotDeletedIsNotASuccess(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	key := put(t, st, shippingRecord("kept"))
	inv := &fakeInvoker{answers: map[string]func() (*lambda.InvokeOutput, error){key: answer(200, `{"status":"accepted"}`)}}
	var out bytes.Buffer
	s, err := Replay(ctx, failingDelete{st}, inv, ReplayOptions{Keys: []string{key}}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if s.OK() || s.Outcomes[0].Result != Replayed || s.Outcomes[0].Deleted {
		t.Errorf("%+v", s)
	}
	if !strings.Contains(out.String(), "NOT deleted") || !strings.Contains(out.String(), "(1 replayed but not deleted from the quarantine)") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestReplayRejectsBadOptions(t *testing.T) {
	st, _ := newStore(t)
	ship := quarantine.Prefix + "shipping/x.json"
	for name, o := range map[string]ReplayOptions{
		"nothing":                      {},
		"keys and all":                 {All: true, Keys: []string{ship}},
		"unknown webhook":              {All: true, Webhook: "nope"},
		"key of other webhook":         {Keys: []string{ship}, Webhook: "aps"},
		"is not a kept delivery's key": {Keys: []string{"oversized/x.json"}},
		"nested key":                   {Keys: []string{quarantine.Prefix + "shipping/a/b.json"}},
		"unknown override":             {All: true, Functions: map[string]string{"nope": "fn"}},
	} {
		inv := &fakeInvoker{}
		if _, err := Replay(context.Background(), st, inv, o, &bytes.Buffer{}); err == nil || len(inv.calls) != 0 {
			t.Errorf("%s: err %v, %d calls", name, err, len(inv.calls))
		}
	}
}
