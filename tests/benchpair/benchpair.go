// Package benchpair runs two operations alternately in one benchmark loop, so that both see the
// same machine load, and reports their ratio: how this machine's speed moves cancels out.
package benchpair

import (
	"testing"
	"time"
)

// Run times ours and theirs alternately and reports each one's ns/op and ours/theirs under
// "x-"+label (for example "x-crypto"). Both must succeed or fail b themselves.
func Run(b *testing.B, label string, ours, theirs func()) {
	b.Helper()
	var a, c time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		ours()
		t1 := time.Now()
		theirs()
		a, c = a+t1.Sub(t0), c+time.Since(t1)
		n++
	}
	b.ReportMetric(float64(a.Nanoseconds())/float64(n), "ours-ns/op")
	b.ReportMetric(float64(c.Nanoseconds())/float64(n), label+"-ns/op")
	b.ReportMetric(float64(a)/float64(c), "x-"+label)
}
