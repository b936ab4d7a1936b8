package metrics_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
	"github.com/amazon-webhook-gateway/gateway/tests/emfcheck"
)

var at = time.Date(2026, 11, 27, 12, 0, 0, 123_000_000, time.UTC)

func valid() metrics.Object {
	return metrics.Object{
		Timestamp: at,
		Directives: []metrics.Directive{{
			Namespace: "AmazonWebhookGateway", Dimensions: [][]string{{"Webhook"}},
			Metrics: []metrics.Metric{{Name: "Deliveries", Unit: metrics.Count}, {Name: "Latency", Unit: metrics.Milliseconds}},
		}},
		Members: map[string]any{"Webhook": "shipping", "Deliveries": 1, "Latency": 12.5, "requestId": "r-1"},
	}
}

func TestWriterWritesOneSpecValidLine(t *testing.T) {
	var buf bytes.Buffer
	if err := metrics.NewWriter(&buf).Write(valid()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("want exactly one line, got %q", out)
	}
	m, err := emfcheck.Check(strings.TrimSuffix(out, "\n"))
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	ts := m["_aws"].(map[string]any)["Timestamp"]
	if fmt.Sprint(ts) != fmt.Sprint(at.UnixMilli()) {
		t.Errorf("Timestamp %v, want %d (milliseconds)", ts, at.UnixMilli())
	}
	if m["requestId"] != "r-1" || m["Webhook"] != "shipping" {
		t.Errorf("members not at the root: %s", out)
	}
}

func TestValidateRejects(t *testing.T) {
	many := func(n int) ([]metrics.Metric, map[string]any) {
		ms, members := []metrics.Metric{}, map[string]any{"Webhook": "shipping"}
		for i := range n {
			name := fmt.Sprintf("M%d", i)
			ms = append(ms, metrics.Metric{Name: name, Unit: metrics.Count})
			members[name] = 1
		}
		return ms, members
	}
	dims := func(n int) ([]string, map[string]any) {
		set, members := []string{}, map[string]any{"Deliveries": 1, "Latency": 1.0}
		for i := range n {
			name := fmt.Sprintf("D%d", i)
			set = append(set, name)
			members[name] = "v"
		}
		return set, members
	}
	tests := []struct {
		name   string
		change func(o *metrics.Object)
		ok     bool
	}{
		{"valid", func(*metrics.Object) {}, true},
		{"zero timestamp", func(o *metrics.Object) { o.Timestamp = time.Time{} }, false},
		{"no directive", func(o *metrics.Object) { o.Directives = nil }, false},
		{"bad namespace", func(o *metrics.Object) { o.Directives[0].Namespace = "a b" }, false},
		{"empty namespace", func(o *metrics.Object) { o.Directives[0].Namespace = "" }, false},
		{"invalid unit", func(o *metrics.Object) { o.Directives[0].Metrics[0].Unit = "Widgets" }, false},
		{"unit omitted", func(o *metrics.Object) { o.Directives[0].Metrics[0].Unit = "" }, true},
		{"NaN", func(o *metrics.Object) { o.Members["Latency"] = math.NaN() }, false},
		{"+Inf", func(o *metrics.Object) { o.Members["Latency"] = math.Inf(1) }, false},
		{"Inf in an array", func(o *metrics.Object) { o.Members["Latency"] = []float64{1, math.Inf(-1)} }, false},
		{"array of values", func(o *metrics.Object) { o.Members["Latency"] = []float64{1, 2} }, true},
		{"101 values", func(o *metrics.Object) { o.Members["Latency"] = make([]float64, 101) }, false},
		{"metric member missing", func(o *metrics.Object) { delete(o.Members, "Deliveries") }, false},
		{"metric member a string", func(o *metrics.Object) { o.Members["Deliveries"] = "1" }, false},
		{"dimension member missing", func(o *metrics.Object) { delete(o.Members, "Webhook") }, false},
		{"dimension member a number", func(o *metrics.Object) { o.Members["Webhook"] = 1 }, false},
		{"dimension value empty", func(o *metrics.Object) { o.Members["Webhook"] = "" }, false},
		{"dimension value not ASCII", func(o *metrics.Object) { o.Members["Webhook"] = "café" }, false},
		{"dimension name starting with a colon", func(o *metrics.Object) {
			o.Directives[0].Dimensions = [][]string{{":x"}}
			o.Members[":x"] = "v"
		}, false},
		{"repeated metric", func(o *metrics.Object) {
			o.Directives[0].Metrics = append(o.Directives[0].Metrics, o.Directives[0].Metrics[0])
		}, false},
		{"no dimension sets", func(o *metrics.Object) { o.Directives[0].Dimensions = nil }, false},
		{"an empty dimension set", func(o *metrics.Object) { o.Directives[0].Dimensions = [][]string{{}} }, true},
		{"_aws member", func(o *metrics.Object) { o.Members["_aws"] = 1 }, false},
		{"100 metrics", func(o *metrics.Object) { o.Directives[0].Metrics, o.Members = many(100) }, true},
		{"101 metrics", func(o *metrics.Object) { o.Directives[0].Metrics, o.Members = many(101) }, false},
		{"30 dimensions", func(o *metrics.Object) {
			set, m := dims(30)
			o.Directives[0].Dimensions, o.Members = [][]string{set}, m
		}, true},
		{"31 dimensions", func(o *metrics.Object) {
			set, m := dims(31)
			o.Directives[0].Dimensions, o.Members = [][]string{set}, m
		}, false},
		{"too big", func(o *metrics.Object) { o.Members["note"] = strings.Repeat("x", metrics.MaxBytes) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := valid()
			tc.change(&o)
			var buf bytes.Buffer
			err := metrics.NewWriter(&buf).Write(o)
			if tc.ok != (err == nil) {
				t.Fatalf("Write: %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				if !errors.Is(err, metrics.ErrInvalid) {
					t.Errorf("error %v does not wrap ErrInvalid", err)
				}
				if buf.Len() != 0 {
					t.Errorf("an invalid object was written: %s", buf.String())
				}
				return
			}
			// What the writer accepts, the independent checker accepts too.
			if _, err := emfcheck.Check(strings.TrimSpace(buf.String())); err != nil {
				t.Errorf("checker refuses a written line: %v", err)
			}
		})
	}
}

// The checker is not a mirror of the writer: it refuses lines the writer could never produce.
func TestCheckRefuses(t *testing.T) {
	for name, line := range map[string]string{
		"seconds":           `{"_aws":{"Timestamp":1764244800,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"A"}]}]},"A":1}`,
		"two objects":       `{"_aws":{"Timestamp":1764244800000,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"A"}]}]},"A":1} {}`,
		"bad unit":          `{"_aws":{"Timestamp":1764244800000,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"A","Unit":"ms"}]}]},"A":1}`,
		"missing dimension": `{"_aws":{"Timestamp":1764244800000,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["D"]],"Metrics":[{"Name":"A"}]}]},"A":1}`,
		"missing metric":    `{"_aws":{"Timestamp":1764244800000,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"A"}]}]}}`,
		"no _aws":           `{"A":1}`,
	} {
		if _, err := emfcheck.Check(line); err == nil {
			t.Errorf("%s: accepted %s", name, line)
		}
	}
}

// FuzzWriter: whatever names and values it is given, the writer either refuses the object or
// writes one line that the specification accepts.
func FuzzWriter(f *testing.F) {
	f.Add("AmazonWebhookGateway", "Webhook", "shipping", "Deliveries", "Count", 1.0, int64(1764244800123))
	f.Add("a b", ":x", "", "", "Widgets", math.NaN(), int64(0))
	f.Add("N", "D", "café", "M", "", math.Inf(1), int64(-5))
	f.Fuzz(func(t *testing.T, ns, dim, value, metric, unit string, v float64, ms int64) {
		o := metrics.Object{
			Timestamp:  time.UnixMilli(ms),
			Directives: []metrics.Directive{{Namespace: ns, Dimensions: [][]string{{dim}}, Metrics: []metrics.Metric{{Name: metric, Unit: metrics.Unit(unit)}}}},
			Members:    map[string]any{dim: value, metric: v},
		}
		var buf bytes.Buffer
		if err := metrics.NewWriter(&buf).Write(o); err != nil {
			if buf.Len() != 0 {
				t.Fatalf("refused but wrote %q", buf.String())
			}
			return
		}
		line := buf.String()
		if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
			t.Fatalf("not one line: %q", line)
		}
		if ms >= 1_000_000_000_000 { // the checker treats smaller values as seconds
			if _, err := emfcheck.Check(strings.TrimSuffix(line, "\n")); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
		}
	})
}
