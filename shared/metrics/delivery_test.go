package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
	"github.com/amazon-webhook-gateway/gateway/tests/emfcheck"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		status           int
		bodyStatus, code string
		outcome          metrics.Outcome
		reason           string
	}{
		{200, "accepted", "", metrics.Accepted, "none"},
		{200, "", "", metrics.Accepted, "none"}, // a replay's or a confirmation's 200
		{200, "duplicate", "", metrics.Duplicate, "none"},
		{202, "quarantined", "invalid_payload", metrics.Quarantined, "invalid_payload"},
		{202, "quarantined", "ambiguous_parameters", metrics.Quarantined, "ambiguous_parameters"},
		{202, "quarantined", "internal_error", metrics.Quarantined, "internal_error"},
		{202, "quarantined", "invalid_subscription", metrics.Quarantined, "invalid_subscription"},
		{202, "deferred", "temporarily_unavailable", metrics.Deferred, "temporarily_unavailable"},
		{200, "dead_lettered", "retention_exceeded", metrics.DeadLettered, "retention_exceeded"},
		{401, "", "unauthorized", metrics.Unauthorized, "unauthorized"},
		{403, "", "forbidden", metrics.Forbidden, "forbidden"},
		{413, "", "payload_too_large", metrics.TooLarge, "payload_too_large"},
		{405, "", "method_not_allowed", metrics.Rejected, "method_not_allowed"},
		{400, "", "invalid_payload", metrics.Rejected, "invalid_payload"},
		{400, "", "invalid_encoding", metrics.Rejected, "invalid_encoding"},
		{404, "", "not_found", metrics.Rejected, "not_found"},
		{409, "", "wrong_function", metrics.Rejected, "wrong_function"},
		{415, "", "unsupported_media_type", metrics.Rejected, "unsupported_media_type"},
		{429, "", "in_progress", metrics.Unavailable, "in_progress"},
		{503, "", "temporarily_unavailable", metrics.Unavailable, "temporarily_unavailable"},
		// The same 503 when authentication could not read its secret: its own outcome,
		// the body's code as its reason; the code marks nothing but a 503.
		{503, "", metrics.CodeAuthUnavailable, metrics.AuthUnavailable, "temporarily_unavailable"},
		{500, "", metrics.CodeAuthUnavailable, metrics.Unavailable, "other"},
		{401, "", metrics.CodeAuthUnavailable, metrics.Unauthorized, "other"},
		{500, "", "internal_error", metrics.Unavailable, "internal_error"},
		{500, "", "", metrics.Unavailable, "other"}, // the invocation failed without an answer
		// Unbounded values never become dimension values.
		{400, "", "some new code", metrics.Rejected, "other"},
		{401, "", "Basic realm=\"x\"", metrics.Unauthorized, "other"},
		{302, "", "", metrics.Unavailable, "other"},
	}
	for _, tc := range tests {
		o, r := metrics.Classify(tc.status, tc.bodyStatus, tc.code)
		if o != tc.outcome || r != tc.reason {
			t.Errorf("Classify(%d, %q, %q) = %s/%s, want %s/%s", tc.status, tc.bodyStatus, tc.code, o, r, tc.outcome, tc.reason)
		}
	}
}

// Every error code the code answers with is a Reason of its own, not "other": a new code fails
// here until it is added to metrics.Reasons (and the metric count in docs/operations.md).
func TestEveryAnsweredCodeIsAReason(t *testing.T) {
	root := filepath.Join("..", "..")
	// Reject(400, "x", …), Error(409, "x", …), Code: "x" — the ways an answer's code is written.
	code := regexp.MustCompile(`(?:Reject|Error|RetryLater)\(\d{3}, "([a-z_]+)"|Code: +"([a-z_]+)"`)
	found := map[string]bool{}
	for _, dir := range []string{"shared", "functions"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range code.FindAllStringSubmatch(string(b), -1) {
				found[m[1]+m[2]] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(found) < 10 {
		t.Fatalf("found only %v: the pattern no longer matches how answers are written", found)
	}
	var missing []string
	for c := range found {
		if !metrics.Reasons[c] {
			missing = append(missing, c)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("answered codes missing from metrics.Reasons (they would be recorded as \"other\"): %q", missing)
	}
}

// A delivery's record: what it counted (concurrently), its flags, the metric contract's names,
// units and dimension sets, and the log members, all in one object.
func TestDeliveryObject(t *testing.T) {
	ctx, d := metrics.Start(context.Background())
	var wg sync.WaitGroup
	for range 50 { // counted concurrently, as the OTP writes and PutEvents batches are
		wg.Add(1)
		go func() {
			defer wg.Done()
			metrics.Add(ctx, metrics.OtpsStored, 1)
			metrics.Add(ctx, metrics.EventPublished, 2)
		}()
	}
	wg.Wait()
	metrics.Add(ctx, metrics.PublishRetry, 1)
	metrics.Add(context.Background(), metrics.OtpsStale, 1) // no delivery: ignored
	metrics.MarkReplay(ctx)
	metrics.MarkRedrive(ctx, 2500*time.Millisecond)

	var buf bytes.Buffer
	answer := metrics.Answer{Status: 202, BodyStatus: "quarantined", Error: "invalid_payload", RequestID: "r-1", Account: "acme-b"}
	if err := metrics.NewWriter(&buf).Write(d.Object("shipping", time.Now(), answer, 1500*time.Microsecond)); err != nil {
		t.Fatal(err)
	}
	m, err := emfcheck.Check(strings.TrimSpace(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"Webhook": "shipping", "Outcome": "quarantined", "Reason": "invalid_payload", "Deliveries": "1",
		"OtpsStored": "50", "EventsPublished": "100", "PublishRetries": "1", "Latency": "1.5",
		"replay": true, "redrive": true, "DeferredAge": "2.5", "status": "202",
		"level": "INFO", "msg": "delivery answered", "requestId": "r-1", "account": "acme-b",
	}
	for k, v := range want {
		if got := m[k]; got != v && (func() bool { n, ok := got.(json.Number); return !ok || n.String() != v })() {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	// A counter nothing was counted in is left out, and its directive does not declare it.
	if _, has := m["OtpsStale"]; has {
		t.Errorf("OtpsStale written: %v", m)
	}
	// The contract's dimension sets, namespace and units, which the alarms and dashboard use.
	var dirs []metrics.Directive
	raw, _ := json.Marshal(m["_aws"].(map[string]any)["CloudWatchMetrics"])
	_ = json.Unmarshal(raw, &dirs)
	got := map[string]string{}
	for _, dir := range dirs {
		if dir.Namespace != "AmazonWebhookGateway" {
			t.Errorf("namespace %q", dir.Namespace)
		}
		for _, mt := range dir.Metrics {
			got[mt.Name] = string(mt.Unit) + " " + fmtSets(dir.Dimensions)
		}
	}
	contract := map[string]string{
		"Deliveries":      "Count [Webhook Outcome] [Webhook Outcome Reason]",
		"OtpsStored":      "Count [Webhook]",
		"OtpsStale":       "Count [Webhook]",
		"EventsPublished": "Count [Webhook]",
		"PublishRetries":  "Count [Webhook]",
		"Latency":         "Milliseconds [Webhook]",
		"DeferredAge":     "Seconds [Webhook]",
	}
	delete(contract, "OtpsStale")
	if len(got) != len(contract) {
		t.Errorf("metrics %v, want %v", got, contract)
	}
	for k, v := range contract {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
}

func fmtSets(sets [][]string) string {
	var s []string
	for _, set := range sets {
		s = append(s, "["+strings.Join(set, " ")+"]")
	}
	return strings.Join(s, " ")
}
