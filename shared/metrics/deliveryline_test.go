package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
	"github.com/amazon-webhook-gateway/gateway/tests/emfcheck"
)

// delivery is what one invocation under Measure comes to.
type delivery struct {
	webhook         string
	answer          metrics.Answer
	failed          bool     // the invocation fails: counted as a 500
	counts          [4]int64 // OtpsStored, OtpsStale, EventPublished, PublishRetry
	replay, redrive bool
	age             time.Duration // a re-drive's age
	at              time.Time     // when it ends
	latency         time.Duration
}

// measure runs d under metrics.Measure and returns the EMF output and the log.
func measure(d delivery) (emf, log string) {
	var out, logs bytes.Buffer
	times := []time.Time{d.at.Add(-d.latency), d.at}
	now := func() time.Time { t := times[0]; times = times[1:]; return t }
	h := metrics.Measure(&out, d.webhook, slog.New(slog.NewTextHandler(&logs, nil)), now,
		func(ctx context.Context, _ json.RawMessage) (events.APIGatewayV2HTTPResponse, metrics.Answer, error) {
			for c, n := range d.counts {
				metrics.Add(ctx, metrics.Counter(c), int(n))
			}
			if d.replay {
				metrics.MarkReplay(ctx)
			}
			if d.redrive {
				metrics.MarkRedrive(ctx, d.age)
			}
			if d.failed {
				return events.APIGatewayV2HTTPResponse{}, metrics.Answer{}, errors.New("failed")
			}
			return events.APIGatewayV2HTTPResponse{StatusCode: d.answer.Status}, d.answer, nil
		})
	_, _ = h(context.Background(), nil)
	return out.String(), logs.String()
}

// TestDeliveryLineIsTheBytesItAlwaysWas: the line Measure writes for a delivery is, byte for
// byte, the one the former hand-written delivery writer wrote (testdata, written by it):
// the same members in the same order, the same numbers, the same escaping.
func TestDeliveryLineIsTheBytesItAlwaysWas(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "delivery-lines.golden"))
	if err != nil {
		t.Fatal(err)
	}
	golden := map[string]string{}
	for line := range strings.Lines(string(raw)) {
		name, l, _ := strings.Cut(line, "\t")
		golden[name] = l
	}
	at := time.UnixMilli(1764201600123)
	tests := map[string]delivery{
		"accepted":            {webhook: "shipping", answer: metrics.Answer{Status: 200, BodyStatus: "accepted"}, counts: [4]int64{1, 0, 2, 0}, latency: 1234567 * time.Nanosecond},
		"duplicate replay":    {webhook: "aps", answer: metrics.Answer{Status: 200, BodyStatus: "duplicate"}, replay: true, latency: time.Microsecond},
		"quarantined":         {webhook: "amazon-pay", answer: metrics.Answer{Status: 202, BodyStatus: "quarantined", Error: "invalid_payload"}, counts: [4]int64{0, 3, 0, 7}, latency: 3 * time.Second},
		"redrive":             {webhook: "aps", answer: metrics.Answer{Status: 202, BodyStatus: "deferred", Error: "temporarily_unavailable"}, redrive: true, age: 90061 * time.Millisecond, latency: 25 * time.Millisecond},
		"auth unavailable":    {webhook: "shipping", answer: metrics.Answer{Status: 503, Error: metrics.CodeAuthUnavailable}, latency: 5 * time.Second},
		"unknown code":        {webhook: "shipping", answer: metrics.Answer{Status: 400, Error: "new <code>"}},
		"no answer":           {webhook: "shipping", failed: true, latency: 10 * time.Nanosecond},
		"huge numbers":        {webhook: "shipping", answer: metrics.Answer{Status: 503, Error: "temporarily_unavailable"}, counts: [4]int64{math.MaxInt64, math.MinInt64, -1, 1}, latency: math.MaxInt64},
		"negative latency":    {webhook: "shipping", answer: metrics.Answer{Status: 429, Error: "in_progress"}, latency: -1500 * time.Microsecond},
		"webhook with quotes": {webhook: `a"b<c>&`, answer: metrics.Answer{Status: 200}},
	}
	if len(golden) != len(tests) {
		t.Fatalf("%d golden lines for %d deliveries", len(golden), len(tests))
	}
	for name, d := range tests {
		t.Run(name, func(t *testing.T) {
			d.at = at
			got, log := measure(d)
			if got != golden[name] {
				t.Errorf("got  %s\nwant %s", got, golden[name])
			}
			if _, err := emfcheck.Check(strings.TrimSuffix(got, "\n")); err != nil || log != "" {
				t.Errorf("checker: %v; log %q", err, log)
			}
		})
	}
}

// FuzzDeliveryLine: for any delivery, Measure writes one line that the EMF specification accepts
// (tests/emfcheck) and that says what the delivery was, or, exactly when the webhook's name or the
// time cannot be written as EMF, nothing but a log line.
func FuzzDeliveryLine(f *testing.F) {
	f.Add("shipping", 200, "accepted", "", int64(1), int64(0), int64(2), int64(0), int64(1234567), int64(1764201600123), false, false, int64(0))
	f.Add("aps", 202, "quarantined", "invalid_payload", int64(0), int64(5), int64(0), int64(3), int64(999), int64(1), true, true, int64(90061))
	f.Add("x\"<", 503, "", "temporarily_unavailable", int64(-1), int64(0), int64(0), int64(0), int64(-7), int64(0), false, true, int64(-5))
	f.Add("", 401, "", "unauthorized", int64(0), int64(0), int64(0), int64(0), int64(0), int64(1764201600123), false, false, int64(0))
	f.Add("é", 200, "", "", int64(0), int64(0), int64(0), int64(0), int64(0), int64(-1), false, false, int64(0))
	f.Fuzz(func(t *testing.T, webhook string, status int, bodyStatus, code string, c0, c1, c2, c3, latency, ms int64, replay, redrive bool, ageMs int64) {
		d := delivery{
			webhook: webhook, answer: metrics.Answer{Status: status, BodyStatus: bodyStatus, Error: code},
			counts: [4]int64{c0, c1, c2, c3}, replay: replay, redrive: redrive, age: time.Duration(ageMs) * time.Millisecond,
			at: time.UnixMilli(ms), latency: time.Duration(latency),
		}
		out, log := measure(d)
		ascii := true
		for i := range len(webhook) {
			ascii = ascii && webhook[i] < 0x80
		}
		if webhook == "" || len(webhook) > 1024 || !ascii || ms < 0 {
			if out != "" || !strings.Contains(log, "metrics not written") {
				t.Fatalf("webhook %q at %d ms: wrote %q, logged %q; want nothing written, logged", webhook, ms, out, log)
			}
			return
		}
		if log != "" || strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
			t.Fatalf("not one line: %q (log %q)", out, log)
		}
		line := strings.TrimSuffix(out, "\n")
		var m map[string]any
		if ms >= 1_000_000_000_000 { // the checker reads smaller values as seconds
			var err error
			if m, err = emfcheck.Check(line); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
		} else {
			dec := json.NewDecoder(strings.NewReader(line))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
		}
		outcome, reason := metrics.Classify(status, bodyStatus, code)
		age := float64(0)
		if redrive {
			age = float64(max(d.age, 0).Milliseconds()) / 1000
		}
		want := map[string]any{
			"Webhook": webhook, "Outcome": string(outcome), "Reason": reason, "Deliveries": "1",
			"OtpsStored": strconv.FormatInt(c0, 10), "OtpsStale": strconv.FormatInt(c1, 10),
			"EventsPublished": strconv.FormatInt(c2, 10), "PublishRetries": strconv.FormatInt(c3, 10),
			"httpStatus": strconv.Itoa(status), "replay": replay, "redrive": redrive,
			"Latency":     float64(d.at.Sub(d.at.Add(-d.latency)).Microseconds()) / 1000,
			"DeferredAge": age,
		}
		for k, v := range want {
			got := m[k]
			if n, ok := got.(json.Number); ok {
				if f, isFloat := v.(float64); isFloat {
					if x, err := n.Float64(); err != nil || x != f {
						t.Errorf("%s = %s, want %v", k, n, f)
					}
					continue
				}
				got = n.String()
			}
			if got != v {
				t.Errorf("%s = %#v, want %#v", k, got, v)
			}
		}
		if ts := m["_aws"].(map[string]any)["Timestamp"].(json.Number).String(); ts != strconv.FormatInt(ms, 10) {
			t.Errorf("Timestamp %s, want %d", ts, ms)
		}
	})
}
