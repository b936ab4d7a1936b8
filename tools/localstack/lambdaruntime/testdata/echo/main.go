// Command echo is a test fixture Lambda function for package lambdaruntime. It returns its input
// unchanged unless the input asks for something else (see request).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	SleepMs int      `json:"sleepMs"` // sleep this long inside the handler
	Panic   string   `json:"panic"`   // panic with this value
	Error   string   `json:"error"`   // return an error with this message
	Exit    int      `json:"exit"`    // os.Exit with this code mid-invocation
	Env     []string `json:"env"`     // answer with info: these variables' values
	Info    bool     `json:"info"`    // answer with info instead of the input
}

type info struct {
	RequestID   string            `json:"requestId"`
	FunctionARN string            `json:"functionArn"`
	DeadlineMs  int64             `json:"deadlineMs"`
	TraceID     string            `json:"traceId"`
	PID         int               `json:"pid"`
	Cwd         string            `json:"cwd"`
	Env         map[string]string `json:"env"`
	Start       int64             `json:"start"` // unix nanoseconds
	End         int64             `json:"end"`
}

var inflight atomic.Int32

func main() {
	fmt.Println("echo: init pid", os.Getpid())
	if f := os.Getenv("ECHO_FAIL_INIT_IF_EXISTS"); f != "" {
		if _, err := os.Stat(f); err == nil {
			fmt.Println("echo: refusing to start:", f, "exists")
			os.Exit(1)
		}
	}
	if ms, _ := strconv.Atoi(os.Getenv("ECHO_INIT_SLEEP_MS")); ms > 0 {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	lambda.Start(handle)
}

func handle(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
	start := time.Now()
	lc, _ := lambdacontext.FromContext(ctx)
	release := enter(lc.AwsRequestID)
	defer release()

	fmt.Printf("echo: handling request %s\n", lc.AwsRequestID)
	fmt.Fprintf(os.Stderr, "echo: stderr line for %s\n", lc.AwsRequestID)

	var req request
	_ = json.Unmarshal(in, &req) // not every payload is an object
	if req.SleepMs > 0 {
		time.Sleep(time.Duration(req.SleepMs) * time.Millisecond)
	}
	switch {
	case req.Exit != 0:
		fmt.Println("echo: exiting with", req.Exit)
		os.Exit(req.Exit)
	case req.Panic != "":
		panic(req.Panic)
	case req.Error != "":
		return nil, errors.New(req.Error)
	case req.Info || len(req.Env) > 0:
		deadline, _ := ctx.Deadline()
		out := info{
			RequestID:   lc.AwsRequestID,
			FunctionARN: lc.InvokedFunctionArn,
			DeadlineMs:  deadline.UnixMilli(),
			TraceID:     os.Getenv("_X_AMZN_TRACE_ID"),
			PID:         os.Getpid(),
			Env:         map[string]string{},
			Start:       start.UnixNano(),
			End:         time.Now().UnixNano(),
		}
		out.Cwd, _ = os.Getwd()
		for _, k := range req.Env {
			if v, ok := os.LookupEnv(k); ok {
				out.Env[k] = v
			}
		}
		return json.Marshal(out)
	}
	return in, nil
}

// enter records an overlap when another invocation is running, in this process (counter) or in
// another process of the same function (a lock file naming a live pid in ECHO_LOCK_DIR). An
// overlap is written to ECHO_LOCK_DIR/overlap, which the tests check.
func enter(id string) func() {
	dir := os.Getenv("ECHO_LOCK_DIR")
	overlap := func(why string) {
		if dir == "" {
			return
		}
		f, err := os.OpenFile(filepath.Join(dir, "overlap"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%s: %s\n", id, why)
			f.Close()
		}
	}
	if n := inflight.Add(1); n > 1 {
		overlap(fmt.Sprintf("%d invocations in process %d", n, os.Getpid()))
	}
	lock := ""
	if dir != "" {
		lock = filepath.Join(dir, "lock")
		for attempt := 0; ; attempt++ {
			f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err == nil {
				fmt.Fprint(f, os.Getpid())
				f.Close()
				break
			}
			b, _ := os.ReadFile(lock)
			pid, _ := strconv.Atoi(string(b))
			if pid > 0 && pid != os.Getpid() && syscall.Kill(pid, 0) == nil {
				overlap(fmt.Sprintf("process %d still runs an invocation", pid))
			}
			if attempt > 0 {
				break
			}
			os.Remove(lock) // stale: its owner was killed (e.g. timed out)
		}
	}
	return func() {
		inflight.Add(-1)
		if lock != "" {
			os.Remove(lock)
		}
	}
}
