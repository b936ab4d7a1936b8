package delivery

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
)

func TestAnswer(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   string // status field, or error code
		retryAfter bool
	}{
		{"done", nil, 200, "accepted", false},
		{"duplicate", idempotency.ErrCompleted, 200, "duplicate", false},
		{"done but not recorded", fmt.Errorf("%w: dynamodb down", idempotency.ErrNotRecorded), 200, "accepted", false},
		{"in progress", idempotency.ErrInProgress, 429, "in_progress", true},
		{"failed", errors.New("arn:aws:events:eu-west-1:123456789012:event-bus/x throttled"), 503, "temporarily_unavailable", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids := map[string]any{"deliveryId": "d1"}
			resp := Answer(log, tc.err, ids)
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
