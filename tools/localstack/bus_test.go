package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// While the switch is down, a PutEvents through it is answered 503 ServiceUnavailable and never
// reaches the bus; every other call, and every call while it is up, passes.
func TestBusSwitchRefusesPutEventsOnlyWhileDown(t *testing.T) {
	var reached atomic.Int64
	bus := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		reached.Add(1)
		_, _ = io.WriteString(w, `{"FailedEntryCount":0,"Entries":[{"EventId":"1"}]}`)
	}))
	defer bus.Close()
	var logs strings.Builder
	b := newBusSwitch(bus.URL, &logs)
	defer b.Close()

	call := func(target string) int {
		req, _ := http.NewRequest("POST", b.env()["AWS_ENDPOINT_URL_EVENTBRIDGE"]+"/", strings.NewReader(`{"Entries":[]}`))
		req.Header.Set("X-Amz-Target", target)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == 503 && !strings.Contains(string(body), "ServiceUnavailable") {
			t.Errorf("%s: 503 without ServiceUnavailable: %s", target, body)
		}
		return resp.StatusCode
	}
	for _, tt := range []struct {
		down    bool
		target  string
		status  int
		reaches bool
	}{
		{false, putEventsTarget, 200, true},
		{true, putEventsTarget, 503, false},
		{true, "AWSEvents.DescribeEventBus", 200, true},
		{false, putEventsTarget, 200, true},
	} {
		b.set(tt.down)
		before := reached.Load()
		if got := call(tt.target); got != tt.status || (reached.Load() > before) != tt.reaches {
			t.Errorf("down %v, %s: %d (reached the bus: %v), want %d (%v)", tt.down, tt.target, got, reached.Load() > before, tt.status, tt.reaches)
		}
	}
	if st := b.state(); st.Bus != "up" || st.RefusedPutEvents != 1 {
		t.Errorf("state %+v, want up with 1 refused", st)
	}
	if strings.Count(logs.String(), "EVENT BUS DOWN") != 1 || strings.Count(logs.String(), "EVENT BUS UP") != 1 {
		t.Errorf("the stack's log does not show each flip once:\n%s", logs.String())
	}
}

func TestBusSwitchAnswers(t *testing.T) {
	b := newBusSwitch("http://127.0.0.1:1", io.Discard)
	defer b.Close()
	for _, tt := range []struct {
		method, path string
		status       int
		bus, allow   string
	}{
		{"GET", busPath, 200, "up", ""},
		{"POST", busPath + "/down", 200, "down", ""},
		{"POST", busPath + "/down", 200, "down", ""}, // again: still down
		{"GET", busPath, 200, "down", ""},
		{"POST", busPath + "/up", 200, "up", ""},
		{"GET", busPath + "/down", 405, "", "POST"},
		{"POST", busPath, 405, "", "GET"},
		{"POST", busPath + "/sideways", 404, "", ""},
	} {
		w := httptest.NewRecorder()
		b.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
		var st busState
		_ = json.Unmarshal(w.Body.Bytes(), &st)
		if w.Code != tt.status || st.Bus != tt.bus || w.Header().Get("Allow") != tt.allow || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %s (Allow %q), want %d bus %q (Allow %q)", tt.method, tt.path, w.Code, w.Body.String(), w.Header().Get("Allow"), tt.status, tt.bus, tt.allow)
		}
	}
}
