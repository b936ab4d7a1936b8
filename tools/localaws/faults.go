package localaws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// EntryFault decides, for the n-th PutEvents call seen by the proxy (from 1) and an entry's
// detail-type and detail, whether that entry fails with a throttling error code.
type EntryFault func(call int, detailType, detail string) bool

// EntryInspector sees one PutEvents entry the proxy received, whatever its fault.
type EntryInspector func(source, detailType, detail string, resources []string)

// Fault is what the proxy does to one request.
type Fault int

const (
	Pass        Fault = iota // forward it
	Throttle                 // answer as a throttled AWS service does (retryable)
	Unavailable              // answer 503 ServiceUnavailable (retryable)
	Drop                     // close the connection without an answer
	// Hold keeps the request until ReleaseHeld, then forwards it whatever became of its caller: an
	// attempt the SDK gave up on (its 1 s timeout) that the service executes late, after the retry.
	Hold
)

// RequestFault decides the fault for a request to target: the X-Amz-Target of JSON protocols
// ("DynamoDB_20120810.PutItem", "AWSEvents.PutEvents"), or "s3 <METHOD> <path>".
type RequestFault func(target string) Fault

// EventBridgeFaults is a loopback proxy in front of moto that makes chosen PutEvents entries fail
// the way EventBridge does: HTTP 200, FailedEntryCount > 0, the entry marked with an ErrorCode,
// and the failed entry not delivered. With SetRequestFault it also throttles, fails or drops
// whole requests to any service. Everything else passes through untouched.
type EventBridgeFaults struct {
	URL    string
	server *httptest.Server

	mu       sync.Mutex
	fault    EntryFault
	reqFault RequestFault
	inspect  EntryInspector
	calls    int
	// log records every request's target as it starts, and rounds counts those that started
	// with none in flight: the calls a caller made one after the other.
	log      []string
	inFlight int
	rounds   int
	// forwarded records every request that reached the service, as it reached it, and its answer:
	// what AWS would bill (a request the proxy failed or dropped never got there).
	forwarded []Exchange
	// held are the requests Hold keeps: closing release forwards one; it closes forwarded after.
	held []heldRequest
}

type heldRequest struct{ release, forwarded chan struct{} }

// hold parks a request until ReleaseHeld and returns what to close once it is forwarded.
func (f *EventBridgeFaults) hold() chan struct{} {
	h := heldRequest{release: make(chan struct{}), forwarded: make(chan struct{})}
	f.mu.Lock()
	f.held = append(f.held, h)
	f.mu.Unlock()
	<-h.release
	return h.forwarded
}

// ReleaseHeld forwards every held request and returns, once the service has answered each, how
// many there were.
func (f *EventBridgeFaults) ReleaseHeld() int {
	f.mu.Lock()
	held := f.held
	f.held = nil
	f.mu.Unlock()
	for _, h := range held {
		close(h.release)
		<-h.forwarded
	}
	return len(held)
}

// Requests returns the targets (see Target) of the requests seen since the last ResetRequests, in
// the order they arrived, and how many of them were sequential round trips: a request that arrived
// while another was in flight (a concurrent batch) adds no round.
func (f *EventBridgeFaults) Requests() (targets []string, rounds int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...), f.rounds
}

// ResetRequests forgets the requests seen so far.
func (f *EventBridgeFaults) ResetRequests() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log, f.rounds, f.forwarded = nil, 0, nil
}

// Exchange is a request the service received and its answer.
type Exchange struct {
	Target string // as Target names it
	Body   []byte // the request body as forwarded (PutEvents: without the entries a fault failed)
	Status int
	// ErrorType is the service's error code of a failed answer ("ConditionalCheckFailedException"),
	// "" on success.
	ErrorType string
}

// Forwarded returns the requests that reached the service since the last ResetRequests, in the
// order they were answered.
func (f *EventBridgeFaults) Forwarded() []Exchange {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Exchange(nil), f.forwarded...)
}

// errorType reads an AWS JSON protocol error's code from its answer.
func errorType(h http.Header, body []byte) string {
	t := h.Get("X-Amzn-Errortype")
	if t == "" {
		var e struct {
			Type string `json:"__type"`
		}
		_ = json.Unmarshal(body, &e)
		t = e.Type
	}
	if i := strings.LastIndexByte(t, '#'); i >= 0 {
		t = t[i+1:]
	}
	t, _, _ = strings.Cut(t, ":")
	return t
}

// track records r's start; the function it returns records its end.
func (f *EventBridgeFaults) track(r *http.Request) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, Target(r))
	if f.inFlight == 0 {
		f.rounds++
	}
	f.inFlight++
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.inFlight--
	}
}

// Inspect installs fn (nil: none) to see every PutEvents entry, before any fault; Set leaves it.
func (f *EventBridgeFaults) Inspect(fn EntryInspector) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inspect = fn
}

// SetRequestFault installs fault for whole requests (nil: none).
func (f *EventBridgeFaults) SetRequestFault(fault RequestFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqFault = fault
}

// Target names r for a RequestFault.
func Target(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t
	}
	return "s3 " + r.Method + " " + r.URL.Path
}

// inject answers r with fault; it reports false for Pass.
func inject(w http.ResponseWriter, r *http.Request, fault Fault) bool {
	var status int
	var code, message string
	switch fault {
	case Throttle:
		status, code, message = 503, "SlowDown", "Please reduce your request rate."
		if r.Header.Get("X-Amz-Target") != "" {
			status, code, message = 400, "com.amazonaws.dynamodb.v20120810#ThrottlingException", "Rate of requests exceeds the allowed throughput."
		}
	case Unavailable:
		status, code, message = 503, "ServiceUnavailable", "Service unavailable"
	case Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	default:
		return false
	}
	// JSON protocols (X-Amz-Target) and S3's XML spell errors differently.
	if r.Header.Get("X-Amz-Target") != "" {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"__type":%q,"message":%q}`, code, message)
	} else {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `<Error><Code>%s</Code><Message>%s</Message></Error>`, code, message)
	}
	return true
}

// NewEventBridgeFaults starts the proxy in front of endpoint.
func NewEventBridgeFaults(endpoint string) *EventBridgeFaults {
	f := &EventBridgeFaults{}
	f.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.serve(endpoint, w, r)
	}))
	f.URL = f.server.URL
	return f
}

// Set installs fault (nil: no faults) and resets the call count.
func (f *EventBridgeFaults) Set(fault EntryFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault, f.calls = fault, 0
}

// Calls is the number of PutEvents calls seen since Set.
func (f *EventBridgeFaults) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// Close stops the proxy, releasing what it holds.
func (f *EventBridgeFaults) Close() {
	f.ReleaseHeld()
	f.server.Close()
}

type putEntry struct {
	Source     string   `json:"Source"`
	DetailType string   `json:"DetailType"`
	Detail     string   `json:"Detail"`
	Resources  []string `json:"Resources"`
}

func (f *EventBridgeFaults) serve(endpoint string, w http.ResponseWriter, r *http.Request) {
	defer f.track(r)()
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	fault := f.fault
	reqFault := f.reqFault
	inspect := f.inspect
	call := 0
	if r.Header.Get("X-Amz-Target") == "AWSEvents.PutEvents" {
		f.calls++
		call = f.calls
	}
	f.mu.Unlock()
	ctx := r.Context()
	if reqFault != nil {
		switch fault := reqFault(Target(r)); fault {
		case Hold:
			defer close(f.hold())
			ctx = context.WithoutCancel(ctx)
		default:
			if inject(w, r, fault) {
				return
			}
		}
	}

	var failed []bool
	if call > 0 && inspect != nil {
		var req struct{ Entries []putEntry }
		if json.Unmarshal(body, &req) == nil {
			for _, e := range req.Entries {
				inspect(e.Source, e.DetailType, e.Detail, e.Resources)
			}
		}
	}
	if call > 0 && fault != nil {
		var req map[string]json.RawMessage
		var entries []json.RawMessage
		if json.Unmarshal(body, &req) == nil && json.Unmarshal(req["Entries"], &entries) == nil {
			var keep []json.RawMessage
			for _, raw := range entries {
				var e putEntry
				_ = json.Unmarshal(raw, &e)
				fail := fault(call, e.DetailType, e.Detail)
				failed = append(failed, fail)
				if !fail {
					keep = append(keep, raw)
				}
			}
			req["Entries"], _ = json.Marshal(keep)
			body, _ = json.Marshal(req)
		}
	}
	if len(failed) > 0 && allTrue(failed) {
		// Nothing to forward: answer as EventBridge would for a fully failed batch.
		writeResult(w, failed, nil)
		return
	}
	out, err := http.NewRequestWithContext(ctx, r.Method, endpoint+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	out.Header.Del("Content-Length")
	resp, err := http.DefaultClient.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(resp.Body)
	ex := Exchange{Target: Target(r), Body: body, Status: resp.StatusCode}
	if resp.StatusCode >= 300 {
		ex.ErrorType = errorType(resp.Header, respBody)
	}
	f.mu.Lock()
	f.forwarded = append(f.forwarded, ex)
	f.mu.Unlock()
	if len(failed) == 0 || resp.StatusCode != 200 {
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(respBody)
		return
	}
	var passed struct {
		Entries []map[string]any `json:"Entries"`
	}
	_ = json.Unmarshal(respBody, &passed)
	writeResult(w, failed, passed.Entries)
}

// writeResult merges the forwarded entries' results with the failed ones, in request order.
func writeResult(w http.ResponseWriter, failed []bool, passed []map[string]any) {
	entries := make([]map[string]any, 0, len(failed))
	n := 0
	for _, f := range failed {
		if f {
			n++
			entries = append(entries, map[string]any{"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"})
			continue
		}
		if len(passed) > 0 {
			entries = append(entries, passed[0])
			passed = passed[1:]
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{"FailedEntryCount": n, "Entries": entries})
}

func allTrue(bs []bool) bool {
	for _, b := range bs {
		if !b {
			return false
		}
	}
	return true
}
