package lambdaruntime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fixtures maps a testdata program's name to its bootstrap binary, built once by TestMain.
var fixtures = map[string]string{}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdaruntime-fixtures-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if err := buildFixtures(dir, "echo", "badinit", "initerror"); err != nil {
		fmt.Fprintln(os.Stderr, "building the fixture functions:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildFixtures builds ./testdata/<name> as Lambda builds a provided.al2023 Go function, each to
// dir/<name>/bootstrap, in one go build.
func buildFixtures(dir string, names ...string) error {
	args := []string{"build", "-tags", "lambda.norpc", "-o", dir + string(filepath.Separator)}
	for _, n := range names {
		args = append(args, "./testdata/"+n)
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, n := range names {
		if err := os.Mkdir(filepath.Join(dir, n+".d"), 0o755); err != nil {
			return err
		}
		bin := filepath.Join(dir, n+".d", "bootstrap")
		if err := os.Rename(filepath.Join(dir, n), bin); err != nil {
			return err
		}
		fixtures[n] = bin
	}
	return nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitForLog waits (briefly: process output is copied asynchronously) for logs to contain want.
func waitForLog(t *testing.T, logs *lockedBuffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(logs.String(), want) {
			return
		}
	}
	t.Errorf("logs lack %q:\n%s", want, logs.String())
}

func startEcho(t *testing.T, fn Function) (*Instance, *lockedBuffer) {
	t.Helper()
	if fn.Name == "" {
		fn.Name = "Echo"
	}
	fn.Binary = fixtures["echo"]
	logs := &lockedBuffer{}
	inst, err := Start(context.Background(), fn, logs)
	if err != nil {
		t.Fatalf("Start: %v\nlogs:\n%s", err, logs.String())
	}
	t.Cleanup(func() { inst.Close() })
	return inst, logs
}

func invoke(t *testing.T, inst *Instance, payload string) Result {
	t.Helper()
	res, err := inst.Invoke(context.Background(), []byte(payload))
	if err != nil {
		t.Fatalf("Invoke(%s): %v", payload, err)
	}
	return res
}

type echoInfo struct {
	RequestID   string            `json:"requestId"`
	FunctionARN string            `json:"functionArn"`
	DeadlineMs  int64             `json:"deadlineMs"`
	TraceID     string            `json:"traceId"`
	PID         int               `json:"pid"`
	Cwd         string            `json:"cwd"`
	Env         map[string]string `json:"env"`
	Start       int64             `json:"start"`
	End         int64             `json:"end"`
}

func infoOf(t *testing.T, res Result) echoInfo {
	t.Helper()
	if res.FunctionError != "" {
		t.Fatalf("function error %s: %s", res.FunctionError, res.Payload)
	}
	var in echoInfo
	if err := json.Unmarshal(res.Payload, &in); err != nil || in.PID == 0 {
		t.Fatalf("payload %s is not the echo fixture's info: %v", res.Payload, err)
	}
	return in
}

func errorPayload(t *testing.T, res Result) (message, errorType string) {
	t.Helper()
	var e struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if err := json.Unmarshal(res.Payload, &e); err != nil {
		t.Fatalf("error payload %q is not JSON: %v", res.Payload, err)
	}
	return e.Message, e.Type
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == nil // no /proc: a zombie counts as alive here
	}
	// pid (comm) STATE ...; a zombie waiting for its (re)parent to reap it is dead enough
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

var (
	uuidRE   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	reportRE = regexp.MustCompile(`^REPORT RequestId: (\S+)\tDuration: (\d+\.\d\d) ms\tBilled Duration: (\d+) ms\tMemory Size: (\d+) MB(\tMax Memory Used: \d+ MB)?(\tInit Duration: (\d+\.\d\d) ms)?(\tStatus: \w+(\tError Type: \S+)?)?$`)
)

func TestColdStartThenWarm(t *testing.T) {
	inst, logs := startEcho(t, Function{Name: "ColdWarm", MemoryMB: 256})

	cold := invoke(t, inst, `{"info":true}`)
	warm := invoke(t, inst, `{"info":true}`)
	if cold.InitDuration <= 0 {
		t.Errorf("cold InitDuration = %v, want > 0", cold.InitDuration)
	}
	if warm.InitDuration != 0 {
		t.Errorf("warm InitDuration = %v, want 0", warm.InitDuration)
	}
	if a, b := infoOf(t, cold).PID, infoOf(t, warm).PID; a != b {
		t.Errorf("warm invocation ran in process %d, not %d", b, a)
	}
	for _, c := range []struct {
		name     string
		res      Result
		wantInit bool
	}{{"cold", cold, true}, {"warm", warm, false}} {
		res := c.res
		if !uuidRE.MatchString(res.RequestID) {
			t.Errorf("%s RequestID %q is not a UUID", c.name, res.RequestID)
		}
		m := reportRE.FindStringSubmatch(res.Report)
		if m == nil {
			t.Errorf("%s Report %q is not a REPORT line", c.name, res.Report)
			continue
		}
		if m[1] != res.RequestID || m[4] != "256" || m[8] != "" {
			t.Errorf("%s Report %q: wrong id, memory size or status", c.name, res.Report)
		}
		if (m[6] != "") != c.wantInit {
			t.Errorf("%s Report %q: Init Duration present = %v, want %v", c.name, res.Report, m[6] != "", c.wantInit)
		}
		if _, err := os.Stat("/proc/self/status"); err == nil && m[5] == "" {
			t.Errorf("%s Report %q lacks Max Memory Used", c.name, res.Report)
		}
		dur, _ := strconv.ParseFloat(m[2], 64)
		initDur, _ := strconv.ParseFloat("0"+m[7], 64)
		billed, _ := strconv.Atoi(m[3])
		if want := fmt.Sprintf("%.2f", float64(res.Duration)/1e6); m[2] != want {
			t.Errorf("%s Report Duration %s ms, Result.Duration %s ms", c.name, m[2], want)
		}
		if float64(billed) < dur+initDur || float64(billed) > dur+initDur+1.01 {
			t.Errorf("%s Report %q: billed duration is not duration+init rounded up", c.name, res.Report)
		}
		waitForLog(t, logs, "[ColdWarm] "+res.Report+"\n")
		waitForLog(t, logs, "[ColdWarm] START RequestId: "+res.RequestID+" Version: $LATEST\n")
		waitForLog(t, logs, "[ColdWarm] END RequestId: "+res.RequestID+"\n")
		waitForLog(t, logs, "[ColdWarm] echo: handling request "+res.RequestID+"\n")
		waitForLog(t, logs, "[ColdWarm] echo: stderr line for "+res.RequestID+"\n")
	}
	waitForLog(t, logs, "[ColdWarm] echo: init pid ")
}

func TestPayloadRoundTripAndInvocationHeaders(t *testing.T) {
	inst, _ := startEcho(t, Function{Name: "RoundTrip", Timeout: 2 * time.Second,
		Env: map[string]string{"AWS_REGION": "eu-west-1"}})
	big := `{"blob":"` + strings.Repeat("x", 300<<10) + `"}`
	for _, p := range []string{
		`{"a":1,"nested":{"b":[1,2,3],"c":null},"s":"h\u00e9llo \u2603"}`,
		`"just a string"`,
		`[1,2,3]`,
		`42`,
		big,
	} {
		res := invoke(t, inst, p)
		if res.FunctionError != "" || !bytes.Equal(res.Payload, []byte(p)) {
			short := func(s string) string {
				if len(s) > 80 {
					return s[:80] + "..."
				}
				return s
			}
			t.Errorf("payload %s came back as %s (function error %q)", short(p), short(string(res.Payload)), res.FunctionError)
		}
	}

	before := time.Now()
	res := invoke(t, inst, `{"info":true}`)
	in := infoOf(t, res)
	if in.RequestID != res.RequestID {
		t.Errorf("the function saw request id %q, Result has %q", in.RequestID, res.RequestID)
	}
	if want := "arn:aws:lambda:eu-west-1:123456789012:function:RoundTrip"; in.FunctionARN != want {
		t.Errorf("invoked function ARN = %q, want %q", in.FunctionARN, want)
	}
	deadline := time.UnixMilli(in.DeadlineMs)
	if d := deadline.Sub(before); d < 1900*time.Millisecond || d > 2100*time.Millisecond {
		t.Errorf("deadline is %v after the invocation, want about the 2s timeout", d)
	}
	if !regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$`).MatchString(in.TraceID) {
		t.Errorf("trace id = %q", in.TraceID)
	}
}

func TestEnvironment(t *testing.T) {
	t.Setenv("LAMBDARUNTIME_HOST_ONLY", "leak")
	inst, _ := startEcho(t, Function{Name: "EnvFunction", MemoryMB: 512, Env: map[string]string{
		"TABLE_NAME":             "orders",
		"AWS_EXECUTION_ENV":      "caller-wins",
		"AWS_LAMBDA_RUNTIME_API": "10.0.0.1:9001", // cannot be redirected
	}})
	names := []string{"TABLE_NAME", "AWS_EXECUTION_ENV", "AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_FUNCTION_NAME",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_LOG_GROUP_NAME",
		"AWS_LAMBDA_LOG_STREAM_NAME", "_HANDLER", "LAMBDA_TASK_ROOT", "AWS_REGION", "LAMBDARUNTIME_HOST_ONLY"}
	b, _ := json.Marshal(map[string]any{"env": names})
	in := infoOf(t, invoke(t, inst, string(b)))
	dir := filepath.Dir(fixtures["echo"])
	want := map[string]string{
		"TABLE_NAME":                      "orders",
		"AWS_EXECUTION_ENV":               "caller-wins",
		"AWS_LAMBDA_RUNTIME_API":          inst.addr,
		"AWS_LAMBDA_FUNCTION_NAME":        "EnvFunction",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/EnvFunction",
		"_HANDLER":                        "bootstrap",
		"LAMBDA_TASK_ROOT":                dir,
		"AWS_REGION":                      "us-east-1",
	}
	for k, v := range want {
		if in.Env[k] != v {
			t.Errorf("%s = %q, want %q", k, in.Env[k], v)
		}
	}
	if !strings.HasPrefix(inst.addr, "127.0.0.1:") {
		t.Errorf("runtime API address %q is not on 127.0.0.1", inst.addr)
	}
	if !regexp.MustCompile(`^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$`).MatchString(in.Env["AWS_LAMBDA_LOG_STREAM_NAME"]) {
		t.Errorf("log stream name = %q", in.Env["AWS_LAMBDA_LOG_STREAM_NAME"])
	}
	if v, ok := in.Env["LAMBDARUNTIME_HOST_ONLY"]; ok {
		t.Errorf("the host's environment leaked into the function: LAMBDARUNTIME_HOST_ONLY=%q", v)
	}
	if in.Cwd != dir {
		t.Errorf("working directory = %q, want the binary's %q", in.Cwd, dir)
	}
}

func TestFunctionErrors(t *testing.T) {
	inst, logs := startEcho(t, Function{Name: "Errors"})
	first := infoOf(t, invoke(t, inst, `{"info":true}`))

	res := invoke(t, inst, `{"error":"the order was not found"}`)
	msg, typ := errorPayload(t, res)
	if res.FunctionError != "errorString" || typ != "errorString" || msg != "the order was not found" {
		t.Errorf("handler error: FunctionError %q, payload %s", res.FunctionError, res.Payload)
	}
	if !reportRE.MatchString(res.Report) || strings.Contains(res.Report, "Status:") {
		t.Errorf("handler error Report = %q", res.Report)
	}
	// a returned error keeps the process
	after := invoke(t, inst, `{"info":true}`)
	if in := infoOf(t, after); in.PID != first.PID || after.InitDuration != 0 {
		t.Errorf("after a handler error: pid %d (was %d), InitDuration %v; want the same warm process",
			in.PID, first.PID, after.InitDuration)
	}

	res = invoke(t, inst, `{"panic":"kaboom"}`)
	msg, typ = errorPayload(t, res)
	if res.FunctionError == "" || res.FunctionError != typ || !strings.Contains(msg, "kaboom") {
		t.Errorf("panic: FunctionError %q, payload %s", res.FunctionError, res.Payload)
	}
	// aws-lambda-go exits after reporting a panic: the next invocation is a cold start
	after = invoke(t, inst, `{"info":true}`)
	if in := infoOf(t, after); in.PID == first.PID || after.InitDuration == 0 ||
		!strings.Contains(after.Report, "Init Duration") {
		t.Errorf("after a panic: pid %d (was %d), InitDuration %v, Report %q; want a cold start",
			in.PID, first.PID, after.InitDuration, after.Report)
	}
	waitForLog(t, logs, "[Errors] echo: init pid "+strconv.Itoa(infoOf(t, after).PID))
}

func TestTimeoutKillsAndColdStartsAgain(t *testing.T) {
	inst, logs := startEcho(t, Function{Name: "Slow", Timeout: 300 * time.Millisecond})
	first := infoOf(t, invoke(t, inst, `{"info":true}`))

	began := time.Now()
	res := invoke(t, inst, `{"sleepMs":5000}`)
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("a timed-out invocation took %v", took)
	}
	msg, typ := errorPayload(t, res)
	if res.FunctionError != "Sandbox.Timedout" || typ != "Sandbox.Timedout" {
		t.Errorf("FunctionError %q, payload %s; want Sandbox.Timedout", res.FunctionError, res.Payload)
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ` + res.RequestID +
		` Task timed out after 0\.30 seconds$`).MatchString(msg) {
		t.Errorf("timeout errorMessage = %q", msg)
	}
	if res.Duration != 300*time.Millisecond || !strings.Contains(res.Report, "\tDuration: 300.00 ms\tBilled Duration: 300 ms") ||
		!strings.HasSuffix(res.Report, "\tStatus: timeout") || !reportRE.MatchString(res.Report) {
		t.Errorf("timeout Duration %v, Report %q", res.Duration, res.Report)
	}
	if alive(first.PID) {
		t.Errorf("the timed-out process %d is still running", first.PID)
	}
	waitForLog(t, logs, "[Slow] "+msg+"\n")
	waitForLog(t, logs, "[Slow] "+res.Report+"\n")

	next := invoke(t, inst, `{"info":true}`)
	if in := infoOf(t, next); in.PID == first.PID || next.InitDuration == 0 {
		t.Errorf("after a timeout: pid %d (was %d), InitDuration %v; want a new cold-started process",
			in.PID, first.PID, next.InitDuration)
	}
	if warm := invoke(t, inst, `{"info":true}`); warm.InitDuration != 0 {
		t.Errorf("second invocation after the restart has InitDuration %v", warm.InitDuration)
	}
}

func TestProcessExitMidInvocation(t *testing.T) {
	inst, logs := startEcho(t, Function{Name: "Crashy"})
	first := infoOf(t, invoke(t, inst, `{"info":true}`))

	res := invoke(t, inst, `{"exit":3}`)
	msg, typ := errorPayload(t, res)
	if res.FunctionError != "Runtime.ExitError" || typ != "Runtime.ExitError" ||
		msg != "RequestId: "+res.RequestID+" Error: Runtime exited with error: exit status 3" {
		t.Errorf("FunctionError %q, payload %s", res.FunctionError, res.Payload)
	}
	if !strings.HasSuffix(res.Report, "\tStatus: error\tError Type: Runtime.ExitError") || !reportRE.MatchString(res.Report) {
		t.Errorf("Report %q", res.Report)
	}
	// the output it wrote before dying is in the logs already
	if !strings.Contains(logs.String(), "[Crashy] echo: exiting with 3\n") {
		t.Errorf("logs lack the dying process's last line:\n%s", logs.String())
	}
	next := invoke(t, inst, `{"info":true}`)
	if in := infoOf(t, next); in.PID == first.PID || next.InitDuration == 0 {
		t.Errorf("after the exit: pid %d (was %d), InitDuration %v; want a cold start", in.PID, first.PID, next.InitDuration)
	}
}

func TestColdStartFailureDuringInvoke(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "broken")
	inst, logs := startEcho(t, Function{Name: "Flaky", Env: map[string]string{"ECHO_FAIL_INIT_IF_EXISTS": flag}})
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if res := invoke(t, inst, `{"exit":3}`); res.FunctionError != "Runtime.ExitError" {
		t.Fatalf("exit: FunctionError %q", res.FunctionError)
	}
	res := invoke(t, inst, `{"info":true}`) // the cold start fails: a function error, as Lambda answers
	msg, typ := errorPayload(t, res)
	if res.FunctionError != "Runtime.ExitError" || typ != "Runtime.ExitError" ||
		msg != "RequestId: "+res.RequestID+" Error: Runtime exited with error: exit status 1" {
		t.Errorf("failed cold start: FunctionError %q, payload %s", res.FunctionError, res.Payload)
	}
	if !reportRE.MatchString(res.Report) || !strings.HasSuffix(res.Report, "\tStatus: error\tError Type: Runtime.ExitError") {
		t.Errorf("failed cold start Report = %q", res.Report)
	}
	waitForLog(t, logs, "[Flaky] echo: refusing to start: ")
	waitForLog(t, logs, "\tPhase: init\tStatus: error\tError Type: Runtime.ExitError\n")
	waitForLog(t, logs, "[Flaky] "+res.Report+"\n")

	os.Remove(flag)
	if res := invoke(t, inst, `{"info":true}`); res.FunctionError != "" || res.InitDuration == 0 {
		t.Errorf("once fixed: FunctionError %q, InitDuration %v; want a successful cold start", res.FunctionError, res.InitDuration)
	}
}

func TestInvokeContextCancelled(t *testing.T) {
	inst, _ := startEcho(t, Function{Name: "Cancel", Timeout: 10 * time.Second})
	first := infoOf(t, invoke(t, inst, `{"info":true}`))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	if _, err := inst.Invoke(ctx, []byte(`{"sleepMs":5000}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Invoke with an expiring context: err = %v", err)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("cancelled Invoke took %v", took)
	}
	next := invoke(t, inst, `{"info":true}`)
	if in := infoOf(t, next); in.PID == first.PID || next.InitDuration == 0 {
		t.Errorf("after a cancelled invocation: pid %d (was %d); want a fresh process", in.PID, first.PID)
	}
}

func TestConcurrentInvocationsAreSerialised(t *testing.T) {
	lockDir := t.TempDir()
	inst, _ := startEcho(t, Function{Name: "Busy", Timeout: 400 * time.Millisecond,
		Env: map[string]string{"ECHO_LOCK_DIR": lockDir}})

	type outcome struct {
		res Result
		in  echoInfo
		err error
	}
	const workers, each = 8, 4
	var mu sync.Mutex
	var outcomes []outcome
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range each {
				payload := `{"info":true,"sleepMs":5}`
				if w == 3 && n == 1 { // one timeout mid-way: its process is replaced while others queue
					payload = `{"sleepMs":3000}`
				}
				res, err := inst.Invoke(context.Background(), []byte(payload))
				o := outcome{res: res, err: err}
				if err == nil && res.FunctionError == "" {
					err = json.Unmarshal(res.Payload, &o.in)
					o.err = err
				}
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	if b, err := os.ReadFile(filepath.Join(lockDir, "overlap")); err == nil {
		t.Errorf("the fixture saw overlapping invocations:\n%s", b)
	}
	var ok []echoInfo
	timeouts := 0
	for _, o := range outcomes {
		switch {
		case o.err != nil:
			t.Errorf("invocation failed: %v", o.err)
		case o.res.FunctionError == "Sandbox.Timedout":
			timeouts++
		case o.res.FunctionError != "":
			t.Errorf("unexpected function error %s: %s", o.res.FunctionError, o.res.Payload)
		case o.in.RequestID != o.res.RequestID:
			t.Errorf("result %s carries the answer to %s", o.res.RequestID, o.in.RequestID)
		default:
			ok = append(ok, o.in)
		}
	}
	if timeouts != 1 || len(ok) != workers*each-1 {
		t.Errorf("%d successes and %d timeouts, want %d and 1", len(ok), timeouts, workers*each-1)
	}
	sort.Slice(ok, func(a, b int) bool { return ok[a].Start < ok[b].Start })
	pids := map[int]bool{}
	for k := range ok {
		pids[ok[k].PID] = true
		if k > 0 && ok[k].Start < ok[k-1].End {
			t.Errorf("invocation %s started before %s ended", ok[k].RequestID, ok[k-1].RequestID)
		}
	}
	if len(pids) != 2 {
		t.Errorf("invocations ran in %d processes, want 2 (one restart after the timeout)", len(pids))
	}
}

func TestBadInitExits(t *testing.T) {
	logs := &lockedBuffer{}
	inst, err := Start(context.Background(), Function{Name: "BadInit", Binary: fixtures["badinit"]}, logs)
	var ie *InitError
	if !errors.As(err, &ie) {
		if inst != nil {
			inst.Close()
		}
		t.Fatalf("Start = %v, %v; want an *InitError", inst, err)
	}
	if inst != nil {
		t.Error("Start returned an instance with its error")
	}
	if ie.Function != "BadInit" || ie.ErrorType != "Runtime.ExitError" || ie.Message != "exit status 1" {
		t.Errorf("InitError = %+v", ie)
	}
	if !regexp.MustCompile(`^INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: init\tStatus: error\tError Type: Runtime.ExitError$`).
		MatchString(ie.Report) {
		t.Errorf("Report = %q", ie.Report)
	}
	if !strings.Contains(ie.Error(), "Runtime.ExitError") {
		t.Errorf("Error() = %q", ie.Error())
	}
	// Start returns after the dying process's output reached the logs
	if want := `[BadInit] {"level":"ERROR","msg":"configuration error","missing":"BADINIT_OK"}` + "\n"; !strings.Contains(logs.String(), want) {
		t.Errorf("logs lack %q:\n%s", want, logs.String())
	}

	// the same binary, configured, starts
	good, err := Start(context.Background(), Function{Name: "BadInit", Binary: fixtures["badinit"],
		Env: map[string]string{"BADINIT_OK": "1"}}, io.Discard)
	if err != nil {
		t.Fatalf("configured badinit: %v", err)
	}
	defer good.Close()
	if res := invoke(t, good, `{}`); string(res.Payload) != `"ok"` {
		t.Errorf("configured badinit answered %s", res.Payload)
	}
}

func TestInitErrorPosted(t *testing.T) {
	logs := &lockedBuffer{}
	_, err := Start(context.Background(), Function{Name: "InitErr", Binary: fixtures["initerror"]}, logs)
	var ie *InitError
	if !errors.As(err, &ie) {
		t.Fatalf("Start err = %v, want an *InitError", err)
	}
	if ie.ErrorType != "Fixture.InitFailed" || ie.Message != "the fixture cannot start" {
		t.Errorf("InitError = %+v", ie)
	}
	if !regexp.MustCompile(`^INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: init\tStatus: error\tError Type: Fixture.InitFailed$`).
		MatchString(ie.Report) {
		t.Errorf("Report = %q", ie.Report)
	}
	waitForLog(t, logs, "[InitErr] initerror: reporting an init error\n")
	waitForLog(t, logs, "[InitErr] initerror: runtime API answered 202\n") // the runtime got 202 and exited by itself
}

func TestInitTimeout(t *testing.T) {
	logs := &lockedBuffer{}
	began := time.Now()
	_, err := start(context.Background(), Function{Name: "SlowInit", Binary: fixtures["echo"],
		Env: map[string]string{"ECHO_INIT_SLEEP_MS": "10000"}}, logs, 300*time.Millisecond)
	var ie *InitError
	if !errors.As(err, &ie) || ie.ErrorType != "Runtime.InitTimeout" {
		t.Fatalf("Start err = %v, want an *InitError Runtime.InitTimeout", err)
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("init timeout took %v", took)
	}
	if ie.Report != "INIT_REPORT Init Duration: 300.00 ms\tPhase: init\tStatus: timeout" {
		t.Errorf("Report = %q", ie.Report)
	}
	m := regexp.MustCompile(`echo: init pid (\d+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("logs lack the init line:\n%s", logs.String())
	}
	if pid, _ := strconv.Atoi(m[1]); alive(pid) {
		t.Errorf("the process %d that did not finish init is still running", pid)
	}
}

func TestMissingBinaryIsAnInitError(t *testing.T) {
	_, err := Start(context.Background(), Function{Name: "Nope", Binary: filepath.Join(t.TempDir(), "bootstrap")}, nil)
	var ie *InitError
	if !errors.As(err, &ie) || ie.ErrorType != "Runtime.InvalidEntrypoint" {
		t.Fatalf("err = %v, want an *InitError Runtime.InvalidEntrypoint", err)
	}
}

func TestExitKillsLeftoverChildren(t *testing.T) {
	dir := t.TempDir()
	childFile := filepath.Join(dir, "child")
	bin := filepath.Join(dir, "bootstrap")
	script := "#!/bin/sh\nsleep 60 &\necho $! > \"$CHILD_FILE\"\nexit 4\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Function{Name: "Leaver", Binary: bin,
		Env: map[string]string{"CHILD_FILE": childFile}}, nil)
	var ie *InitError
	if !errors.As(err, &ie) || ie.ErrorType != "Runtime.ExitError" || ie.Message != "exit status 4" {
		t.Fatalf("err = %v, want an *InitError Runtime.ExitError, exit status 4", err)
	}
	b, _ := os.ReadFile(childFile)
	child, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if child == 0 {
		t.Fatalf("no child pid in %q", b)
	}
	for deadline := time.Now().Add(2 * time.Second); alive(child) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(child) {
		t.Errorf("the exited runtime's child %d is still running", child)
	}
}

// TestRuntimeAPIProtocol plays the runtime itself (the process is a shell script that only
// publishes the API address and waits), checking the API's answers byte by byte.
func TestRuntimeAPIProtocol(t *testing.T) {
	dir := t.TempDir()
	addrFile, childFile := filepath.Join(dir, "addr"), filepath.Join(dir, "child")
	script := "#!/bin/sh\n" +
		"echo \"$AWS_LAMBDA_RUNTIME_API\" > \"$ADDR_FILE.tmp\" && mv \"$ADDR_FILE.tmp\" \"$ADDR_FILE\"\n" +
		"sleep 60 &\necho $! > \"$CHILD_FILE\"\necho raw runtime up\nwait\n"
	bin := filepath.Join(dir, "bootstrap")
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	type started struct {
		inst *Instance
		err  error
	}
	startc := make(chan started, 1)
	go func() {
		inst, err := Start(context.Background(), Function{Name: "Raw", Binary: bin, Timeout: 5 * time.Second,
			Env: map[string]string{"ADDR_FILE": addrFile, "CHILD_FILE": childFile}}, logs)
		startc <- started{inst, err}
	}()
	var addr string
	for deadline := time.Now().Add(5 * time.Second); addr == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the script never published the API address; logs:\n%s", logs.String())
		}
		b, _ := os.ReadFile(addrFile)
		addr = strings.TrimSpace(string(b))
	}
	base := "http://" + addr + "/2018-06-01/runtime"
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, url string, body io.Reader, header map[string]string) (int, string, http.Header) {
		t.Helper()
		req, err := http.NewRequest(method, url, body)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	type next struct {
		status int
		body   string
		header http.Header
	}
	getNext := func() chan next {
		c := make(chan next, 1)
		go func() {
			s, b, h := do(http.MethodGet, base+"/invocation/next", nil, nil)
			c <- next{s, b, h}
		}()
		return c
	}
	type invoked struct {
		res Result
		err error
	}
	invokeAsync := func(inst *Instance, payload string) chan invoked {
		c := make(chan invoked, 1)
		go func() {
			res, err := inst.Invoke(context.Background(), []byte(payload))
			c <- invoked{res, err}
		}()
		return c
	}

	nextc := getNext() // ends the init phase
	st := <-startc
	if st.err != nil {
		t.Fatalf("Start: %v", st.err)
	}
	inst := st.inst
	defer inst.Close()

	// 1. a response
	resc := invokeAsync(inst, `{"hello":"runtime"}`)
	n := <-nextc
	id := n.header.Get("Lambda-Runtime-Aws-Request-Id")
	if n.status != 200 || n.body != `{"hello":"runtime"}` || !uuidRE.MatchString(id) {
		t.Fatalf("GET next = %d %q (id %q)", n.status, n.body, id)
	}
	if ms, err := strconv.ParseInt(n.header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64); err != nil ||
		time.Until(time.UnixMilli(ms)) < 4*time.Second || time.Until(time.UnixMilli(ms)) > 5*time.Second {
		t.Errorf("Lambda-Runtime-Deadline-Ms = %q", n.header.Get("Lambda-Runtime-Deadline-Ms"))
	}
	if got := n.header.Get("Lambda-Runtime-Invoked-Function-Arn"); got != "arn:aws:lambda:us-east-1:123456789012:function:Raw" {
		t.Errorf("Lambda-Runtime-Invoked-Function-Arn = %q", got)
	}
	if got := n.header.Get("Lambda-Runtime-Trace-Id"); !strings.HasPrefix(got, "Root=1-") {
		t.Errorf("Lambda-Runtime-Trace-Id = %q", got)
	}
	if s, b, _ := do(http.MethodPost, base+"/invocation/not-an-id/response", strings.NewReader("{}"), nil); s != 400 ||
		!strings.Contains(b, `"errorType":"InvalidRequestID"`) {
		t.Errorf("response for an unknown id = %d %s", s, b)
	}
	if s, b, _ := do(http.MethodPost, base+"/invocation/"+id+"/response", strings.NewReader(`{"answer":42}`), nil); s != 202 || b != `{"status":"OK"}` {
		t.Errorf("response = %d %s, want 202 {\"status\":\"OK\"}", s, b)
	}
	if s, _, _ := do(http.MethodPost, base+"/invocation/"+id+"/response", strings.NewReader(`{}`), nil); s != 403 {
		t.Errorf("a second response for the same id = %d, want 403", s)
	}
	if s, _, _ := do(http.MethodPost, base+"/init/error", strings.NewReader(`{}`), nil); s != 403 {
		t.Errorf("init/error after init = %d, want 403", s)
	}
	if s, _, _ := do(http.MethodGet, base+"/nothing/here", nil, nil); s != 404 {
		t.Errorf("unknown path = %d, want 404", s)
	}
	if r := <-resc; r.err != nil || string(r.res.Payload) != `{"answer":42}` || r.res.FunctionError != "" || r.res.RequestID != id {
		t.Errorf("Invoke = %+v, %v", r.res, r.err)
	}

	// 2. an error with its type in the header and a body that is not JSON
	nextc = getNext()
	resc = invokeAsync(inst, `{}`)
	id = (<-nextc).header.Get("Lambda-Runtime-Aws-Request-Id")
	if s, b, _ := do(http.MethodPost, base+"/invocation/"+id+"/error", strings.NewReader("plain failure"),
		map[string]string{"Lambda-Runtime-Function-Error-Type": "Custom.Failure"}); s != 202 || b != `{"status":"OK"}` {
		t.Errorf("error = %d %s", s, b)
	}
	if r := <-resc; r.err != nil || r.res.FunctionError != "Custom.Failure" ||
		string(r.res.Payload) != `{"errorMessage":"plain failure","errorType":"Custom.Failure"}` {
		t.Errorf("Invoke = %+v, %v", r.res, r.err)
	}

	// 3. an error without any type
	nextc = getNext()
	resc = invokeAsync(inst, `{}`)
	id = (<-nextc).header.Get("Lambda-Runtime-Aws-Request-Id")
	do(http.MethodPost, base+"/invocation/"+id+"/error", strings.NewReader(`{"errorMessage":"no type"}`), nil)
	if r := <-resc; r.res.FunctionError != "Unhandled" || string(r.res.Payload) != `{"errorMessage":"no type"}` {
		t.Errorf("Invoke = %+v, %v", r.res, r.err)
	}

	// 4. a streamed response that failed midway (aws-lambda-go reports it in trailers)
	nextc = getNext()
	resc = invokeAsync(inst, `{}`)
	id = (<-nextc).header.Get("Lambda-Runtime-Aws-Request-Id")
	req, _ := http.NewRequest(http.MethodPost, base+"/invocation/"+id+"/response", io.MultiReader(strings.NewReader("partial")))
	req.Trailer = http.Header{"Lambda-Runtime-Function-Error-Type": {"Stream.Broken"},
		"Lambda-Runtime-Function-Error-Body": {"eyJlcnJvck1lc3NhZ2UiOiJicm9rZW4iLCJlcnJvclR5cGUiOiJTdHJlYW0uQnJva2VuIn0="}}
	req.ContentLength = -1
	if resp, err := client.Do(req); err != nil || resp.StatusCode != 202 {
		t.Errorf("streamed response: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if r := <-resc; r.res.FunctionError != "Stream.Broken" || string(r.res.Payload) != `{"errorMessage":"broken","errorType":"Stream.Broken"}` {
		t.Errorf("Invoke = %+v, %v", r.res, r.err)
	}

	// 5. a response over Lambda's 6 MB limit
	nextc = getNext()
	resc = invokeAsync(inst, `{}`)
	id = (<-nextc).header.Get("Lambda-Runtime-Aws-Request-Id")
	if s, _, _ := do(http.MethodPost, base+"/invocation/"+id+"/response", bytes.NewReader(make([]byte, maxResponseBytes+1)), nil); s != 413 {
		t.Errorf("oversized response = %d, want 413", s)
	}
	if r := <-resc; r.res.FunctionError != "Function.ResponseSizeTooLarge" {
		t.Errorf("Invoke = %+v, %v", r.res.FunctionError, r.err)
	}

	// Close kills the whole process group and the server
	b, _ := os.ReadFile(childFile)
	child, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if child == 0 || !alive(child) {
		t.Fatalf("the script's child %q is not running", b)
	}
	if err := inst.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for deadline := time.Now().Add(2 * time.Second); alive(child) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(child) {
		t.Errorf("the script's child %d survived Close", child)
	}
	if _, err := inst.Invoke(context.Background(), []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close: %v, want ErrClosed", err)
	}
	if _, err := client.Get(base + "/invocation/next"); err == nil {
		t.Error("the runtime API still answers after Close")
	}
	waitForLog(t, logs, "[Raw] raw runtime up\n")
}
