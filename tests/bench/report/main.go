// Command report prints `make bench`'s report from the output of tests/bench's benchmarks (go
// test -bench '^Benchmark(Delivery|Ratio)$' -benchmem -count N): per webhook, the median over the
// runs of each figure of one warm delivery, and its CPU time as an estimate at 256 MB.
//
//	go test -run '^$' -bench '^Benchmark(Delivery|Ratio)$' -benchmem -count 5 ./tests/bench | go run ./tests/bench/report
//
// With -before FILE (the same benchmarks' output on another commit, run interleaved with this
// one's so that the machine's load falls on both alike) it adds a before/after comparison and the
// estimated change of the billed duration per delivery.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Lambda gives a function CPU in proportion to its memory: a full vCPU at 1,769 MB. At the
// template's 256 MB, CPU-bound work takes 1,769/256 times its CPU time.
const (
	fullVCPUMB = 1769
	memoryMB   = 256
)

// Figures of one delivery: benchmark and unit.
var (
	nsOp     = key{"Delivery", "ns/op"}
	cpuOp    = key{"Delivery", "cpu-ns/op"}
	bytesOp  = key{"Delivery", "B/op"}
	allocsOp = key{"Delivery", "allocs/op"}
	logOp    = key{"Delivery", "log-B/op"}
	xBase    = key{"Ratio", "x-baseline"}
)

type key struct{ bench, unit string }

// results are the samples of each figure by webhook, webhooks in the order first seen.
type results struct {
	webhooks []string
	samples  map[string]map[key][]float64
}

// parse reads `go test -bench` output, keeping the lines of BenchmarkDelivery/<webhook> and
// BenchmarkRatio/<webhook>.
func parse(r io.Reader) (*results, error) {
	res := &results{samples: map[string]map[key][]float64{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		bench, webhook, ok := strings.Cut(strings.TrimPrefix(f[0], "Benchmark"), "/")
		if !ok || (bench != "Delivery" && bench != "Ratio") {
			continue
		}
		if i := strings.LastIndexByte(webhook, '-'); i > 0 {
			if _, err := strconv.Atoi(webhook[i+1:]); err == nil {
				webhook = webhook[:i] // the GOMAXPROCS suffix
			}
		}
		if res.samples[webhook] == nil {
			res.samples[webhook] = map[key][]float64{}
			res.webhooks = append(res.webhooks, webhook)
		}
		// f[1] is the iteration count; then value-unit pairs.
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not a number", f[0], f[i])
			}
			k := key{bench, f[i+1]}
			res.samples[webhook][k] = append(res.samples[webhook][k], v)
		}
	}
	return res, sc.Err()
}

// median of webhook's samples of k; NaN when there are none.
func (r *results) median(webhook string, k key) float64 {
	v := slices.Clone(r.samples[webhook][k])
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func (r *results) runs() int {
	n := 0
	for _, w := range r.webhooks {
		n = max(n, len(r.samples[w][nsOp]), len(r.samples[w][xBase]))
	}
	return n
}

// at256 is the estimated wall time at 256 MB of CPU-bound work that takes cpuNs of CPU.
func at256(cpuNs float64) float64 { return cpuNs * fullVCPUMB / memoryMB }

func us(ns float64) string {
	if math.IsNaN(ns) {
		return "-"
	}
	return strconv.FormatFloat(ns/1e3, 'f', 1, 64)
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func ratio(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "x"
}

func ms(ns float64) string {
	if math.IsNaN(ns) {
		return "-"
	}
	return strconv.FormatFloat(ns/1e6, 'f', 2, 64) + " ms"
}

// table writes rows with columns padded to their widest cell, numbers right-aligned.
func table(w io.Writer, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		b.WriteString(" ")
		for i, c := range row {
			pad := strings.Repeat(" ", widths[i]-len([]rune(c)))
			if i == 0 {
				b.WriteString(" " + c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

func report(w io.Writer, after *results) {
	fmt.Fprintf(w, "\none warm delivery per webhook, median of %d runs (tests/bench: each function built as its main.go\n", after.runs())
	fmt.Fprintln(w, "builds it, AWS faked at the SDK's HTTP client, nothing of the product stubbed):")
	rows := [][]string{{"webhook", "µs/op", "CPU µs/op", "B/op", "allocs/op", "log B/op", "x-baseline", "CPU at 256 MB (est.)"}}
	for _, wh := range after.webhooks {
		rows = append(rows, []string{wh,
			us(after.median(wh, nsOp)), us(after.median(wh, cpuOp)), num(after.median(wh, bytesOp)), num(after.median(wh, allocsOp)),
			num(after.median(wh, logOp)), ratio(after.median(wh, xBase)), ms(at256(after.median(wh, cpuOp)))})
	}
	table(w, rows)
	fmt.Fprintln(w, "x-baseline: the delivery / a bare JSON round trip of its body, timed alternately in one loop;")
	fmt.Fprintln(w, "  a reference line, not a goal. The budgets are AWS calls, write units, events and log bytes")
	fmt.Fprintln(w, "  per delivery (tests/calls).")
	fmt.Fprintf(w, "CPU at 256 MB: CPU time x %d/%d (Lambda's CPU share at 256 MB), an estimate of the CPU part of\n", fullVCPUMB, memoryMB)
	fmt.Fprintln(w, "  the billed duration; the waits on AWS, answered at once here, are most of it on AWS.")
}

// compare writes the before/after comparison: figures as after/before, and the estimated change
// of the billed duration, rounded to Lambda's 1 ms billing unit.
func compare(w io.Writer, before, after *results) {
	fmt.Fprintf(w, "\nbefore -> after, medians (%d and %d runs, interleaved):\n", before.runs(), after.runs())
	rows := [][]string{{"webhook", "CPU µs before (range)", "CPU µs after (range)", "after/before", "µs/op a/b", "B/op a/b", "allocs a/b", "x-baseline b -> a", "billed at 256 MB (est.)"}}
	for _, wh := range after.webhooks {
		cb, ca := before.median(wh, cpuOp), after.median(wh, cpuOp)
		delta := at256(ca - cb)
		rows = append(rows, []string{wh, us(cb) + " " + spread(before, wh, cpuOp), us(ca) + " " + spread(after, wh, cpuOp), ratio(ca / cb),
			ratio(after.median(wh, nsOp) / before.median(wh, nsOp)),
			ratio(after.median(wh, bytesOp) / before.median(wh, bytesOp)),
			ratio(after.median(wh, allocsOp) / before.median(wh, allocsOp)),
			ratio(before.median(wh, xBase)) + " -> " + ratio(after.median(wh, xBase)),
			fmt.Sprintf("%+.3f ms = %s", delta/1e6, billed(delta))})
	}
	table(w, rows)
	fmt.Fprintf(w, "billed: the CPU time's change x %d/%d, an estimate, rounded to the 1 ms billing unit (0 ms:\n", fullVCPUMB, memoryMB)
	fmt.Fprintln(w, "  the change is below what a delivery's billed duration can show).")
}

// billed is billedMs with its unit, signed unless 0.
func billed(ns float64) string {
	if n := billedMs(ns); n != 0 {
		return fmt.Sprintf("%+d ms", n)
	}
	return "0 ms"
}

// spread is the range of webhook's samples of k, in µs: how much the runs moved.
func spread(r *results, webhook string, k key) string {
	v := r.samples[webhook][k]
	if len(v) < 2 {
		return ""
	}
	return "(" + us(slices.Min(v)) + "–" + us(slices.Max(v)) + ")"
}

// billedMs rounds an estimated change of duration (ns) to Lambda's 1 ms billing unit.
func billedMs(ns float64) int { return int(math.Round(ns / 1e6)) }

func main() {
	beforeFile := flag.String("before", "", "the same benchmarks' output on the commit to compare with")
	flag.Parse()
	after, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	if len(after.webhooks) == 0 {
		fmt.Fprintln(os.Stderr, "report: no BenchmarkDelivery or BenchmarkRatio lines in the input")
		os.Exit(1)
	}
	report(os.Stdout, after)
	if *beforeFile != "" {
		f, err := os.Open(*beforeFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
		before, err := parse(f)
		_ = f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
		compare(os.Stdout, before, after)
	}
}
