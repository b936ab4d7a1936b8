package admin

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
)

// putIn keeps r in place, under the key the function would give it, as the keeper does.
func putIn(t *testing.T, st *quarantine.Store, place Place, r quarantine.Record) string {
	t.Helper()
	key := quarantine.KeyIn(place.Prefix, r.Webhook, &r.Request)
	if err := st.PutAt(context.Background(), key, r); err != nil {
		t.Fatal(err)
	}
	return key
}

// deferredRecord is a delivery the APS function deferred while the bus was unavailable.
func deferredRecord(id string) quarantine.Record {
	r := apsRecord()
	r.Reason, r.Message = "temporarily_unavailable", "a dependency was unavailable; the delivery is kept and re-driven automatically"
	r.Request.Body = base64.StdEncoding.EncodeToString([]byte("card_number=" + cardNumber + "&status=14&merchant_reference=" + id))
	return r
}

func keysIn(t *testing.T, st *quarantine.Store, place Place) []string {
	t.Helper()
	items, err := st.ListIn(context.Background(), place.Prefix, "")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, it := range items {
		keys = append(keys, it.Key)
	}
	return keys
}

func TestListShowsOnePlaceAtATime(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	inPlace := map[Place]string{
		Quarantine: putIn(t, st, Quarantine, shippingRecord("q")),
		Deferred:   putIn(t, st, Deferred, deferredRecord("d")),
		Dead:       putIn(t, st, Dead, deferredRecord("x")),
	}
	for _, tt := range []struct {
		place        Place
		column, last string
	}{
		{Quarantine, "QUARANTINED_AT", "1 quarantined delivery"},
		{Deferred, "DEFERRED_AT", "1 deferred delivery"},
		{Dead, "DEFERRED_AT", "1 dead-lettered delivery"},
	} {
		t.Run(tt.place.Name, func(t *testing.T) {
			var out bytes.Buffer
			if err := List(ctx, st, tt.place, "", &out); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != 3 || !strings.Contains(lines[0], tt.column) || lines[2] != tt.last || !strings.HasPrefix(lines[1], inPlace[tt.place]+" ") {
				t.Errorf("List %s:\n%s", tt.place.Name, out.String())
			}
			assertNoSecrets(t, "list", out.String())
			out.Reset()
			if err := List(ctx, st, tt.place, "amazon-pay", &out); err != nil || out.String() != "no "+tt.place.Adjective+" deliveries\n" {
				t.Errorf("List %s amazon-pay = %q, %v", tt.place.Name, out.String(), err)
			}
		})
	}
}

func TestShowAndDeleteTakeKeysOfEveryPlace(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	deferred := putIn(t, st, Deferred, deferredRecord("d"))
	dead := putIn(t, st, Dead, deferredRecord("x"))

	var out bytes.Buffer
	if err := Show(ctx, st, deferred, false, &out); err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	for line := range strings.Lines(out.String()) {
		if name, value, ok := strings.Cut(line, ":"); ok {
			fields[name] = strings.TrimSpace(value)
		}
	}
	if fields["place"] != "deferred" || fields["deferredAt"] != "2026-11-23T10:01:00Z" || fields["reason"] != "temporarily_unavailable" {
		t.Errorf("show:\n%s", out.String())
	}
	assertNoSecrets(t, "show", out.String())

	out.Reset()
	if err := Delete(ctx, st, []string{deferred, dead}, &out); err != nil {
		t.Fatalf("Delete: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "deleted "+deferred+" (aps, temporarily_unavailable)") || !strings.Contains(out.String(), "deleted "+dead) {
		t.Errorf("Delete output:\n%s", out.String())
	}
	if left := append(keysIn(t, st, Deferred), keysIn(t, st, Dead)...); len(left) != 0 {
		t.Errorf("left after delete: %v", left)
	}
}

func TestRedriveReportsEachAnswerAndDeletesNothing(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	accepted := putIn(t, st, Deferred, deferredRecord("accepted"))
	duplicate := putIn(t, st, Deferred, deferredRecord("duplicate"))
	invalid := putIn(t, st, Deferred, deferredRecord("invalid"))
	expired := putIn(t, st, Deferred, deferredRecord("expired"))
	raced := putIn(t, st, Deferred, deferredRecord("raced"))
	busDown := putIn(t, st, Deferred, deferredRecord("bus-down"))
	busy := putIn(t, st, Deferred, deferredRecord("busy"))
	wrong := putIn(t, st, Deferred, deferredRecord("wrong"))
	crashed := putIn(t, st, Deferred, deferredRecord("crashed"))
	unreachable := putIn(t, st, Deferred, deferredRecord("unreachable"))
	deadOne := putIn(t, st, Dead, deferredRecord("dead"))
	missing := quarantine.DeferredPrefix + "aps/missing.json"
	quarantineKey := quarantine.Prefix + "aps/invalid.json"
	deadKey := quarantine.DeadPrefix + strings.TrimPrefix(expired, quarantine.DeferredPrefix)

	inv := &fakeInvoker{answers: map[string]func() (*lambda.InvokeOutput, error){
		"redrive " + accepted:  answer(200, `{"status":"accepted","merchantReference":"accepted"}`),
		"redrive " + duplicate: answer(200, `{"status":"duplicate"}`),
		"redrive " + invalid:   answer(202, `{"status":"quarantined","error":"invalid_payload","field":"amount","message":"amount: not a number","quarantineKey":"`+quarantineKey+`"}`),
		"redrive " + expired: answer(200, `{"status":"dead_lettered","error":"retention_exceeded",`+
			`"message":"the delivery could not be re-driven within the retention","deadKey":"`+deadKey+`"}`),
		"redrive " + raced:   answer(404, `{"error":"not_found","message":"no deferred delivery with that key"}`),
		"redrive " + busDown: answer(503, `{"error":"temporarily_unavailable","message":"retry later"}`),
		"redrive " + busy:    answer(429, `{"error":"in_progress","message":"the same delivery is being processed"}`),
		"redrive " + wrong:   answer(409, `{"error":"wrong_function","message":"the delivery belongs to the shipping webhook"}`),
		"redrive " + crashed: func() (*lambda.InvokeOutput, error) {
			return &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"), Payload: []byte(`{"errorType":"Runtime.ExitError"}`)}, nil
		},
		"redrive " + unreachable: func() (*lambda.InvokeOutput, error) {
			return nil, &lambdatypes.TooManyRequestsException{Message: aws.String("Rate exceeded")}
		},
		"redrive " + deadOne: answer(200, `{"status":"accepted"}`),
	}}
	keys := []string{accepted, duplicate, invalid, expired, raced, busDown, busy, wrong, crashed, unreachable, deadOne, missing, accepted}
	var out bytes.Buffer
	s, err := Redrive(ctx, st, inv, RedriveOptions{Keys: keys}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if s.OK() || len(s.Outcomes) != 12 {
		t.Fatalf("summary OK=%v with %d outcomes (a repeated key is re-driven once):\n%s", s.OK(), len(s.Outcomes), out.String())
	}
	got := map[string]RedriveOutcome{}
	for _, o := range s.Outcomes {
		got[o.Key] = o
	}
	for _, tt := range []struct {
		key    string
		result RedriveResult
		status int
		reason string
		newKey string
		final  bool
	}{
		{accepted, Redriven, 200, "accepted", "", true},
		{duplicate, Redriven, 200, "duplicate", "", true},
		{invalid, RedriveQuarantined, 202, "invalid_payload", quarantineKey, true},
		{expired, DeadLettered, 200, "retention_exceeded", deadKey, false},
		// Named by hand: a 404 may be a typo, so it is not final.
		{raced, Gone, 404, "not_found", "", false},
		{busDown, RedriveFailed, 503, "temporarily_unavailable", "", false},
		{busy, RedriveFailed, 429, "in_progress", "", false},
		{wrong, RedriveFailed, 409, "wrong_function", "", false},
		{crashed, RedriveFailed, 0, "function_error", "", false},
		{unreachable, RedriveFailed, 0, "invoke_failed", "", false},
		{deadOne, Redriven, 200, "accepted", "", true},
		{missing, Gone, 0, "not_found", "", false},
	} {
		o := got[tt.key]
		if o.Result != tt.result || o.Status != tt.status || o.Reason != tt.reason || o.NewKey != tt.newKey || s.Final(o) != tt.final {
			t.Errorf("%s: got %+v (final %v), want %s %d %s %q (final %v)", tt.key, o, s.Final(o), tt.result, tt.status, tt.reason, tt.newKey, tt.final)
		}
	}
	c := inv.calls[0]
	if aws.ToString(c.FunctionName) != "ApsFunction" || c.InvocationType != lambdatypes.InvocationTypeRequestResponse ||
		string(c.Payload) != `{"deferredRedrive":{"key":"`+accepted+`"}}` {
		t.Errorf("invocation %s %s %s", aws.ToString(c.FunctionName), c.InvocationType, c.Payload)
	}
	// The functions delete what they re-drove; the CLI deletes nothing.
	if left := len(keysIn(t, st, Deferred)) + len(keysIn(t, st, Dead)); left != 11 {
		t.Errorf("%d objects left, want all 11: the CLI must not delete", left)
	}

	text := out.String()
	assertNoSecrets(t, "redrive", text)
	for _, want := range []string{
		"redriven      " + accepted + " -> ApsFunction: 200 accepted; the function deleted it",
		"quarantined   " + invalid + " -> ApsFunction: 202 invalid_payload (amount): amount: not a number; now in the quarantine as " + quarantineKey,
		"dead-lettered " + expired + " -> ApsFunction: 200 retention_exceeded: the delivery could not be re-driven within the retention; moved to " + deadKey,
		"failed        " + busDown + " -> ApsFunction: 503 temporarily_unavailable: retry later; kept",
		"gone          " + missing + " -> -: not_found: no deferred delivery with that key\n",
		"12 deliveries: 3 re-driven, 1 quarantined, 1 dead-lettered, 2 gone, 5 failed\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}

func TestRedriveAllSweepsOnePlace(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	quarantined := putIn(t, st, Quarantine, shippingRecord("q"))
	apsDeferred := putIn(t, st, Deferred, deferredRecord("d"))
	shipDeferredRecord := shippingRecord("s")
	shipDeferredRecord.Reason = "temporarily_unavailable"
	shipDeferred := putIn(t, st, Deferred, shipDeferredRecord)
	gone := putIn(t, st, Deferred, deferredRecord("gone"))
	dead := putIn(t, st, Dead, deferredRecord("x"))
	accepted := answer(200, `{"status":"accepted"}`)

	for _, tt := range []struct {
		name    string
		o       RedriveOptions
		invoked []string // the keys re-driven, in order
		ok      bool
	}{
		{"every deferred delivery, a gone one final", RedriveOptions{All: true}, []string{apsDeferred, shipDeferred, gone}, true},
		{"one webhook's", RedriveOptions{All: true, Webhook: "shipping"}, []string{shipDeferred}, true},
		{"the dead-lettered ones", RedriveOptions{All: true, Dead: true}, []string{dead}, true},
		{"the dead-lettered ones of another webhook", RedriveOptions{All: true, Dead: true, Webhook: "shipping"}, nil, true},
		{"a gone one named by hand", RedriveOptions{Keys: []string{gone}}, []string{gone}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inv := &fakeInvoker{answers: map[string]func() (*lambda.InvokeOutput, error){
				"redrive " + apsDeferred:  accepted,
				"redrive " + shipDeferred: accepted,
				"redrive " + dead:         accepted,
				// Re-driven by the queue between the listing and this invocation.
				"redrive " + gone: answer(404, `{"error":"not_found","message":"no deferred delivery with that key"}`),
			}}
			var out bytes.Buffer
			s, err := Redrive(ctx, st, inv, tt.o, &out)
			if err != nil {
				t.Fatal(err)
			}
			var invoked []string
			for _, o := range s.Outcomes {
				invoked = append(invoked, o.Key)
			}
			// Oldest first; S3 times are to the second, so the order within one is the keys'.
			slices.Sort(invoked)
			slices.Sort(tt.invoked)
			if strings.Join(invoked, " ") != strings.Join(tt.invoked, " ") || len(inv.calls) != len(tt.invoked) || s.OK() != tt.ok {
				t.Errorf("re-drove %v (%d calls, OK %v), want %v (OK %v)\n%s", invoked, len(inv.calls), s.OK(), tt.invoked, tt.ok, out.String())
			}
			if strings.Contains(out.String(), quarantined) {
				t.Errorf("a sweep touched the quarantine:\n%s", out.String())
			}
			if len(tt.invoked) == 0 && out.String() != "no dead-lettered deliveries\n" {
				t.Errorf("empty sweep: %q", out.String())
			}
		})
	}
}

func TestRedriveDryRunInvokesNothing(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	key := putIn(t, st, Deferred, deferredRecord("d"))
	nameless := deferredRecord("nameless")
	nameless.Function = ""
	noFn := putIn(t, st, Deferred, nameless)

	inv := &fakeInvoker{}
	var out bytes.Buffer
	s, err := Redrive(ctx, st, inv, RedriveOptions{All: true, DryRun: true}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.calls) != 0 || s.OK() {
		t.Errorf("dry run: %d calls, OK %v", len(inv.calls), s.OK())
	}
	for _, want := range []string{
		"dry-run       " + key + " -> ApsFunction: deferred at 2026-11-23T10:01:00Z for temporarily_unavailable",
		"failed        " + noFn + " -> -: no_function: the record names no function: pass -function aps=<name>; kept",
		"dry run: 1 of 2 deliveries would be re-driven, 1 failed",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	// -function names the function to invoke instead of the record's.
	inv = &fakeInvoker{answers: map[string]func() (*lambda.InvokeOutput, error){
		"redrive " + key: answer(200, `{"status":"accepted"}`), "redrive " + noFn: answer(200, `{"status":"accepted"}`),
	}}
	s, err = Redrive(ctx, st, inv, RedriveOptions{All: true, Functions: map[string]string{"aps": "stack-ApsFunction-9Z"}}, &out)
	if err != nil || !s.OK() || strings.Join(inv.functions(), ",") != "stack-ApsFunction-9Z,stack-ApsFunction-9Z" {
		t.Errorf("-function: %v, OK %v, invoked %v", err, s.OK(), inv.functions())
	}
}

func TestRedriveRejectsBadOptions(t *testing.T) {
	st, _ := newStore(t)
	deferred := quarantine.DeferredPrefix + "aps/x.json"
	for _, tt := range []struct {
		name string
		o    RedriveOptions
		want string
	}{
		{"nothing", RedriveOptions{}, "give the keys to re-drive, or -all"},
		{"keys and all", RedriveOptions{All: true, Keys: []string{deferred}}, "not both"},
		{"unknown webhook", RedriveOptions{All: true, Webhook: "nope"}, "unknown webhook"},
		{"key of another webhook", RedriveOptions{Keys: []string{deferred}, Webhook: "shipping"}, "is not a shipping delivery"},
		{"a quarantine key", RedriveOptions{Keys: []string{quarantine.Prefix + "aps/x.json"}}, "replay it with quarantine replay"},
		{"a deferred key with -dead", RedriveOptions{Keys: []string{deferred}, Dead: true}, "is a deferred delivery, not one under deferred-dead/"},
		{"outside the places", RedriveOptions{Keys: []string{"oversized/x.json"}}, "is not a kept delivery's key"},
		{"unknown override", RedriveOptions{All: true, Functions: map[string]string{"nope": "fn"}}, "unknown webhook"},
	} {
		inv := &fakeInvoker{}
		if _, err := Redrive(context.Background(), st, inv, tt.o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), tt.want) || len(inv.calls) != 0 {
			t.Errorf("%s: err %v, %d calls; want %q", tt.name, err, len(inv.calls), tt.want)
		}
	}
}

func TestReplayRefusesDeferredKeys(t *testing.T) {
	st, _ := newStore(t)
	_, err := Replay(context.Background(), st, &fakeInvoker{}, ReplayOptions{Keys: []string{quarantine.DeferredPrefix + "aps/x.json"}}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "re-drive it with quarantine redrive") {
		t.Errorf("replay of a deferred key: %v", err)
	}
}

// An interrupted sweep stops before the next delivery and says how far it got.
func TestRedriveStopsWhenInterrupted(t *testing.T) {
	st, _ := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	interrupt := func() (*lambda.InvokeOutput, error) { cancel(); return answer(200, `{"status":"accepted"}`)() }
	inv := &fakeInvoker{answers: map[string]func() (*lambda.InvokeOutput, error){
		"redrive " + putIn(t, st, Deferred, deferredRecord("1")): interrupt,
		"redrive " + putIn(t, st, Deferred, deferredRecord("2")): interrupt,
	}}
	var out bytes.Buffer
	s, err := Redrive(ctx, st, inv, RedriveOptions{All: true}, &out)
	if !errors.Is(err, context.Canceled) || len(s.Outcomes) != 1 || len(inv.calls) != 1 || !strings.HasSuffix(out.String(), "1 delivery: 1 re-driven, 0 quarantined, 0 dead-lettered, 0 gone, 0 failed\n") {
		t.Errorf("err %v, %d outcomes, %d calls:\n%s", err, len(s.Outcomes), len(inv.calls), out.String())
	}
}
