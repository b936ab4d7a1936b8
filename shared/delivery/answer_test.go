package delivery

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
)

// Answer's answers, and its log line: DEBUG for what every successful delivery does (the
// delivery's record says it was accepted or a duplicate), WARN or ERROR for what went wrong, which
// the delivery-failures alarm counts.
func TestAnswer(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   string // status field, or error code
		retryAfter bool
		wantLevel  string // the highest level Answer logs at
	}{
		{"done", nil, 200, "accepted", false, "DEBUG"},
		{"duplicate", idempotency.ErrCompleted, 200, "duplicate", false, "DEBUG"},
		{"done but not recorded", fmt.Errorf("%w: dynamodb down", idempotency.ErrNotRecorded), 200, "accepted", false, "ERROR"},
		{"in progress", idempotency.ErrInProgress, 429, "in_progress", true, "WARN"},
		{"failed", errors.New("arn:aws:events:eu-west-1:123456789012:event-bus/x throttled"), 503, "temporarily_unavailable", true, "ERROR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs strings.Builder
			log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			ids := map[string]any{"deliveryId": "d1"}
			resp := Answer(log, tc.err, ids)
			top := slog.LevelDebug - 1
			for l := range strings.Lines(logs.String()) {
				var line struct{ Level slog.Level }
				if err := json.Unmarshal([]byte(l), &line); err != nil {
					t.Fatal(err)
				}
				top = max(top, line.Level)
			}
			if top.String() != tc.wantLevel {
				t.Errorf("logged %q, want %s at most", logs.String(), tc.wantLevel)
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatal(err)
			}
			got := body["status"]
			if got == nil {
				got = body["error"]
			}
			if resp.StatusCode != tc.wantStatus || got != tc.wantBody {
				t.Fatalf("got %d %v", resp.StatusCode, body)
			}
			// What the reply says is what its body says (the EMF line is classified by it).
			status, _ := body["status"].(string)
			code, _ := body["error"].(string)
			if resp.BodyStatus != status || resp.Code != code {
				t.Errorf("reply says status %q, error %q; body %v", resp.BodyStatus, resp.Code, body)
			}
			if (resp.Headers["Retry-After"] != "") != tc.retryAfter {
				t.Errorf("Retry-After = %q", resp.Headers["Retry-After"])
			}
			if resp.StatusCode == 200 && body["deliveryId"] != "d1" {
				t.Errorf("ids missing: %v", body)
			}
			if len(ids) != 1 {
				t.Errorf("Answer modified the caller's map: %v", ids)
			}
			if resp.StatusCode == 503 && (len(resp.Body) == 0 || strings.Contains(resp.Body, "arn:")) {
				t.Errorf("503 leaks the cause: %s", resp.Body)
			}
		})
	}
}
