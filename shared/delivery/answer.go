// Package delivery turns the outcome of processing a webhook delivery once (idempotency.Do) into
// the answer every sender understands: 2xx when done or a duplicate, 429 while another invocation
// holds it, 503 when a retry can succeed.
package delivery

import (
	"errors"
	"log/slog"
	"maps"

	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
)

// Answer maps err from idempotency.Do. ids (delivery or message ids) go into the 200 body next to
// "status": "accepted" or "duplicate".
func Answer(log *slog.Logger, err error, ids map[string]any) httpapi.Reply {
	body := maps.Clone(ids)
	if body == nil {
		body = map[string]any{}
	}
	switch {
	case errors.Is(err, idempotency.ErrCompleted):
		log.Debug("duplicate delivery")
		body["status"] = "duplicate"
		return httpapi.ReplyJSON(200, body, "duplicate", "")
	case errors.Is(err, idempotency.ErrInProgress):
		log.Warn("delivery already in progress")
		r := httpapi.ReplyError(429, "in_progress", "this delivery is being processed; retry later")
		r.Headers["Retry-After"] = "5"
		return r
	case errors.Is(err, idempotency.ErrNotRecorded):
		// The work is done; a redelivery would redo it harmlessly (same items, same event keys).
		log.Error("delivery processed but not recorded", "error", err)
	case err != nil:
		log.Error("delivery failed", "error", err)
		return httpapi.ReplyRetryLater("delivery could not be completed; retry later")
	}
	log.Debug("delivery processed")
	body["status"] = "accepted"
	return httpapi.ReplyJSON(200, body, "accepted", "")
}
