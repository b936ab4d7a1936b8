// Package badinput is the bad-input corpus of the three webhook functions: several hundred
// deliveries that are wrong in one way each (method, content type, size, JSON or form syntax,
// base64, field types, missing and extra fields, Unicode tricks, tampered or replayed signatures,
// expired or forged OAuth tokens, wrong API keys and Basic credentials), each with the one answer
// the product's contract gives it. TestCorpus runs them all, concurrently, against one gateway
// wired as production wires it (tests/harness, moto_server), and then checks what must hold across
// the run: the quarantine holds exactly the deliveries answered 202, every Shipping 401 looks the
// same, and no secret, OTP code or token reached the logs.
//
// Every answer is checked for: the status; the body's "error" (or "status" for 200, "quarantined"
// plus "error" and "quarantineKey" for 202) and, where the case names one, "field"; the security
// headers; Allow on 405 and WWW-Authenticate on Shipping's 401; a body free of stack traces,
// ARNs and backend names. A 202 is read back from the quarantine, which must hold the body
// unchanged and no credentials.
//
// To add a case, append it with c.add in the function's builder (shipping_test.go,
// aps_test.go, amazonpay_test.go): a unique Name, the request (start from an authentic
// delivery and break one thing), Status, Code and, when it matters, Field. Families of cases
// are generated from tables there (fields × mutations, methods, content types); extend the
// table rather than writing cases one by one. A 202 case needs a body no other 202 case has
// (the quarantine key hashes route and body): use c.seq() in an id. A body that is not UTF-8 is
// sent base64-encoded, as API Gateway sends it (c.add does this). If the code answers
// otherwise than the contract, keep the contract's answer in the case and record what the code
// does in Deviation; never encode the code's answer as the expectation.
package badinput

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
)

// minCases is the size the corpus must keep.
const minCases = 300

// workers bounds the deliveries in flight: the cases run concurrently against one moto.
const workers = 8

var local *testenv.Local

func TestMain(m *testing.M) { os.Exit(testenv.RunWithLocal(m, &local)) }

// statuses are the answers the contract has for bad input, with the code each may carry.
var statuses = map[int][]string{
	200: {"accepted", "duplicate"},
	202: {"unsupported_media_type", "invalid_encoding", "invalid_payload", "invalid_subscription", "internal_error", "ambiguous_parameters"},
	400: {"invalid_payload", "invalid_encoding"},
	401: {"unauthorized"},
	403: {"forbidden"},
	404: {"not_found"},
	405: {"method_not_allowed"},
	413: {"payload_too_large"},
	415: {"unsupported_media_type"},
	503: {"temporarily_unavailable"},
}

// The corpus is large enough, and well formed: unique names, one known status and code per
// case, and no two quarantined cases on the same object (the quarantine key hashes route and
// body, so two would overwrite each other's record).
func TestCorpusSize(t *testing.T) {
	c := build(t, offlineEnv(t))
	if len(c.cases) < minCases {
		t.Fatalf("the corpus has %d cases, want at least %d", len(c.cases), minCases)
	}
	perFn := map[string]int{}
	quarantined := map[string]string{}
	for _, k := range c.cases {
		perFn[k.Fn]++
		if k.Name == "" {
			t.Errorf("a %s case has no name", k.Fn)
		}
		if k.Code == "" && k.Deviation == nil {
			t.Errorf("%s/%s: no expected code", k.Fn, k.Name)
		} else if k.Code != "" && !slices.Contains(statuses[k.Status], k.Code) {
			t.Errorf("%s/%s: status %d with code %q is not in the contract", k.Fn, k.Name, k.Status, k.Code)
		}
		if k.Status == 202 {
			id := k.Req.RawPath + "\x00" + k.Req.Body
			if other, dup := quarantined[id]; dup {
				t.Errorf("%s/%s and %s quarantine the same route and body", k.Fn, k.Name, other)
			}
			quarantined[id] = k.Fn + "/" + k.Name
		}
	}
	for _, fn := range []string{fnShipping, fnAPS, fnAmazonPay} {
		if perFn[fn] < 50 {
			t.Errorf("%s has %d cases, want at least 50", fn, perFn[fn])
		}
	}
	t.Logf("%d cases: %v", len(c.cases), perFn)
}

// result is one case's answer, kept for the checks across the run.
type result struct {
	k    *Case
	resp events.APIGatewayV2HTTPResponse
	body map[string]any
}

func TestCorpus(t *testing.T) {
	g := harness.Start(t, local)
	c := build(t, gatewayEnv(g))
	if len(c.cases) < minCases {
		t.Fatalf("the corpus has %d cases, want at least %d", len(c.cases), minCases)
	}
	start := time.Now()
	var mu sync.Mutex
	var results []result
	sem := make(chan struct{}, workers)
	t.Run("case", func(t *testing.T) {
		for i := range c.cases {
			k := &c.cases[i]
			t.Run(k.Fn+"/"+k.Name, func(t *testing.T) {
				t.Parallel()
				sem <- struct{}{}
				defer func() { <-sem }()
				for i, b := range k.Before {
					if resp := g.Deliver(b); resp.StatusCode != 200 {
						t.Fatalf("delivery %d before the case: %d %s", i, resp.StatusCode, resp.Body)
					}
				}
				resp := g.Deliver(k.Req)
				body := map[string]any{}
				if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
					t.Errorf("the body is not a JSON object: %v: %q", err, resp.Body)
				}
				mu.Lock()
				results = append(results, result{k: k, resp: resp, body: body})
				mu.Unlock()
				check(t, g, c, k, resp, body)
			})
		}
	})
	t.Logf("%d cases answered in %v", len(results), time.Since(start).Round(time.Millisecond))
	report(t, results)

	t.Run("quarantine holds only the deliveries answered 202", func(t *testing.T) {
		// The keys of the cases the contract quarantines: anything else in the bucket was kept
		// by a case that should not have been (whatever it was answered).
		want := map[string]string{}
		for _, r := range results {
			if r.resp.StatusCode == 202 && r.k.Status == 202 {
				key, _ := r.body["quarantineKey"].(string)
				want[key] = r.k.Name
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		items, err := g.Quarantine.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, it := range items {
			got[it.Key] = true
			if _, ok := want[it.Key]; !ok {
				r, err := g.Quarantine.Get(ctx, it.Key)
				t.Errorf("%s is quarantined but no case the contract quarantines was answered 202 with it (reason %q, body %.80q, err %v)", it.Key, r.Reason, r.Request.Body, err)
			}
		}
		for key, name := range want {
			if !got[key] {
				t.Errorf("%s: answered 202 with %s, which the quarantine does not list", name, key)
			}
		}
		if len(want) == 0 {
			t.Error("no case was quarantined: the run proves nothing about the quarantine")
		}
	})

	t.Run("every shipping 401 is the same answer", func(t *testing.T) {
		var first *result
		n := 0
		for i, r := range results {
			if r.k.Fn != fnShipping || r.resp.StatusCode != 401 {
				continue
			}
			n++
			if first == nil {
				first = &results[i]
				continue
			}
			if r.resp.Body != first.resp.Body || !maps.Equal(r.resp.Headers, first.resp.Headers) {
				t.Errorf("%s answers %v %s; %s answers %v %s", r.k.Name, r.resp.Headers, r.resp.Body,
					first.k.Name, first.resp.Headers, first.resp.Body)
			}
		}
		if n < 50 {
			t.Errorf("only %d shipping cases were answered 401", n)
		}
	})

	t.Run("logs hold no secret, OTP code or token", func(t *testing.T) {
		logs := g.Logs.String()
		if len(logs) == 0 {
			t.Fatal("nothing was logged")
		}
		for _, s := range harness.Secrets {
			if strings.Contains(logs, s) {
				t.Errorf("the logs contain the secret %.6s…", s)
			}
		}
		for _, s := range c.otps {
			if strings.Contains(logs, s) {
				t.Errorf("the logs contain the OTP code %q", s)
			}
		}
		for _, tok := range c.tokens {
			if strings.Contains(logs, tok) {
				t.Errorf("the logs contain the token %.20q…", tok)
			}
			if sig := tok[strings.LastIndexByte(tok, '.')+1:]; len(sig) >= 16 && strings.Contains(logs, sig) {
				t.Errorf("the logs contain the signature of the token %.20q…", tok)
			}
		}
	})
}

// forbidden are what no answer may show: stack traces, panics, ARNs, the AWS backend.
var forbidden = []string{"goroutine", "panic", "arn:", "moto", ".go:", "runtime/", "amazonaws.com"}

// check asserts the answer to one case.
func check(t *testing.T, g *harness.Gateway, c *corpus, k *Case, resp events.APIGatewayV2HTTPResponse, body map[string]any) {
	t.Helper()
	// What holds for every answer, whatever the case expects.
	for name, want := range map[string]string{
		"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
	} {
		if got := resp.Headers[name]; got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	lower := strings.ToLower(resp.Body)
	for _, s := range forbidden {
		if strings.Contains(lower, s) {
			t.Errorf("the body shows %q: %s", s, resp.Body)
		}
	}
	for _, s := range slices.Concat(harness.Secrets, c.otps, c.tokens) {
		if strings.Contains(resp.Body, s) {
			t.Errorf("the body shows a credential or OTP code: %s", resp.Body)
		}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if s, _ := body["status"].(string); s == "" {
			t.Errorf("a %d body without status: %s", resp.StatusCode, resp.Body)
		}
	} else if e, _ := body["error"].(string); e == "" {
		t.Errorf("a %d body without error: %s", resp.StatusCode, resp.Body)
	}
	if allow := resp.Headers["Allow"]; (resp.StatusCode == 405) != (allow != "") || (allow != "" && allow != "POST") {
		t.Errorf("%d with Allow %q", resp.StatusCode, allow)
	}
	if k.Fn == fnShipping && resp.StatusCode == 401 && resp.Headers["WWW-Authenticate"] == "" {
		t.Error("401 without WWW-Authenticate")
	}
	if resp.StatusCode == 202 {
		checkQuarantined(t, g, k, body)
	}

	// An empty Code (allowed only on a Deviation, where the contract names no code) matches any.
	got, want := strconv.Itoa(resp.StatusCode), strconv.Itoa(k.Status)
	if k.Code != "" {
		got += " " + code(resp.StatusCode, body)
		want += " " + k.Code
	}
	if k.Field != "" {
		got += fmt.Sprintf(" field=%v", body["field"])
		want += " field=" + k.Field
	}
	switch d := k.Deviation; {
	case d == nil:
		if got != want {
			t.Errorf("got %s, want %s (body %s)", got, want, resp.Body)
		}
	case got == want:
		t.Errorf("the code now answers the contract (%s): delete the case's Deviation (%s)", want, d.Why)
	case resp.StatusCode == d.Status && code(resp.StatusCode, body) == d.Code:
		t.Skipf("KNOWN DEVIATION: the contract answers %s, the code %d %s: %s", want, d.Status, d.Code, d.Why)
	default:
		t.Errorf("got %s, want %s (the known deviation is %d %s) (body %s)", got, want, d.Status, d.Code, resp.Body)
	}
}

// code is the body's "status" for 200, its "error" otherwise.
func code(status int, body map[string]any) string {
	key := "error"
	if status == 200 {
		key = "status"
	}
	s, _ := body[key].(string)
	return s
}

// checkQuarantined reads a 202's record back: the delivery as sent, minus its credentials.
func checkQuarantined(t *testing.T, g *harness.Gateway, k *Case, body map[string]any) {
	t.Helper()
	if body["status"] != "quarantined" {
		t.Errorf("202 with status %v", body["status"])
	}
	key, _ := body["quarantineKey"].(string)
	if key == "" {
		t.Errorf("202 without quarantineKey: %v", body)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := g.Quarantine.Get(ctx, key)
	if err != nil {
		t.Errorf("the quarantined delivery cannot be read: %v", err)
		return
	}
	if r.Request.Body != k.Req.Body || r.Request.IsBase64Encoded != k.Req.IsBase64Encoded || r.Request.RawPath != k.Req.RawPath {
		t.Errorf("the record holds %s %q (base64 %v), the delivery was %s %q (base64 %v)",
			r.Request.RawPath, r.Request.Body, r.Request.IsBase64Encoded, k.Req.RawPath, k.Req.Body, k.Req.IsBase64Encoded)
	}
	if r.Webhook != k.Fn || r.Reason != body["error"] || r.Field != fmt.Sprint(valueOr(body["field"], "")) {
		t.Errorf("the record is %s/%s/%s, the answer %v", r.Webhook, r.Reason, r.Field, body)
	}
	for name := range r.Request.Headers {
		if n := strings.ToLower(name); n == "x-api-key" || n == "authorization" || n == "cookie" {
			t.Errorf("the record keeps the credential header %s", name)
		}
	}
	if _, ok := r.Request.QueryStringParameters["api_key"]; ok || strings.Contains(r.Request.RawQueryString, "api_key") {
		t.Errorf("the record keeps the credential query parameter: %q", r.Request.RawQueryString)
	}
}

func valueOr(v, or any) any {
	if v == nil {
		return or
	}
	return v
}

// report logs how many cases each function and each status has.
func report(t *testing.T, results []result) {
	t.Helper()
	perFn := map[string]map[int]int{}
	for _, r := range results {
		if perFn[r.k.Fn] == nil {
			perFn[r.k.Fn] = map[int]int{}
		}
		perFn[r.k.Fn][r.k.Status]++
	}
	for _, fn := range slices.Sorted(maps.Keys(perFn)) {
		var parts []string
		total := 0
		for _, s := range slices.Sorted(maps.Keys(perFn[fn])) {
			parts = append(parts, fmt.Sprintf("%d×%d", perFn[fn][s], s))
			total += perFn[fn][s]
		}
		t.Logf("%-10s %3d cases: %s", fn, total, strings.Join(parts, " "))
	}
}
