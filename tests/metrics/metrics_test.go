// Package metrics proves the metric contract end to end: every delivery through the three functions,
// wired as their main.go wires them (tests/harness, on moto behind the fault proxy), writes
// exactly one record, a valid EMF line with Deliveries under its outcome and reason that is also
// its "delivery answered" log line; no metric filter counts it; at LogLevel INFO it is all a new
// or duplicate delivery writes.
package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/tests/emfcheck"
	"github.com/amazon-webhook-gateway/gateway/tests/filterpattern"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

var local *testenv.Local

func TestMain(m *testing.M) { os.Exit(testenv.RunWithLocal(m, &local)) }

type want struct {
	outcome, reason string
	// counts: metric -> value (only those named are checked; Deliveries is always 1; a count of 0
	// is no member at all).
	counts map[string]int64
	// retried: PublishRetries > 0.
	retried bool
	replay  bool
}

// step is one delivery: its request (or replay payload), the status it must get, and its line.
type step struct {
	name    string
	webhook string
	status  int
	// payload builds the invocation; prev is the answer body of the step before (for replays).
	payload func(g *harness.Gateway, prev string) any
	fault   bool // PutEvents entries fail while it runs
	want    want
}

func req(build func(g *harness.Gateway) events.APIGatewayV2HTTPRequest) func(*harness.Gateway, string) any {
	return func(g *harness.Gateway, _ string) any { return build(g) }
}

// same sends the request of the step before again (a duplicate).
func same(build func(g *harness.Gateway) events.APIGatewayV2HTTPRequest) (first, again func(*harness.Gateway, string) any) {
	var r events.APIGatewayV2HTTPRequest
	first = func(g *harness.Gateway, _ string) any { r = build(g); return r }
	again = func(*harness.Gateway, string) any { return r }
	return first, again
}

// replayOf replays the delivery the step before quarantined.
func replayOf(_ *harness.Gateway, prev string) any {
	var body struct {
		QuarantineKey string `json:"quarantineKey"`
	}
	_ = json.Unmarshal([]byte(prev), &body)
	return map[string]any{"quarantineReplay": map[string]string{"key": body.QuarantineKey}}
}

func get(build func(g *harness.Gateway) events.APIGatewayV2HTTPRequest) func(*harness.Gateway) events.APIGatewayV2HTTPRequest {
	return func(g *harness.Gateway) events.APIGatewayV2HTTPRequest {
		r := build(g)
		r.RequestContext.HTTP.Method = "GET"
		return r
	}
}

func oversize(build func(g *harness.Gateway) events.APIGatewayV2HTTPRequest) func(*harness.Gateway) events.APIGatewayV2HTTPRequest {
	return func(g *harness.Gateway) events.APIGatewayV2HTTPRequest {
		r := build(g)
		r.Body = strings.Repeat(" ", 400<<10) + r.Body // above every function's cap
		return r
	}
}

func steps() []step {
	shipFirst, shipAgain := same(harness.ShippingOK)
	apsFirst, apsAgain := same(harness.APSOK)
	ipnFirst, ipnAgain := same(harness.IPNOK)
	one := func(kv ...any) map[string]int64 {
		m := map[string]int64{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = int64(kv[i+1].(int))
		}
		return m
	}
	return []step{
		{"accepted", "shipping", 200, shipFirst, false, want{"accepted", "none", one("OtpsStored", 1, "OtpsStale", 0, "EventsPublished", 1, "PublishRetries", 0), false, false}},
		{"duplicate", "shipping", 200, shipAgain, false, want{"duplicate", "none", one("OtpsStored", 0, "EventsPublished", 0), false, false}},
		{"quarantined", "shipping", 202, req(harness.ShippingWithoutTrackingID), false, want{"quarantined", "invalid_payload", one("OtpsStored", 0, "EventsPublished", 0), false, false}},
		{"replay", "shipping", 202, replayOf, false, want{"quarantined", "invalid_payload", nil, false, true}},
		{"unauthorized", "shipping", 401, req(harness.ShippingWrongKey), false, want{"unauthorized", "unauthorized", one("EventsPublished", 0), false, false}},
		{"too_large", "shipping", 413, req(oversize(harness.ShippingOK)), false, want{"too_large", "payload_too_large", nil, false, false}},
		{"rejected", "shipping", 405, req(get(harness.ShippingOK)), false, want{"rejected", "method_not_allowed", nil, false, false}},
		{"unavailable", "shipping", 503, req(harness.ShippingOK), true, want{"unavailable", "temporarily_unavailable", one("OtpsStored", 1, "EventsPublished", 0), true, false}},

		{"accepted", "aps", 200, apsFirst, false, want{"accepted", "none", one("OtpsStored", 0, "EventsPublished", 1, "PublishRetries", 0), false, false}},
		{"duplicate", "aps", 200, apsAgain, false, want{"duplicate", "none", one("EventsPublished", 0), false, false}},
		{"quarantined", "aps", 202, req(harness.APSInvalidStatus), false, want{"quarantined", "invalid_payload", nil, false, false}},
		{"unauthorized", "aps", 401, req(harness.APSWrongSignature), false, want{"unauthorized", "unauthorized", nil, false, false}},
		{"too_large", "aps", 413, req(oversize(harness.APSOK)), false, want{"too_large", "payload_too_large", nil, false, false}},
		{"rejected", "aps", 405, req(get(harness.APSOK)), false, want{"rejected", "method_not_allowed", nil, false, false}},
		{"unavailable", "aps", 503, req(harness.APSOK), true, want{"unavailable", "temporarily_unavailable", one("EventsPublished", 0), true, false}},

		// A v2 charge: its own event and the deprecated one it still publishes for one release.
		{"accepted", "amazon-pay", 200, ipnFirst, false, want{"accepted", "none", one("EventsPublished", 2, "PublishRetries", 0), false, false}},
		{"duplicate", "amazon-pay", 200, ipnAgain, false, want{"duplicate", "none", one("EventsPublished", 0), false, false}},
		{"quarantined", "amazon-pay", 202, req(harness.IPNConfirmationToAnotherHost), false, want{"quarantined", "invalid_subscription", nil, false, false}},
		{"unauthorized", "amazon-pay", 401, req(harness.IPNChangedAfterSigning), false, want{"unauthorized", "unauthorized", nil, false, false}},
		{"forbidden", "amazon-pay", 403, req(harness.IPNOtherTopic), false, want{"forbidden", "forbidden", nil, false, false}},
		{"too_large", "amazon-pay", 413, req(oversize(harness.IPNOK)), false, want{"too_large", "payload_too_large", nil, false, false}},
		{"rejected", "amazon-pay", 405, req(get(harness.IPNOK)), false, want{"rejected", "method_not_allowed", nil, false, false}},
		{"unavailable", "amazon-pay", 503, req(harness.IPNOK), true, want{"unavailable", "temporarily_unavailable", one("EventsPublished", 0), true, false}},
	}
}

// handler invokes webhook's function with payload: an API Gateway request as Lambda would get it,
// or a replay order.
func handler(g *harness.Gateway, webhook string) func(payload any) (events.APIGatewayV2HTTPResponse, error) {
	return func(payload any) (events.APIGatewayV2HTTPResponse, error) {
		if r, ok := payload.(events.APIGatewayV2HTTPRequest); ok {
			return g.Deliver(r), nil
		}
		b, _ := json.Marshal(payload)
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
		defer cancel()
		h := map[string]pipeline.LambdaHandler{"shipping": g.Shipping, "aps": g.APS, "amazon-pay": g.AmazonPay}[webhook]
		return h(ctx, b)
	}
}

func TestEachOutcomeIsRecordedOncePerDelivery(t *testing.T) {
	g := harness.Start(t, local)
	prev := ""
	for _, s := range steps() {
		t.Run(s.webhook+"/"+s.name, func(t *testing.T) {
			if s.fault {
				local.Faults.Set(func(int, string, string) bool { return true })
				defer local.Faults.Set(nil)
			}
			before, logsBefore := len(g.Metrics.String()), len(g.Logs.String())
			resp, err := handler(g, s.webhook)(s.payload(g, prev))
			if err != nil {
				t.Fatal(err)
			}
			prev = resp.Body
			if resp.StatusCode != s.status {
				t.Fatalf("answered %d %s, want %d; logged:\n%s", resp.StatusCode, resp.Body, s.status, g.Logs.String()[logsBefore:])
			}
			written := g.Metrics.String()[before:]
			lines, err := emfcheck.Lines(written)
			if err != nil {
				t.Fatal(err)
			}
			if len(lines) != 1 || strings.Count(written, "\n") != 1 {
				t.Fatalf("the delivery wrote %d EMF lines, want exactly 1:\n%s", len(lines), written)
			}
			m := lines[0]
			check := func(k string, want any) {
				t.Helper()
				if fmt.Sprint(m[k]) != fmt.Sprint(want) {
					t.Errorf("%s = %v, want %v: %s", k, m[k], want, written)
				}
			}
			check("Webhook", s.webhook)
			check("Outcome", s.want.outcome)
			check("Reason", s.want.reason)
			check("Deliveries", 1)
			check("status", s.status)
			check("msg", "delivery answered")
			// What does not apply is left out: replay unless it is one, a count of 0.
			if s.want.replay {
				check("replay", true)
			} else if _, has := m["replay"]; has {
				t.Errorf("replay written for a delivery: %s", written)
			}
			for k, v := range s.want.counts {
				if v == 0 {
					if _, has := m[k]; has {
						t.Errorf("%s written as %v, want it left out: %s", k, m[k], written)
					}
					continue
				}
				check(k, v)
			}
			if r, _ := m["PublishRetries"].(json.Number); (r != "") != s.want.retried {
				t.Errorf("PublishRetries = %q, want retries: %v", r, s.want.retried)
			}
			if lat, err := m["Latency"].(json.Number).Float64(); err != nil || lat < 0 {
				t.Errorf("Latency %v", m["Latency"])
			}
			// The record is the delivery's "delivery answered" log line: the log holds it once,
			// and no other.
			var inLog []string
			for line := range strings.Lines(g.Logs.String()[logsBefore:]) {
				if strings.Contains(line, `"_aws"`) || strings.Contains(line, `"msg":"delivery answered"`) {
					inLog = append(inLog, line)
				}
			}
			if len(inLog) != 1 || inLog[0] != written {
				t.Errorf("the log holds %q, want the record once: %s", inLog, written)
			}
		})
	}
}

// The records are log lines of the functions' log groups: no metric filter of the template counts
// one, whatever the outcome (the filters count the lines of failures and rejections, which keep
// their own messages).
func TestMetricFiltersIgnoreEMFLines(t *testing.T) {
	tmpl, err := localaws.LoadStack()
	if err != nil {
		t.Fatal(err)
	}
	g := harness.Start(t, local)
	for _, s := range steps() {
		if _, ok := s.payload(g, "").(events.APIGatewayV2HTTPRequest); !ok {
			continue
		}
		func() {
			if s.fault {
				local.Faults.Set(func(int, string, string) bool { return true })
				defer local.Faults.Set(nil)
			}
			_, _ = handler(g, s.webhook)(s.payload(g, ""))
		}()
	}
	lines := strings.Split(strings.TrimSpace(g.Metrics.String()), "\n")
	if len(lines) < 10 {
		t.Fatalf("only %d EMF lines written", len(lines))
	}
	n := 0
	for name, r := range tmpl.Resources {
		if r.Type != "AWS::Logs::MetricFilter" {
			continue
		}
		raw, _ := r.Properties["FilterPattern"].(string)
		p, err := filterpattern.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n++
		for _, line := range lines {
			if p.Match(line) {
				t.Errorf("%s (%s) counts an EMF line: %s", name, raw, line)
			}
		}
	}
	if n == 0 {
		t.Fatal("no metric filter in the template")
	}
}
