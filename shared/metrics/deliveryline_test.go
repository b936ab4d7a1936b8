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
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
	"github.com/amazon-webhook-gateway/gateway/tests/emfcheck"
)

// delivery is what one invocation under Measure comes to.
type delivery struct {
	webhook         string
	answer          metrics.Answer
	failed          bool     // the invocation fails: counted as a 500
	panics          bool     // the invocation panics
	counts          [4]int64 // OtpsStored, OtpsStale, EventPublished, PublishRetry
	replay, redrive bool
	age             time.Duration // a re-drive's age
	awsRequestID    string        // the Lambda invocation's ("": not in Lambda)
	at              time.Time     // when it ends
	latency         time.Duration
	logLevel        slog.Level // of the function's logger
}

// measure runs d under metrics.Measure and returns the record written and the function's log.
func measure(d delivery) (record, log string) {
	var out, logs bytes.Buffer
	times := []time.Time{d.at.Add(-d.latency), d.at}
	now := func() time.Time { t := times[0]; times = times[1:]; return t }
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: d.logLevel}))
	h := metrics.Measure(&out, d.webhook, logger, now,
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
			if d.panics {
				panic("bug")
			}
			if d.failed {
				return events.APIGatewayV2HTTPResponse{}, metrics.Answer{}, errors.New("failed")
			}
			return events.APIGatewayV2HTTPResponse{StatusCode: d.answer.Status}, d.answer, nil
		})
	ctx := context.Background()
	if d.awsRequestID != "" {
		ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: d.awsRequestID})
	}
	func() {
		defer func() { _ = recover() }()
		_, _ = h(ctx, nil)
	}()
	return out.String(), logs.String()
}

// TestDeliveryRecordIsTheGoldenBytes: the record Measure writes for a delivery is, byte for byte,
// the one in testdata: the same members in the same order, the same numbers, the same escaping.
// Operators' queries, metric filters and dashboards read it; a change to it shows as a change to
// the golden file.
func TestDeliveryRecordIsTheGoldenBytes(t *testing.T) {
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
		"accepted": {webhook: "shipping", answer: metrics.Answer{Status: 200, BodyStatus: "accepted", RequestID: "Jx1a2b3c4d5e6fA=", Account: "default"},
			counts: [4]int64{1, 0, 2, 0}, awsRequestID: "8f5c3a1e-2b7d-4c9a-9e1f-0a1b2c3d4e5f", latency: 1234567 * time.Nanosecond},
		"duplicate replay":    {webhook: "aps", answer: metrics.Answer{Status: 200, BodyStatus: "duplicate", RequestID: "r-1", Account: "acme-b"}, replay: true, latency: time.Microsecond},
		"quarantined":         {webhook: "amazon-pay", answer: metrics.Answer{Status: 202, BodyStatus: "quarantined", Error: "invalid_payload", Account: "default"}, counts: [4]int64{0, 3, 0, 7}, latency: 3 * time.Second},
		"redrive":             {webhook: "aps", answer: metrics.Answer{Status: 202, BodyStatus: "deferred", Error: "temporarily_unavailable"}, redrive: true, age: 90061 * time.Millisecond, latency: 25 * time.Millisecond},
		"auth unavailable":    {webhook: "shipping", answer: metrics.Answer{Status: 503, Error: metrics.CodeAuthUnavailable, RequestID: "r-2"}, latency: 5 * time.Second},
		"unknown code":        {webhook: "shipping", answer: metrics.Answer{Status: 400, Error: "new <code>"}},
		"no answer":           {webhook: "shipping", failed: true, latency: 10 * time.Nanosecond},
		"huge numbers":        {webhook: "shipping", answer: metrics.Answer{Status: 503, Error: "temporarily_unavailable"}, counts: [4]int64{math.MaxInt64, math.MinInt64, -1, 1}, latency: math.MaxInt64},
		"negative latency":    {webhook: "shipping", answer: metrics.Answer{Status: 429, Error: "in_progress"}, latency: -1500 * time.Microsecond},
		"webhook with quotes": {webhook: `a"b<c>&`, answer: metrics.Answer{Status: 200, Account: `x"<y>`}},
		"lookup":              {webhook: "shipping-lookup", answer: metrics.Answer{Status: 404, Error: "not_found", RequestID: "r-3"}, latency: 2 * time.Millisecond},
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

// The record carries the metrics, so it is written whatever the function's LogLevel: at ERROR, an
// accepted delivery (an INFO record) is counted all the same, and a panic too.
func TestTheRecordIsWrittenAtEveryLogLevel(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError, slog.LevelError + 4} {
		for _, d := range []delivery{
			{webhook: "aps", answer: metrics.Answer{Status: 200, BodyStatus: "accepted"}, counts: [4]int64{0, 0, 1, 0}},
			{webhook: "aps", panics: true},
		} {
			d.at, d.logLevel = time.UnixMilli(1764201600123), level
			out, _ := measure(d)
			lines, err := emfcheck.Lines(out)
			if err != nil || len(lines) != 1 {
				t.Fatalf("LogLevel %v: %d records (%v), want 1: %q", level, len(lines), err, out)
			}
			if lines[0]["Deliveries"] != json.Number("1") || lines[0]["msg"] != metrics.RecordMessage {
				t.Errorf("LogLevel %v: %v", level, lines[0])
			}
		}
	}
}

// The record's level is the one its answer deserves, as "delivery answered" always had it: INFO for
// a 2xx, WARN for a 4xx and for the 503 of a secret that could not be read (its cache logs the
// failed read at ERROR, once, not once per answer), ERROR for every other 5xx and for an
// invocation without an answer.
func TestTheRecordsLevelFollowsTheAnswer(t *testing.T) {
	tests := []struct {
		d    delivery
		want string
	}{
		{delivery{answer: metrics.Answer{Status: 200, BodyStatus: "accepted"}}, "INFO"},
		{delivery{answer: metrics.Answer{Status: 200, BodyStatus: "duplicate"}}, "INFO"},
		{delivery{answer: metrics.Answer{Status: 202, BodyStatus: "quarantined", Error: "invalid_payload"}}, "INFO"},
		{delivery{answer: metrics.Answer{Status: 401, Error: "unauthorized"}}, "WARN"},
		{delivery{answer: metrics.Answer{Status: 429, Error: "in_progress"}}, "WARN"},
		{delivery{answer: metrics.Answer{Status: 503, Error: metrics.CodeAuthUnavailable}}, "WARN"},
		{delivery{answer: metrics.Answer{Status: 503, Error: "temporarily_unavailable"}}, "ERROR"},
		{delivery{failed: true}, "ERROR"},
		{delivery{panics: true}, "ERROR"},
	}
	for _, tc := range tests {
		tc.d.webhook, tc.d.at = "shipping", time.UnixMilli(1764201600123)
		out, _ := measure(tc.d)
		lines, err := emfcheck.Lines(out)
		if err != nil || len(lines) != 1 {
			t.Fatalf("%+v: %v %q", tc.d, err, out)
		}
		if lines[0]["level"] != tc.want {
			t.Errorf("answer %+v: level %v, want %s", tc.d.answer, lines[0]["level"], tc.want)
		}
	}
}

// FuzzDeliveryLine: for any delivery, Measure writes one record that the EMF specification
// accepts (tests/emfcheck) and that says what the delivery was — and nothing that does not apply —
// or, exactly when the webhook's name or the time cannot be written as EMF, nothing but a log line.
func FuzzDeliveryLine(f *testing.F) {
	f.Add("shipping", 200, "accepted", "", int64(1), int64(0), int64(2), int64(0), int64(1234567), int64(1764201600123), false, false, int64(0), "Jx1a2b3c4d5e6fA=", "default")
	f.Add("aps", 202, "quarantined", "invalid_payload", int64(0), int64(5), int64(0), int64(3), int64(999), int64(1), true, true, int64(90061), "", "acme-b")
	f.Add("x\"<", 503, "", "temporarily_unavailable", int64(-1), int64(0), int64(0), int64(0), int64(-7), int64(0), false, true, int64(-5), "r<1>", "")
	f.Add("", 401, "", "unauthorized", int64(0), int64(0), int64(0), int64(0), int64(0), int64(1764201600123), false, false, int64(0), "", "")
	f.Add("é", 200, "", "", int64(0), int64(0), int64(0), int64(0), int64(0), int64(-1), false, false, int64(0), "\xff", "é")
	f.Fuzz(func(t *testing.T, webhook string, status int, bodyStatus, code string, c0, c1, c2, c3, latency, ms int64, replay, redrive bool, ageMs int64, requestID, account string) {
		d := delivery{
			webhook: webhook, answer: metrics.Answer{Status: status, BodyStatus: bodyStatus, Error: code, RequestID: requestID, Account: account},
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
		want := map[string]any{
			"Webhook": webhook, "Outcome": string(outcome), "Reason": reason, "Deliveries": "1",
			"status": strconv.Itoa(status), "level": d.answer.Level().String(), "msg": metrics.RecordMessage,
			"Latency": float64(d.at.Sub(d.at.Add(-d.latency)).Microseconds()) / 1000,
		}
		// What does not apply is left out: a counter at 0, the flags when false, the age but on a
		// re-drive, the ids and the account when unknown.
		optional := map[string]struct {
			present bool
			value   any
		}{
			"OtpsStored":      {c0 != 0, strconv.FormatInt(c0, 10)},
			"OtpsStale":       {c1 != 0, strconv.FormatInt(c1, 10)},
			"EventsPublished": {c2 != 0, strconv.FormatInt(c2, 10)},
			"PublishRetries":  {c3 != 0, strconv.FormatInt(c3, 10)},
			"replay":          {replay, true},
			"redrive":         {redrive, true},
			"DeferredAge":     {redrive, float64(max(d.age, 0).Milliseconds()) / 1000},
			"requestId":       {requestID != "", viaJSON(requestID)},
			"account":         {account != "", viaJSON(account)},
		}
		for k, o := range optional {
			if _, has := m[k]; has != o.present {
				t.Errorf("%s present: %v, want %v: %s", k, has, o.present, line)
			}
			if o.present {
				want[k] = o.value
			}
		}
		if _, has := m["awsRequestId"]; has {
			t.Errorf("awsRequestId outside Lambda: %s", line)
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

// viaJSON is s as encoding/json writes it and reads it back (invalid UTF-8 replaced).
func viaJSON(s string) string {
	b, _ := json.Marshal(s)
	var back string
	_ = json.Unmarshal(b, &back)
	return back
}
