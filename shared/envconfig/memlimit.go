package envconfig

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// memoryLimitPercent is the part of the function's memory the Go runtime may use before the
// collector works harder: the rest is for the binary's mappings and the OS.
const memoryLimitPercent = 90

// Where a memory limit came from, for the init log line.
const (
	limitFromGOMEMLIMIT = "GOMEMLIMIT"
	limitFromLambda     = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
	limitNone           = "none"
)

// memoryLimit decides the Go runtime's soft memory limit from the function's memory size in MB
// (Lambda's MB are MiB) and GOMEMLIMIT. A GOMEMLIMIT the operator set wins: the runtime has
// already applied it, so limit is 0 (leave it). Outside Lambda (no memory size) there is none.
func memoryLimit(memoryMB, goMemLimit string) (limit int64, source string, err error) {
	if strings.TrimSpace(goMemLimit) != "" {
		return 0, limitFromGOMEMLIMIT, nil
	}
	v := strings.TrimSpace(memoryMB)
	if v == "" {
		return 0, limitNone, nil
	}
	mb, err := strconv.ParseInt(v, 10, 32)
	if err != nil || mb <= 0 {
		return 0, limitNone, fmt.Errorf("AWS_LAMBDA_FUNCTION_MEMORY_SIZE: %q is not a positive number of MB", v)
	}
	return (mb << 20) * memoryLimitPercent / 100, limitFromLambda, nil
}

// SetMemoryLimit sets the Go runtime's soft memory limit (GOMEMLIMIT) to 90% of the Lambda
// function's memory size, unless GOMEMLIMIT is set in the environment, and logs the limit in
// force. Without it the collector ignores the memory size: a burst could grow the heap past it
// and Lambda would end the invocation, where a GC cycle would have sufficed. A memory size it
// cannot read is logged and ignored: the function still works without a limit.
func SetMemoryLimit(log *slog.Logger) {
	limit, source, err := memoryLimit(os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), os.Getenv("GOMEMLIMIT"))
	if err != nil {
		log.Warn("memory limit not set", "error", err)
	}
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	// SetMemoryLimit(-1) reads the limit without changing it (math.MaxInt64: none).
	log.Info("memory limit", "gomemlimit", debug.SetMemoryLimit(-1), "gomemlimitSource", source)
}
