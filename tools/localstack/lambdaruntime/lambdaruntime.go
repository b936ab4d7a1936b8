// Package lambdaruntime runs a Lambda function's real compiled bootstrap binary (a provided.al2023
// custom runtime, e.g. Go built with aws-lambda-go) on this machine, against a local
// implementation of the AWS Lambda Runtime API, without Docker.
//
// Each Instance is one execution environment: one process, one invocation at a time. Like Lambda,
// an instance whose function timed out or whose process exited is replaced by a new process (a
// cold start) on the next invocation.
//
// Implemented Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html), bound
// to 127.0.0.1 on a free port:
//
//	GET  /2018-06-01/runtime/invocation/next
//	POST /2018-06-01/runtime/invocation/{id}/response
//	POST /2018-06-01/runtime/invocation/{id}/error
//	POST /2018-06-01/runtime/init/error
//
// The package needs a Unix system (process groups); Max Memory Used is read from Linux's /proc.
package lambdaruntime

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	apiPrefix = "/2018-06-01/runtime"

	defaultTimeout     = 3 * time.Second
	defaultMemoryMB    = 128
	defaultInitTimeout = 10 * time.Second // Lambda's init phase limit
	defaultRegion      = "us-east-1"
	accountID          = "123456789012"

	// maxResponseBytes is Lambda's limit on a synchronous response (its own odd number).
	maxResponseBytes = 6291556
	// initErrorGrace is how long a runtime that posted init/error may take to exit by itself.
	initErrorGrace = 250 * time.Millisecond
	// drainLimit bounds the wait for a dead process's output to reach the logs.
	drainLimit = 2 * time.Second

	headerRequestID   = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline    = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID     = "Lambda-Runtime-Trace-Id"
	headerErrorType   = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody  = "Lambda-Runtime-Function-Error-Body"
)

// ErrClosed is returned by Invoke on an instance that was closed.
var ErrClosed = errors.New("lambdaruntime: instance closed")

// Function is what Start runs.
type Function struct {
	Name     string            // logical id, e.g. ShippingOtpFunction
	Binary   string            // path to the bootstrap executable (host OS/arch)
	Env      map[string]string // the function's environment (plus AWS_* the caller adds)
	Timeout  time.Duration     // default 3s
	MemoryMB int               // default 128, reported in REPORT lines
}

// Result is the outcome of one invocation.
type Result struct {
	RequestID string
	// Payload is the function's response, or Lambda's error JSON ({"errorMessage","errorType"},
	// as the runtime posted it) when it failed.
	Payload []byte
	// FunctionError is "" on success, else the error type: the one the runtime reported (or
	// "Unhandled" when it gave none), "Sandbox.Timedout", "Runtime.ExitError", or an init error's
	// type when the cold start before this invocation failed.
	FunctionError string
	Duration      time.Duration
	// InitDuration is non-zero only on the invocation that followed a cold start.
	InitDuration time.Duration
	// Report is Lambda's REPORT line for the invocation (also written to the logs).
	Report string
}

// InitError is a failed init phase: the runtime exited before asking for an invocation
// (Runtime.ExitError), posted /runtime/init/error (its own type), did not ask for one within the
// init limit (Runtime.InitTimeout), or could not be started at all (Runtime.InvalidEntrypoint).
type InitError struct {
	Function, ErrorType, Message string
	Report                       string // Lambda's INIT_REPORT line
}

func (e *InitError) Error() string {
	return fmt.Sprintf("lambdaruntime: %s: init failed: %s: %s", e.Function, e.ErrorType, e.Message)
}

// Instance is one execution environment of a function.
type Instance struct {
	fn          Function
	binary      string // absolute
	region      string
	arn         string
	initTimeout time.Duration
	log         *logSink
	addr        string
	srv         *http.Server
	closing     chan struct{}

	invokeMu sync.Mutex // one invocation (and so one cold start) at a time

	mu       sync.Mutex // guards the fields below and sandbox.current, invocation results
	sb       *sandbox
	closed   bool
	coldInit time.Duration // init duration of sb not yet reported by an invocation
}

// sandbox is one process of the function.
type sandbox struct {
	pid        int
	cmd        *exec.Cmd
	started    time.Time
	ready      chan struct{} // closed by the runtime's first GET next
	readyOnce  sync.Once
	readyAt    time.Time         // written before ready is closed
	initErr    chan runtimeError // POST init/error (buffered, the first one wins)
	invokes    chan *invocation  // handed to a waiting GET next
	exited     chan struct{}     // closed once the process is reaped and its output drained
	exitStatus string            // written before exited is closed, e.g. "exit status 3"
	current    *invocation       // guarded by Instance.mu
	stdout     *os.File          // read ends of the output pipes
	stderr     *os.File
	readers    sync.WaitGroup // the goroutines copying them to the logs
}

type runtimeError struct{ Type, Message string }

type invocation struct {
	id       string
	payload  []byte
	traceID  string
	start    time.Time // set before it is handed to the runtime
	deadline time.Time
	done     chan struct{} // closed by the response/error handler

	// guarded by Instance.mu; finished is set once, by whoever settles the invocation
	finished bool
	doneAt   time.Time
	response []byte
	errType  string
}

// Start launches fn's binary and returns once its runtime asks for the first invocation (its
// init phase is done), or an *InitError when init fails. The process gets fn.Env plus what
// Lambda sets for a provided.al2023 function (AWS_LAMBDA_RUNTIME_API, AWS_LAMBDA_FUNCTION_NAME,
// ..., LAMBDA_TASK_ROOT, _HANDLER, AWS_REGION=us-east-1 ...; fn.Env wins where it sets a name,
// except AWS_LAMBDA_RUNTIME_API), and not this process's environment. Its working directory is
// the binary's. Its stdout and stderr lines, and the START/END/REPORT lines of invocations, are
// written to logs prefixed "[<Name>] ". Start writes no INIT_REPORT line: it is in the
// InitError's Report. ctx bounds the init phase only.
func Start(ctx context.Context, fn Function, logs io.Writer) (*Instance, error) {
	return start(ctx, fn, logs, defaultInitTimeout)
}

func start(ctx context.Context, fn Function, logs io.Writer, initTimeout time.Duration) (*Instance, error) {
	if fn.Name == "" || fn.Binary == "" {
		return nil, errors.New("lambdaruntime: Function needs a Name and a Binary")
	}
	if fn.Timeout <= 0 {
		fn.Timeout = defaultTimeout
	}
	if fn.MemoryMB <= 0 {
		fn.MemoryMB = defaultMemoryMB
	}
	if logs == nil {
		logs = io.Discard
	}
	binary, err := filepath.Abs(fn.Binary)
	if err != nil {
		return nil, err
	}
	region := fn.Env["AWS_REGION"]
	if region == "" {
		region = defaultRegion
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lambdaruntime: runtime API listener: %w", err)
	}
	i := &Instance{
		fn:          fn,
		binary:      binary,
		region:      region,
		arn:         fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, accountID, fn.Name),
		initTimeout: initTimeout,
		log:         &logSink{w: logs, prefix: "[" + fn.Name + "] "},
		addr:        ln.Addr().String(),
		closing:     make(chan struct{}),
	}
	i.srv = &http.Server{Handler: i.routes(), ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = i.srv.Serve(ln) }()

	_, initDur, ie, err := i.spawn(ctx)
	if err == nil && ie != nil {
		err = ie
	}
	if err != nil {
		_ = i.Close()
		return nil, err
	}
	i.mu.Lock()
	i.coldInit = initDur
	i.mu.Unlock()
	return i, nil
}

// Invoke runs one invocation, waiting for any other invocation of the instance to finish first.
// It cold-starts a new process first when the previous one timed out or exited. A function
// failure (error, panic, timeout, process exit, failed cold start) is a Result with
// FunctionError set and a nil error; the error is for ctx ending (the process is then killed, as
// its invocation cannot be taken back) and for a closed instance.
func (i *Instance) Invoke(ctx context.Context, payload []byte) (Result, error) {
	i.invokeMu.Lock()
	defer i.invokeMu.Unlock()
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	i.mu.Lock()
	closed, sb, initDur := i.closed, i.sb, i.coldInit
	i.coldInit = 0
	i.mu.Unlock()
	if closed {
		return Result{}, ErrClosed
	}
	if payload == nil {
		payload = []byte("{}")
	}
	inv := &invocation{id: newRequestID(), payload: payload, traceID: newTraceID(), done: make(chan struct{})}

	// Hand the invocation to the runtime's waiting GET next, cold-starting a process first when
	// there is none. A runtime may exit between invocations (aws-lambda-go does after a panic):
	// that is noticed here and costs one more cold start.
	startLogged := false
	for attempt := 0; ; attempt++ {
		if sb == nil || isClosed(sb.exited) {
			if attempt > 1 {
				return i.exited(inv, sb, time.Duration(0), initDur), nil
			}
			var ie *InitError
			var err error
			began := time.Now()
			sb, initDur, ie, err = i.spawn(ctx)
			if err != nil {
				return Result{}, err
			}
			if ie != nil {
				return i.initFailed(inv, ie, time.Since(began), startLogged), nil
			}
		}
		if !startLogged {
			i.log.line("START RequestId: " + inv.id + " Version: $LATEST")
			startLogged = true
		}
		inv.start = time.Now()
		inv.deadline = inv.start.Add(i.fn.Timeout)
		select {
		case sb.invokes <- inv:
		case <-sb.exited:
			continue
		case <-ctx.Done():
			i.log.line("END RequestId: " + inv.id)
			return Result{}, ctx.Err()
		case <-i.closing:
			return Result{}, ErrClosed
		}
		break
	}

	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	select {
	case <-inv.done:
	case <-sb.exited:
		if i.settle(inv) {
			if i.isClosed() {
				return Result{}, ErrClosed
			}
			return i.exited(inv, sb, time.Since(inv.start), initDur), nil
		}
	case <-timer.C:
		if i.settle(inv) {
			return i.timedOut(inv, sb, initDur), nil
		}
	case <-ctx.Done():
		if i.settle(inv) {
			i.kill(sb)
			i.log.line("END RequestId: " + inv.id)
			return Result{}, ctx.Err()
		}
	case <-i.closing:
		if i.settle(inv) {
			return Result{}, ErrClosed
		}
	}
	<-inv.done // settled by the runtime's response or error

	res := Result{RequestID: inv.id, Duration: inv.doneAt.Sub(inv.start), InitDuration: initDur}
	i.mu.Lock()
	res.Payload, res.FunctionError = inv.response, inv.errType
	i.mu.Unlock()
	maxMem := 0
	if !isClosed(sb.exited) {
		maxMem = maxMemoryMB(sb.pid)
	}
	res.Report = reportLine(inv.id, res.Duration, initDur, i.fn.MemoryMB, maxMem, "", "")
	return i.end(res), nil
}

// end writes lines, then the END and REPORT lines of res, and returns res.
func (i *Instance) end(res Result, lines ...string) Result {
	for _, l := range lines {
		i.log.line(l)
	}
	i.log.line("END RequestId: " + res.RequestID)
	i.log.line(res.Report)
	return res
}

// settle marks inv as finished by something other than the runtime; false when the runtime's
// response or error got there first.
func (i *Instance) settle(inv *invocation) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	if inv.finished {
		return false
	}
	inv.finished = true
	return true
}

func (i *Instance) timedOut(inv *invocation, sb *sandbox, initDur time.Duration) Result {
	maxMem := maxMemoryMB(sb.pid) // before the process goes
	i.kill(sb)
	msg := fmt.Sprintf("%s %s Task timed out after %.2f seconds",
		time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), inv.id, i.fn.Timeout.Seconds())
	return i.end(Result{
		RequestID:     inv.id,
		Payload:       errorJSON(msg, "Sandbox.Timedout"),
		FunctionError: "Sandbox.Timedout",
		Duration:      i.fn.Timeout,
		InitDuration:  initDur,
		Report:        reportLine(inv.id, i.fn.Timeout, initDur, i.fn.MemoryMB, maxMem, "timeout", ""),
	}, msg)
}

func (i *Instance) exited(inv *invocation, sb *sandbox, dur, initDur time.Duration) Result {
	status := "unknown"
	if sb != nil {
		status = sb.exitStatus
	}
	msg := "RequestId: " + inv.id + " Error: Runtime exited with error: " + status
	if s, ok := strings.CutPrefix(status, "signal: "); ok {
		msg = "RequestId: " + inv.id + " Error: Runtime exited with signal: " + s
	}
	return i.end(Result{
		RequestID:     inv.id,
		Payload:       errorJSON(msg, "Runtime.ExitError"),
		FunctionError: "Runtime.ExitError",
		Duration:      dur,
		InitDuration:  initDur,
		Report:        reportLine(inv.id, dur, initDur, i.fn.MemoryMB, 0, "error", "Runtime.ExitError"),
	}, msg, "Runtime.ExitError")
}

// initFailed is the answer to an invocation whose cold start failed: like Lambda, a function
// error of the init error's type.
func (i *Instance) initFailed(inv *invocation, ie *InitError, dur time.Duration, startLogged bool) Result {
	msg := ie.Message
	if ie.ErrorType == "Runtime.ExitError" {
		msg = "RequestId: " + inv.id + " Error: Runtime exited with error: " + ie.Message
	}
	status := "error"
	if ie.ErrorType == "Runtime.InitTimeout" {
		status = "timeout"
	}
	lines := []string{ie.Report}
	if !startLogged {
		lines = append(lines, "START RequestId: "+inv.id+" Version: $LATEST")
	}
	return i.end(Result{
		RequestID:     inv.id,
		Payload:       errorJSON(msg, ie.ErrorType),
		FunctionError: ie.ErrorType,
		Duration:      dur,
		Report:        reportLine(inv.id, dur, 0, i.fn.MemoryMB, 0, status, ie.ErrorType),
	}, append(lines, msg)...)
}

// Close kills the process (and its process group) and stops the Runtime API server.
func (i *Instance) Close() error {
	i.mu.Lock()
	if i.closed {
		i.mu.Unlock()
		return nil
	}
	i.closed = true
	sb := i.sb
	i.mu.Unlock()
	// Kill first: releasing a waiting GET next before the process is gone would hand the runtime
	// an empty invocation, which it reports as an error on its way out.
	if sb != nil {
		i.kill(sb)
	}
	close(i.closing)
	return i.srv.Close()
}

func (i *Instance) isClosed() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.closed
}

// spawn starts a new process and waits for its init phase. It returns the sandbox and its init
// duration, or an *InitError, or an error (ctx ended or the instance was closed).
func (i *Instance) spawn(ctx context.Context) (*sandbox, time.Duration, *InitError, error) {
	sb := &sandbox{
		ready:   make(chan struct{}),
		initErr: make(chan runtimeError, 1),
		invokes: make(chan *invocation),
		exited:  make(chan struct{}),
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, 0, nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, 0, nil, err
	}
	cmd := exec.Command(i.binary)
	cmd.Dir = filepath.Dir(i.binary)
	cmd.Env = i.environ()
	cmd.Stdout, cmd.Stderr = outW, errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	i.mu.Lock() // no new process once closed
	if i.closed {
		i.mu.Unlock()
		outR.Close()
		outW.Close()
		errR.Close()
		errW.Close()
		return nil, 0, nil, ErrClosed
	}
	sb.started = time.Now()
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		i.mu.Unlock()
		outR.Close()
		errR.Close()
		d := time.Since(sb.started)
		return nil, 0, &InitError{Function: i.fn.Name, ErrorType: "Runtime.InvalidEntrypoint",
			Message: err.Error(), Report: initReport(d, "error", "Runtime.InvalidEntrypoint")}, nil
	}
	sb.pid, sb.cmd, sb.stdout, sb.stderr = cmd.Process.Pid, cmd, outR, errR
	i.sb = sb
	i.mu.Unlock()

	sb.readers.Add(2)
	go i.copyLines(outR, &sb.readers)
	go i.copyLines(errR, &sb.readers)
	go sb.wait()

	timer := time.NewTimer(i.initTimeout)
	defer timer.Stop()
	fail := func(errorType, message, status string, d time.Duration) (*sandbox, time.Duration, *InitError, error) {
		return nil, 0, &InitError{Function: i.fn.Name, ErrorType: errorType, Message: message,
			Report: initReport(d, status, errorType)}, nil
	}
	select {
	case <-sb.ready:
		return sb, sb.readyAt.Sub(sb.started), nil, nil
	case re := <-sb.initErr:
		d := time.Since(sb.started)
		select { // the runtime is expected to exit now; make sure it does
		case <-sb.exited:
		case <-time.After(initErrorGrace):
			i.kill(sb)
		}
		return fail(re.Type, re.Message, "error", d)
	case <-sb.exited:
		d := time.Since(sb.started)
		select {
		case re := <-sb.initErr: // it posted init/error, then exited
			return fail(re.Type, re.Message, "error", d)
		default:
		}
		if isClosed(sb.ready) { // it asked for an invocation, then exited: Invoke will see it
			return sb, sb.readyAt.Sub(sb.started), nil, nil
		}
		return fail("Runtime.ExitError", sb.exitStatus, "error", d)
	case <-timer.C:
		i.kill(sb)
		return fail("Runtime.InitTimeout",
			fmt.Sprintf("init phase did not finish within %.2f seconds", i.initTimeout.Seconds()),
			"timeout", i.initTimeout)
	case <-ctx.Done():
		i.kill(sb)
		return nil, 0, nil, ctx.Err()
	case <-i.closing:
		i.kill(sb)
		return nil, 0, nil, ErrClosed
	}
}

// wait reaps the process, kills what is left of its process group, lets its output reach the
// logs and then closes exited.
func (sb *sandbox) wait() {
	_ = sb.cmd.Wait()
	_ = syscall.Kill(-sb.pid, syscall.SIGKILL)
	drained := make(chan struct{})
	go func() {
		sb.readers.Wait()
		close(drained)
	}()
	select {
	case <-drained:
	case <-time.After(drainLimit): // something outside the group holds the pipes
		sb.stdout.Close()
		sb.stderr.Close()
		<-drained
	}
	sb.exitStatus = sb.cmd.ProcessState.String()
	close(sb.exited)
}

// kill kills sb's process group and waits until the process is gone.
func (i *Instance) kill(sb *sandbox) {
	if !isClosed(sb.exited) {
		_ = syscall.Kill(-sb.pid, syscall.SIGKILL)
		_ = sb.cmd.Process.Kill() // in case the group is gone but the process is not
	}
	<-sb.exited
}

func (i *Instance) environ() []string {
	now := time.Now().UTC()
	env := map[string]string{
		"PATH":                            "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		"LANG":                            "en_US.UTF-8",
		"TZ":                              ":UTC",
		"LAMBDA_TASK_ROOT":                filepath.Dir(i.binary),
		"LAMBDA_RUNTIME_DIR":              "/var/runtime",
		"_HANDLER":                        "bootstrap",
		"AWS_EXECUTION_ENV":               "AWS_Lambda_provided.al2023",
		"AWS_REGION":                      i.region,
		"AWS_DEFAULT_REGION":              i.region,
		"AWS_LAMBDA_FUNCTION_NAME":        i.fn.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(i.fn.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + i.fn.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      now.Format("2006/01/02") + "/[$LATEST]" + randomHex(16),
	}
	for k, v := range i.fn.Env {
		env[k] = v
	}
	env["AWS_LAMBDA_RUNTIME_API"] = i.addr
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Runtime API

func (i *Instance) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"/invocation/next", i.handleNext)
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		i.handleResult(w, r, false)
	})
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/error", func(w http.ResponseWriter, r *http.Request) {
		i.handleResult(w, r, true)
	})
	mux.HandleFunc("POST "+apiPrefix+"/init/error", i.handleInitError)
	return mux
}

func (i *Instance) current() *sandbox {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.sb
}

// handleNext ends the init phase (first call) and blocks until Invoke hands over an invocation.
func (i *Instance) handleNext(w http.ResponseWriter, r *http.Request) {
	sb := i.current()
	if sb == nil {
		writeJSON(w, http.StatusInternalServerError, errorJSON("no execution environment", "Runtime.Unknown"))
		return
	}
	sb.readyOnce.Do(func() {
		sb.readyAt = time.Now()
		close(sb.ready)
	})
	select {
	case inv := <-sb.invokes:
		i.mu.Lock()
		sb.current = inv
		i.mu.Unlock()
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set(headerRequestID, inv.id)
		h.Set(headerDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set(headerFunctionARN, i.arn)
		h.Set(headerTraceID, inv.traceID)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload)
	case <-r.Context().Done():
	case <-sb.exited:
	case <-i.closing:
	}
}

// handleResult takes POST invocation/{id}/response and /error.
func (i *Instance) handleResult(w http.ResponseWriter, r *http.Request, isError bool) {
	id := r.PathValue("id")
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorJSON("reading the request body: "+err.Error(), "InvalidRequest"))
		return
	}
	tooLarge := !isError && len(body) > maxResponseBytes
	errType := ""
	switch {
	case tooLarge:
		errType = "Function.ResponseSizeTooLarge"
		body = errorJSON(fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).",
			maxResponseBytes), errType)
	case isError:
		errType, body = runtimeFailure(r.Header.Get(headerErrorType), body)
	case r.Trailer.Get(headerErrorType) != "": // a streamed response that failed midway
		b, _ := base64.StdEncoding.DecodeString(r.Trailer.Get(trailerErrorBody))
		errType, body = runtimeFailure(r.Trailer.Get(headerErrorType), b)
	}

	i.mu.Lock()
	var inv *invocation
	if sb := i.sb; sb != nil {
		inv = sb.current
	}
	switch {
	case inv == nil || inv.id != id:
		i.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, errorJSON("Invalid request ID", "InvalidRequestID"))
		return
	case inv.finished:
		i.mu.Unlock()
		writeJSON(w, http.StatusForbidden, errorJSON("Invalid state transition: the invocation already has a result",
			"InvalidStateTransition"))
		return
	}
	inv.finished, inv.doneAt, inv.response, inv.errType = true, time.Now(), body, errType
	close(inv.done)
	i.mu.Unlock()

	if tooLarge {
		writeJSON(w, http.StatusRequestEntityTooLarge, body)
		return
	}
	writeJSON(w, http.StatusAccepted, []byte(`{"status":"OK"}`))
}

// runtimeFailure is the error type and payload of an error the runtime reported.
func runtimeFailure(headerType string, body []byte) (string, []byte) {
	var e struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	isObject := json.Unmarshal(body, &e) == nil && bytes.HasPrefix(bytes.TrimSpace(body), []byte("{"))
	errType := headerType
	if errType == "" {
		errType = e.Type
	}
	if errType == "" {
		errType = "Unhandled"
	}
	if !isObject {
		msg := strings.TrimSpace(string(body))
		if msg == "" {
			msg = "Unknown application error occurred"
		}
		body = errorJSON(msg, errType)
	}
	return errType, body
}

func (i *Instance) handleInitError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	sb := i.current()
	if sb == nil || isClosed(sb.ready) {
		writeJSON(w, http.StatusForbidden, errorJSON("Invalid state transition: init is over", "InvalidStateTransition"))
		return
	}
	errType, body := runtimeFailure(r.Header.Get(headerErrorType), body)
	var e struct {
		Message string `json:"errorMessage"`
	}
	_ = json.Unmarshal(body, &e)
	select {
	case sb.initErr <- runtimeError{Type: errType, Message: e.Message}:
	default:
	}
	writeJSON(w, http.StatusAccepted, []byte(`{"status":"OK"}`))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func errorJSON(message, errorType string) []byte {
	b, _ := json.Marshal(struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}{message, errorType})
	return b
}

// Logs

// logSink writes whole prefixed lines, one Write each, serialised.
type logSink struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func (l *logSink) line(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, l.prefix+s+"\n")
}

// copyLines copies r's lines to the logs until r ends (very long lines are split).
func (i *Instance) copyLines(r *os.File, wg *sync.WaitGroup) {
	defer wg.Done()
	defer r.Close()
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 {
			i.log.line(strings.TrimRight(string(b), "\r\n"))
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// REPORT lines

func millis(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

// reportLine is Lambda's REPORT line. Billed Duration is rounded up to the millisecond and, as
// for every custom (provided.*) runtime, includes the init duration after a cold start.
func reportLine(id string, dur, initDur time.Duration, memoryMB, maxMemMB int, status, errType string) string {
	billed := (dur + initDur + time.Millisecond - 1) / time.Millisecond
	var b strings.Builder
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %s ms\tBilled Duration: %d ms\tMemory Size: %d MB",
		id, millis(dur), billed, memoryMB)
	if maxMemMB > 0 {
		fmt.Fprintf(&b, "\tMax Memory Used: %d MB", maxMemMB)
	}
	if initDur > 0 {
		fmt.Fprintf(&b, "\tInit Duration: %s ms", millis(initDur))
	}
	if status != "" {
		b.WriteString("\tStatus: " + status)
		if errType != "" {
			b.WriteString("\tError Type: " + errType)
		}
	}
	return b.String()
}

func initReport(d time.Duration, status, errType string) string {
	s := "INIT_REPORT Init Duration: " + millis(d) + " ms\tPhase: init\tStatus: " + status
	if status == "error" && errType != "" {
		s += "\tError Type: " + errType
	}
	return s
}

// maxMemoryMB is the process's peak resident set size (VmHWM) in MB, 0 when unreadable.
func maxMemoryMB(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0
			}
			kb, err := strconv.Atoi(f[0])
			if err != nil || kb <= 0 {
				return 0
			}
			return (kb + 1023) / 1024
		}
	}
	return 0
}

// Ids

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func newTraceID() string {
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), randomHex(12), randomHex(8))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
