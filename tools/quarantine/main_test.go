package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
	"github.com/amazon-webhook-gateway/gateway/tools/quarantine/admin"
)

// memStore is an in-memory quarantine; the admin package's tests cover the real one in moto.
type memStore map[string]quarantine.Record

func (m memStore) ListIn(_ context.Context, place, webhook string) ([]quarantine.Item, error) {
	var items []quarantine.Item
	for k := range m {
		if strings.HasPrefix(k, place+webhook) {
			items = append(items, quarantine.Item{Key: k, Size: 100})
		}
	}
	slices.SortFunc(items, func(a, b quarantine.Item) int { return strings.Compare(a.Key, b.Key) })
	return items, nil
}

func (m memStore) Get(_ context.Context, key string) (quarantine.Record, error) {
	r, ok := m[key]
	if !ok {
		return r, fmt.Errorf("%w: %s", quarantine.ErrNotFound, key)
	}
	return r, nil
}

func (m memStore) Delete(_ context.Context, key string) error { delete(m, key); return nil }

// okInvoker answers every invocation 200 (or status, when set) and records the function names
// and payloads.
type okInvoker struct {
	status    int
	functions []string
	payloads  []string
}

func (o *okInvoker) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	o.functions = append(o.functions, aws.ToString(in.FunctionName))
	o.payloads = append(o.payloads, string(in.Payload))
	resp := events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: `{"status":"accepted"}`}
	if o.status != 0 {
		resp = events.APIGatewayV2HTTPResponse{StatusCode: o.status, Body: `{"error":"temporarily_unavailable","message":"retry later"}`}
	}
	b, _ := json.Marshal(resp)
	return &lambda.InvokeOutput{StatusCode: 200, Payload: b}, nil
}

const (
	shipKey     = quarantine.Prefix + "shipping/aaa.json"
	apsKey      = quarantine.Prefix + "aps/bbb.json"
	deferredKey = quarantine.DeferredPrefix + "aps/ccc.json"
	deadKey     = quarantine.DeadPrefix + "amazon-pay/ddd.json"
	otp         = "938492"
)

func fixture() memStore {
	req := func(body string) events.APIGatewayV2HTTPRequest {
		return events.APIGatewayV2HTTPRequest{RawPath: "/x", Body: body, Headers: map[string]string{"content-type": "application/json"}}
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return memStore{
		shipKey:     {Webhook: "shipping", Function: "ShippingOtpFunction", Reason: "invalid_payload", QuarantinedAt: at, Request: req(`{"otp":"` + otp + `"}`)},
		apsKey:      {Webhook: "aps", Function: "ApsFunction", Reason: "internal_error", QuarantinedAt: at, Request: req(`{}`)},
		deferredKey: {Webhook: "aps", Function: "ApsFunction", Reason: "temporarily_unavailable", QuarantinedAt: at, Request: req(`{}`)},
		deadKey:     {Webhook: "amazon-pay", Function: "AmazonPayIpnFunction", Reason: "retention_exceeded", QuarantinedAt: at, Request: req(`{}`)},
	}
}

type result struct {
	code           int
	stdout, stderr string
	bucket         string // the bucket the command opened, "" when it opened none
}

func runWith(t *testing.T, store memStore, inv admin.Invoker, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	var r result
	open := func(_ context.Context, bucket string) (admin.Store, admin.Invoker, error) {
		r.bucket = bucket
		return store, inv, nil
	}
	r.code = run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut, open)
	r.stdout, r.stderr = out.String(), errOut.String()
	return r
}

func TestUsageErrors(t *testing.T) {
	env := map[string]string{bucketEnv: "payloads"}
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no command", env, nil, "usage: quarantine <command>"},
		{"unknown command", env, []string{"purge"}, `unknown command "purge"`},
		{"no bucket", nil, []string{"list"}, "no bucket: pass -bucket or set PAYLOAD_BUCKET"},
		{"list arguments", env, []string{"list", "extra"}, "unexpected arguments"},
		{"show without key", env, []string{"show"}, "give exactly one key"},
		{"show two keys", env, []string{"show", shipKey, apsKey}, "give exactly one key"},
		{"replay nothing", env, []string{"replay"}, "give the keys to replay, or -all"},
		{"replay keys and all", env, []string{"replay", "-all", shipKey}, "give the keys to replay, or -all"},
		{"delete nothing", env, []string{"delete"}, "give the keys to delete"},
		{"bad -function", env, []string{"replay", "-all", "-function", "shipping"}, "is not WEBHOOK=FUNCTION"},
		{"-function of unknown webhook", env, []string{"replay", "-all", "-function", "sms=fn"}, "unknown webhook"},
		{"flag of another command", env, []string{"list", "-body"}, "flag provided but not defined: -body"},
		{"unknown webhook", env, []string{"replay", "-all", "-webhook", "sms"}, `unknown webhook "sms"`},
		{"not a quarantine key", env, []string{"delete", "oversized/x.json"}, `"oversized/x.json" is not a kept delivery's key`},
		{"unknown place", env, []string{"list", "-place", "deferred/"}, `unknown place "deferred/" (one of quarantine, deferred, dead)`},
		{"replay of a deferred key", env, []string{"replay", deferredKey}, "re-drive it with quarantine redrive"},
		{"redrive nothing", env, []string{"redrive"}, "give the keys to re-drive, or -all"},
		{"redrive keys and all", env, []string{"redrive", "-all", deferredKey}, "give the keys to re-drive, or -all"},
		{"redrive of a quarantine key", env, []string{"redrive", shipKey}, "replay it with quarantine replay"},
		{"redrive -dead of a deferred key", env, []string{"redrive", "-dead", deferredKey}, "not one under deferred-dead/"},
		{"redrive of unknown webhook", env, []string{"redrive", "-all", "-webhook", "sms"}, `unknown webhook "sms"`},
		{"-dead of another command", env, []string{"replay", "-all", "-dead"}, "flag provided but not defined: -dead"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runWith(t, fixture(), &okInvoker{}, tt.env, tt.args...)
			if r.code != exitUsage || r.bucket != "" || r.stdout != "" || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, opened %q, stdout %q, stderr %q; want %d and %q", r.code, r.bucket, r.stdout, r.stderr, exitUsage, tt.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	if r := runWith(t, nil, nil, nil, "help"); r.code != 0 || !strings.Contains(r.stdout, "replay  [-all | KEY...]") || !strings.Contains(r.stdout, "redrive [-all | KEY...] [-dead]") {
		t.Errorf("help: %+v", r)
	}
	if r := runWith(t, nil, nil, nil, "redrive", "-h"); r.code != 0 || !strings.Contains(r.stderr, "-dead") || r.bucket != "" {
		t.Errorf("redrive -h: %+v", r)
	}
	if r := runWith(t, nil, nil, nil, "replay", "-h"); r.code != 0 || !strings.Contains(r.stderr, "-dry-run") || r.bucket != "" {
		t.Errorf("replay -h: %+v", r)
	}
}

func TestCommands(t *testing.T) {
	env := map[string]string{bucketEnv: "payloads"}

	r := runWith(t, fixture(), nil, env, "list", "-webhook", "shipping")
	if r.code != 0 || r.bucket != "payloads" || !strings.Contains(r.stdout, shipKey) || strings.Contains(r.stdout, apsKey) || strings.Contains(r.stdout, otp) {
		t.Errorf("list: %+v", r)
	}
	if r := runWith(t, fixture(), nil, env, "list", "-bucket", "other"); r.bucket != "other" {
		t.Errorf("-bucket: opened %q", r.bucket)
	}
	if r := runWith(t, fixture(), nil, env, "list", "-webhook", "sms"); r.code != exitUsage || !strings.Contains(r.stderr, "unknown webhook") {
		t.Errorf("list -webhook sms: %+v", r)
	}

	r = runWith(t, fixture(), nil, env, "show", shipKey)
	if r.code != 0 || !strings.Contains(r.stdout, "invalid_payload") || strings.Contains(r.stdout, otp) {
		t.Errorf("show: %+v", r)
	}
	r = runWith(t, fixture(), nil, env, "show", shipKey, "-body")
	if r.code != 0 || !strings.Contains(r.stdout, otp) || !strings.Contains(r.stderr, "may hold OTPs") {
		t.Errorf("show -body (after the key): %+v", r)
	}

	// Flags after keys are flags; after "--" everything is a key.
	store := fixture()
	r = runWith(t, store, &okInvoker{}, env, "replay", shipKey, "-dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "dry run: 1 of 1 delivery would be replayed") || len(store) != 4 {
		t.Errorf("replay KEY -dry-run: %+v", r)
	}
	r = runWith(t, store, &okInvoker{}, env, "replay", "--", "-dry-run")
	if r.code != exitUsage || r.bucket != "" || !strings.Contains(r.stderr, `"-dry-run" is not a kept delivery's key`) {
		t.Errorf("replay -- -dry-run: %+v", r)
	}

	// replay -all replays the quarantine only: the deferred deliveries stay.
	inv := &okInvoker{}
	r = runWith(t, store, inv, env, "replay", "-all", "-function", "shipping=deployed-shipping", "-function-name", "aps=deployed-aps")
	if r.code != 0 || len(store) != 2 || strings.Join(inv.functions, ",") != "deployed-aps,deployed-shipping" {
		t.Errorf("replay -all: %+v, invoked %v, left %v", r, inv.functions, store)
	}

	// A replay that does not empty the quarantine exits 1.
	r = runWith(t, fixture(), &okInvoker{}, env, "replay", quarantine.Prefix+"shipping/missing.json")
	if r.code != exitFail || !strings.Contains(r.stdout, "1 delivery: 0 replayed, 0 still quarantined, 1 failed") {
		t.Errorf("replay of a missing key: %+v", r)
	}

	store = fixture()
	r = runWith(t, store, nil, env, "delete", shipKey)
	if r.code != 0 || len(store) != 3 || !strings.Contains(r.stdout, "deleted "+shipKey) {
		t.Errorf("delete: %+v", r)
	}
	if r := runWith(t, store, nil, env, "delete", shipKey); r.code != exitFail || !strings.Contains(r.stderr, "no such delivery") {
		t.Errorf("delete again: %+v", r)
	}
}

func TestPlacesOfListShowAndDelete(t *testing.T) {
	env := map[string]string{bucketEnv: "payloads"}
	for _, tt := range []struct {
		args       []string
		want, lack []string
	}{
		{[]string{"list"}, []string{shipKey, apsKey, "QUARANTINED_AT", "2 quarantined deliveries"}, []string{deferredKey, deadKey}},
		{[]string{"list", "-place", "deferred"}, []string{deferredKey, "DEFERRED_AT", "1 deferred delivery"}, []string{shipKey, deadKey}},
		{[]string{"list", "-place", "dead", "-webhook", "amazon-pay"}, []string{deadKey, "1 dead-lettered delivery"}, []string{deferredKey}},
		{[]string{"list", "-place", "dead", "-webhook", "aps"}, []string{"no dead-lettered deliveries"}, []string{deadKey}},
		{[]string{"show", deferredKey}, []string{"place:", "deferred", "deferredAt:", "temporarily_unavailable"}, []string{"quarantinedAt"}},
		{[]string{"show", deadKey}, []string{"retention_exceeded"}, nil},
	} {
		r := runWith(t, fixture(), nil, env, tt.args...)
		if r.code != 0 {
			t.Errorf("%v: %+v", tt.args, r)
		}
		for _, w := range tt.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%v: stdout lacks %q:\n%s", tt.args, w, r.stdout)
			}
		}
		for _, l := range tt.lack {
			if strings.Contains(r.stdout, l) {
				t.Errorf("%v: stdout has %q:\n%s", tt.args, l, r.stdout)
			}
		}
	}

	// delete discards deliveries of every place.
	store := fixture()
	r := runWith(t, store, nil, env, "delete", deferredKey, deadKey)
	if _, deferredLeft := store[deferredKey]; r.code != 0 || deferredLeft || len(store) != 2 {
		t.Errorf("delete: %+v, left %v", r, store)
	}
}

func TestRedriveAllInvokesEachDeferredDeliveryAndDeletesNothing(t *testing.T) {
	env := map[string]string{bucketEnv: "payloads"}
	for _, tt := range []struct {
		name     string
		args     []string
		status   int // the function's answer, 200 when 0
		code     int
		invoked  []string // keys in the re-drive orders
		function string
	}{
		{"a sweep", []string{"redrive", "-all"}, 0, exitOK, []string{deferredKey}, "ApsFunction"},
		{"a sweep of the dead-lettered", []string{"redrive", "-all", "-dead"}, 0, exitOK, []string{deadKey}, "AmazonPayIpnFunction"},
		{"a dead-lettered key by hand", []string{"redrive", deadKey}, 0, exitOK, []string{deadKey}, "AmazonPayIpnFunction"},
		{"a sweep of another webhook", []string{"redrive", "-all", "-webhook", "shipping"}, 0, exitOK, nil, ""},
		{"a deployed function's name", []string{"redrive", "-all", "-function", "aps=stack-ApsFunction-1"}, 0, exitOK, []string{deferredKey}, "stack-ApsFunction-1"},
		{"a dry run", []string{"redrive", "-all", "-dry-run"}, 0, exitOK, nil, ""},
		{"the bus still down", []string{"redrive", "-all"}, 503, exitFail, []string{deferredKey}, "ApsFunction"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store, inv := fixture(), &okInvoker{status: tt.status}
			r := runWith(t, store, inv, env, tt.args...)
			var invoked []string
			for _, p := range inv.payloads {
				var order struct {
					Redrive struct{ Key string } `json:"deferredRedrive"`
				}
				if err := json.Unmarshal([]byte(p), &order); err != nil || order.Redrive.Key == "" {
					t.Fatalf("not a re-drive order: %s", p)
				}
				invoked = append(invoked, order.Redrive.Key)
			}
			if r.code != tt.code || !slices.Equal(invoked, tt.invoked) || len(store) != 4 {
				t.Errorf("exit %d, re-drove %v, %d left; want %d, %v, 4 (the CLI deletes nothing)\n%s%s", r.code, invoked, len(store), tt.code, tt.invoked, r.stdout, r.stderr)
			}
			if tt.function != "" && (len(inv.functions) == 0 || inv.functions[0] != tt.function) {
				t.Errorf("invoked %v, want %s", inv.functions, tt.function)
			}
		})
	}
}

// make redrive is one sweep of this command (KEYS: those keys), and make bus-down and bus-up
// call make run's switch on ADDR.
func TestMakeTargetsRunTheSweepAndTheSwitch(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"redrive"}, "go run ./tools/quarantine redrive -all \n"},
		{[]string{"redrive", "ARGS=-webhook aps -dry-run"}, "go run ./tools/quarantine redrive -all -webhook aps -dry-run\n"},
		{[]string{"redrive", "KEYS=" + deferredKey, "ARGS=-dead"}, "go run ./tools/quarantine redrive " + deferredKey + " -dead\n"},
		{[]string{"bus-down"}, "curl -fsS -X POST 'http://127.0.0.1:3000/_localstack/bus/down'"},
		{[]string{"bus-up", "ADDR=127.0.0.1:3100"}, "curl -fsS -X POST 'http://127.0.0.1:3100/_localstack/bus/up'"},
	} {
		cmd := exec.Command("make", append([]string{"-n", "--no-print-directory"}, tt.args...)...)
		cmd.Dir = localaws.RepoRoot()
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), tt.want) {
			t.Errorf("make -n %v: %v\n%s\nwant %q", tt.args, err, out, tt.want)
		}
	}
}

func TestOpenFailure(t *testing.T) {
	var errOut bytes.Buffer
	open := func(context.Context, string) (admin.Store, admin.Invoker, error) {
		return nil, nil, errors.New("loading AWS configuration: no region")
	}
	code := run(context.Background(), []string{"list", "-bucket", "b"}, func(string) string { return "" }, io.Discard, &errOut, open)
	if code != exitFail || !strings.Contains(errOut.String(), "no region") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

func TestParseInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dry := fs.Bool("dry-run", false, "")
	web := fs.String("webhook", "", "")
	got, err := parseInterspersed(fs, []string{"k1", "-dry-run", "k2", "-webhook", "aps", "k3", "--", "-k4"})
	if err != nil || !*dry || *web != "aps" || strings.Join(got, " ") != "k1 k2 k3 -k4" {
		t.Errorf("got %q, dry %v, webhook %q, %v", got, *dry, *web, err)
	}
}
