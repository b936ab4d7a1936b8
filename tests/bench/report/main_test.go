package main

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
pkg: github.com/amazon-webhook-gateway/gateway/tests/bench
BenchmarkDelivery/shipping-2   	    2000	    300000 ns/op	    320000 cpu-ns/op	      1576 log-B/op	  127126 B/op	    1291 allocs/op
BenchmarkDelivery/shipping-2   	    2000	    100000 ns/op	    120000 cpu-ns/op	      1576 log-B/op	  127000 B/op	    1290 allocs/op
BenchmarkDelivery/shipping-2   	    2000	    200000 ns/op	    220000 cpu-ns/op	      1576 log-B/op	  127100 B/op	    1292 allocs/op
BenchmarkDelivery/aps-form     	    2000	    400000 ns/op	    375194 cpu-ns/op	      1402 log-B/op	  124111 B/op	    1260 allocs/op
BenchmarkRatio/shipping-2      	    2000	    376935 ns/op	     21508 baseline-ns/op	    355338 delivery-ns/op	        16.52 x-baseline
BenchmarkRatio/shipping-2      	    2000	    376935 ns/op	     21508 baseline-ns/op	    355338 delivery-ns/op	        12.00 x-baseline
BenchmarkOther-2              	    2000	    1 ns/op
PASS
`

// The report takes each figure's median per webhook, in the order the webhooks ran, and strips
// the GOMAXPROCS suffix only.
func TestMediansPerWebhook(t *testing.T) {
	r, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.webhooks, ",") != "shipping,aps-form" {
		t.Fatalf("webhooks %v", r.webhooks)
	}
	for _, tc := range []struct {
		k    key
		want float64
	}{{nsOp, 200000}, {cpuOp, 220000}, {allocsOp, 1291}, {xBase, 14.26}} {
		if got := r.median("shipping", tc.k); got != tc.want {
			t.Errorf("median %v = %v, want %v", tc.k, got, tc.want)
		}
	}
	if r.runs() != 3 {
		t.Errorf("runs = %d, want 3", r.runs())
	}
	var out bytes.Buffer
	report(&out, r)
	// 220 µs of CPU at 256 MB: 220 × 1769/256 = 1520.2 µs.
	if !strings.Contains(out.String(), "1.52 ms") || !strings.Contains(out.String(), "not a goal") {
		t.Errorf("report:\n%s", out.String())
	}
}

// The billed change is the CPU change × 1,769/256, rounded to the 1 ms unit, 0 when under half.
func TestBilledChangeRoundsToTheMillisecond(t *testing.T) {
	for _, tc := range []struct {
		cpuDeltaNs float64
		want       int
	}{{-50e3, 0}, {50e3, 0}, {-80e3, -1}, {200e3, 1}, {300e3, 2}} {
		if got := billedMs(at256(tc.cpuDeltaNs)); got != tc.want {
			t.Errorf("%v ns of CPU: %d ms, want %d", tc.cpuDeltaNs, got, tc.want)
		}
	}
	before, _ := parse(strings.NewReader(sample))
	after, _ := parse(strings.NewReader(strings.ReplaceAll(sample, "220000 cpu-ns/op", "120000 cpu-ns/op")))
	var out bytes.Buffer
	compare(&out, before, after)
	if !strings.Contains(out.String(), "-0.691 ms = -1 ms") {
		t.Errorf("comparison:\n%s", out.String())
	}
}
