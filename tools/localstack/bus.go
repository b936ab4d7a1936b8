package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// busPath is where the stack serves its event bus switch, beside the HTTP API's routes:
// GET busPath answers the state, POST busPath/down and busPath/up flip it (make bus-down,
// make bus-up).
const busPath = "/_localstack/bus"

// busSwitch makes the local event bus unavailable on demand, so that a developer sees deliveries
// deferred and then re-driven. The functions reach EventBridge through localaws's fault proxy
// (AWS_ENDPOINT_URL_EVENTBRIDGE; every other service goes to moto directly); while the switch is
// down, every PutEvents is answered 503 ServiceUnavailable, as EventBridge answers in an outage,
// and nothing reaches the bus. The tail and the tools read moto directly.
type busSwitch struct {
	proxy   *localaws.EventBridgeFaults
	down    atomic.Bool
	refused atomic.Int64
	logs    io.Writer
	logMu   sync.Mutex
}

// putEventsTarget is PutEvents' X-Amz-Target, as localaws.Target names it.
const putEventsTarget = "AWSEvents.PutEvents"

// newBusSwitch starts the proxy in front of moto's endpoint, with the bus up.
func newBusSwitch(motoEndpoint string, logs io.Writer) *busSwitch {
	b := &busSwitch{proxy: localaws.NewEventBridgeFaults(motoEndpoint), logs: logs}
	b.proxy.SetRequestFault(func(target string) localaws.Fault {
		// The proxy logs every request for tests; a stack that runs for hours keeps none.
		b.proxy.ResetRequests()
		if target == putEventsTarget && b.down.Load() {
			b.refused.Add(1)
			return localaws.Unavailable
		}
		return localaws.Pass
	})
	return b
}

// env is what points a function's EventBridge client at the switch.
func (b *busSwitch) env() map[string]string {
	return map[string]string{"AWS_ENDPOINT_URL_EVENTBRIDGE": b.proxy.URL}
}

// set puts the bus down (true) or up.
func (b *busSwitch) set(down bool) {
	if b.down.Swap(down) == down {
		return
	}
	state := "UP: PutEvents reaches the bus again (make redrive re-drives what was deferred)"
	if down {
		state = "DOWN: every PutEvents answers 503 ServiceUnavailable (make bus-up restores it)"
	}
	b.logMu.Lock()
	defer b.logMu.Unlock()
	fmt.Fprintf(b.logs, "%s EVENT BUS %s\n", time.Now().UTC().Format(time.RFC3339), state)
}

// busState is the switch's answer.
type busState struct {
	Bus string `json:"bus"` // "up" or "down"
	// PutEvents is what a PutEvents gets while the bus is down.
	PutEvents string `json:"putEvents,omitempty"`
	// RefusedPutEvents counts the PutEvents answered 503 since the stack started.
	RefusedPutEvents int64 `json:"refusedPutEvents"`
}

func (b *busSwitch) state() busState {
	s := busState{Bus: "up", RefusedPutEvents: b.refused.Load()}
	if b.down.Load() {
		s.Bus, s.PutEvents = "down", "503 ServiceUnavailable"
	}
	return s
}

func (b *busSwitch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	usage := map[string]string{"message": "GET " + busPath + " answers the state; POST " + busPath + "/down or " + busPath + "/up flips it"}
	action := strings.TrimPrefix(r.URL.Path, busPath)
	var allow string
	switch action {
	case "":
		allow = http.MethodGet
	case "/down", "/up":
		allow = http.MethodPost
	default:
		usage["error"] = "not_found"
		reply(http.StatusNotFound, usage)
		return
	}
	if r.Method != allow {
		w.Header().Set("Allow", allow)
		usage["error"] = "method_not_allowed"
		reply(http.StatusMethodNotAllowed, usage)
		return
	}
	if action != "" {
		b.set(action == "/down")
	}
	reply(http.StatusOK, b.state())
}

// Close stops the proxy.
func (b *busSwitch) Close() { b.proxy.Close() }

// withBus is a function's environment with its EventBridge client behind the bus switch.
func (s *stack) withBus(env map[string]string) map[string]string {
	if s.bus != nil {
		for k, v := range s.bus.env() {
			env[k] = v
		}
	}
	return env
}

// apsSample is the APS message the banner's curl line posts: events/aps-transaction-feedback-form.json.
const apsSample = "aps-transaction-feedback-form.json"

// printBusHelp tells how to make the bus unavailable, see a delivery deferred, and re-drive it.
func printBusHelp(w io.Writer, root, base string) {
	addr := strings.TrimPrefix(base, "http://")
	fmt.Fprintf(w, "Event bus switch (see deliveries deferred, then re-drive them): GET %s%s for its state\n", base, busPath)
	fmt.Fprintf(w, "  make bus-down ADDR=%s   (PutEvents answers 503: functions with DEFER_WHEN_UNAVAILABLE on, APS and Amazon Pay by default, answer 202 deferred; the others 503)\n", addr)
	if sample, err := writeSampleBody(root, apsSample, "aps-sample.txt"); err == nil {
		fmt.Fprintf(w, "  curl -s -X POST %s/aps/transaction-feedback -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @%s   (APS: 200 accepted; 202 deferred while the bus is down)\n", base, sample)
	}
	fmt.Fprintf(w, "  make bus-up ADDR=%s\n", addr)
	fmt.Fprintf(w, "  make quarantine ARGS='-place deferred'   then   make redrive   (with the exports above: one re-drive sweep; nothing re-drives by itself locally)\n")
}

// writeSampleBody writes the decoded body of events/<event> to .aws-sam/local/<file> and returns
// its path.
func writeSampleBody(root, event, file string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "events", event))
	if err != nil {
		return "", err
	}
	var req struct {
		Body            string `json:"body"`
		IsBase64Encoded bool   `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(b, &req); err != nil {
		return "", err
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return "", err
		}
	}
	path := filepath.Join(root, ".aws-sam", "local", file)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, body, 0o644)
}
