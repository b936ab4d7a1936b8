//go:build !unix

package bench_test

import "time"

// cpuTime is not measured here: BenchmarkDelivery reports no cpu-ns/op.
func cpuTime() (time.Duration, bool) { return 0, false }
