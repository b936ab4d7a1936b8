package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
)

// Time kept for a deferral, when it is on: the work stops deferReserve earlier than it would, so
// that after the claims' release (idempotency's 400 ms) the record can still be written and the
// answer sent deferMargin before the invocation ends. Below deferMinimum left, no deferral is
// tried: a 2xx must never be sent after the deadline (the sender would see a gateway error and
// retry a delivery that is kept).
const (
	deferReserve = 600 * time.Millisecond
	deferMargin  = 100 * time.Millisecond
	deferMinimum = 150 * time.Millisecond
)

// deferredReason is what a deferred record says.
var deferredReason = quarantine.Reason{
	Error:   "temporarily_unavailable",
	Message: "a dependency was unavailable; the delivery is kept and re-driven automatically",
}

// settleWithin is settle with room for a deferral when the delivery may be deferred.
func (p *pipeline[M]) settleWithin(ctx context.Context, log *slog.Logger, d Delivery, replay bool) (map[string]any, error) {
	if p.Defer != nil && !replay {
		if deadline, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline.Add(-deferReserve))
			defer cancel()
		}
	}
	if x, ok := deferralOf(ctx); ok {
		work := d.Work
		d.Work = func(ctx context.Context, log *slog.Logger) ([]eventbus.Event, error) {
			evs, err := work(ctx, log)
			eventbus.MarkDeferred(evs, x)
			return evs, err
		}
	}
	return p.settle(ctx, log, d)
}

// deferrable says whether settle's err is a dependency's failure a deferral answers: not a
// rejection (quarantined), not a duplicate or a delivery in progress, not work done but
// unrecorded (accepted). A replay or re-drive is never deferred again: its record is kept.
func (p *pipeline[M]) deferrable(err error, replay bool) bool {
	var rej *Rejection
	return p.Defer != nil && !replay && err != nil && !errors.As(err, &rej) &&
		!errors.Is(err, idempotency.ErrCompleted) && !errors.Is(err, idempotency.ErrInProgress) && !errors.Is(err, idempotency.ErrNotRecorded)
}

// deferDelivery keeps req under deferred/ and answers 202 "deferred" with ids, when the
// invocation has time left to do so; false leaves the answer to the caller (503).
func (p *pipeline[M]) deferDelivery(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, ids map[string]any, cause error) (httpapi.Reply, bool) {
	// ctx ends httpapi.AnswerReserve before the invocation does.
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = p.now().Add(30 * time.Second)
	}
	end := deadline.Add(httpapi.AnswerReserve - deferMargin)
	if time.Until(end) < deferMinimum {
		log.Error("delivery failed; no time left to defer it", "error", cause)
		return httpapi.Reply{}, false
	}
	log.Warn("delivery could not complete; deferring it", "error", cause)
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), end)
	defer cancel()
	kept, ok := p.Defer.Kept(ctx, log, req, deferredReason, false)
	if !ok {
		return httpapi.Reply{}, false
	}
	body := maps.Clone(ids)
	if body == nil {
		body = map[string]any{}
	}
	body["status"], body["error"], body["message"], body["deferredKey"] = kept.Status, kept.Error, kept.Message, kept.DeferredKey
	return httpapi.ReplyJSON(202, body, kept.Status, kept.Error), true
}

type deferralKey struct{}

// withDeferral marks ctx's delivery as a re-drive of one deferred as x says.
func withDeferral(ctx context.Context, x eventbus.Deferral) context.Context {
	return context.WithValue(ctx, deferralKey{}, x)
}

func deferralOf(ctx context.Context) (eventbus.Deferral, bool) {
	x, ok := ctx.Value(deferralKey{}).(eventbus.Deferral)
	return x, ok
}
