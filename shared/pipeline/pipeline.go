// Package pipeline owns the order in which every webhook function handles a delivery:
//
//  1. reject early: a method other than POST, a body over the cap;
//  2. authenticate, unless the delivery is a replay from the quarantine;
//  3. from here on the delivery is the sender's: a panic or a *Rejection quarantines it (202);
//  4. plan: parse and validate into the work and its idempotency keys;
//  5. do the work once per key (the keys claimed together, with the work's writes), then publish its events;
//  6. answer: 200 accepted or duplicate, 429 in progress, 503 retry later — within the
//     invocation's deadline less httpapi.AnswerReserve.
//
// Each webhook package supplies only what differs (Webhook): its verifier, its parser, what it
// stores and which events it emits.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"runtime/debug"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/delivery"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
)

// Webhook is what one webhook does at the steps that differ. M is what Authenticate read of the
// request on the way (a parsed message) and hands to Plan.
type Webhook[M any] interface {
	// Authenticate checks the request as far as its sender's authentication, which it skips when
	// replay is true. Its error, a *Rejection, is the answer. The logger it returns carries what
	// is now known of the delivery. An M that implements account.Labeled names the delivery's
	// account (else account.Default); on a replay, an empty label keeps the quarantine record's.
	Authenticate(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, replay bool) (M, *slog.Logger, error)
	// Plan parses and validates an authenticated delivery into its work. A *Rejection quarantines
	// the delivery. Its ctx, and the work's, carry the account label (account.Of). replay is true
	// for a replay from the quarantine only: a re-drive of a deferred delivery is planned as the
	// live delivery it was (its keys, its enrichment).
	Plan(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, m M, replay bool) (Delivery, error)
}

// Delivery is the work an authenticated, valid delivery causes.
type Delivery struct {
	// Log logs the rest of the delivery.
	Log *slog.Logger
	// Claims are the idempotency keys the work runs under, claimed together: the work runs once
	// for each. When one cannot be claimed, the first such decides the answer.
	Claims []Claim
	// Writes are DynamoDB writes the work needs, made after the claims, before Work.
	Writes []idempotency.Write
	// IDs go into the 200 body next to "status".
	IDs map[string]any
	// CountEvents adds "events", the number of events published, to the 200 body.
	CountEvents bool
	// Work does what the delivery causes, logging with log, and returns the events to publish.
	// A *Rejection (a failure every retry would repeat) quarantines the delivery.
	Work func(ctx context.Context, log *slog.Logger) ([]eventbus.Event, error)
	// Partly quarantines the whole delivery for this reason before the work runs on its valid
	// part, logged with PartlyLog as well: the valid part is needed now, the whole after a fix.
	// The answer is 202 with the quarantine's reason and the work's outcome; 503 if either failed,
	// so that the sender retries both.
	Partly    *Rejection
	PartlyLog []any
}

// Claim is one idempotency key.
type Claim struct {
	Key string
	// Note is stored with the claim: the identity of the delivery that took it (Amazon Pay: its
	// MessageId).
	Note string
	// IfDone, when set, is logged as a warning when this claim finds the work done by a delivery
	// whose Note differs: a copy of a delivery under another identity.
	IfDone string
}

type onceRunner interface {
	DoAll(ctx context.Context, claims []idempotency.Claim, writes []idempotency.Write, inProgressUntil time.Time, work func(context.Context) error) error
}

type publisher interface {
	Publish(ctx context.Context, evs []eventbus.Event) error
}

type keeper interface {
	Kept(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, why quarantine.Reason, replay bool) (quarantine.Answer, bool)
}

// Deps is what the pipeline runs a webhook's deliveries through.
type Deps struct {
	Once       onceRunner
	Events     publisher
	Quarantine keeper
	// Records reads quarantined deliveries for replays.
	Records recordReader
	// Defer, when set, keeps a valid delivery that could not complete because a dependency was
	// unavailable (a quarantine.Keeper with Place quarantine.DeferredPrefix) and answers 202
	// "deferred"; unset, such a delivery is answered 503 and the sender keeps it.
	Defer keeper
	// Redrive re-drives deferred deliveries: see Redrive.
	Redrive      Redrive
	MaxBodyBytes int
	Log          *slog.Logger
	Now          func() time.Time
	// Metrics receives one record per delivery, its EMF metrics and its "delivery answered" log
	// line (the function's stdout); nil writes none.
	Metrics io.Writer
}

// New returns the Lambda handler of webhook (its name in quarantine keys): API Gateway requests,
// replay and re-drive orders, and the re-drive queue's batches, answered through the pipeline
// with steps.
func New[M any](webhook string, steps Webhook[M], d Deps) LambdaHandler {
	p := &pipeline[M]{steps: steps, Deps: d}
	e := &entryPoint{records: d.Records, redrive: d.Redrive, webhook: webhook, log: d.Log, now: p.now, handle: p.handle}
	return batches(measure(d.Metrics, webhook, d.Log, p.now, e.serve), d.Redrive, d.Log)
}

type pipeline[M any] struct {
	steps Webhook[M]
	Deps
}

// handle never fails: every outcome is an HTTP answer, because an error would reach the sender
// as a bare 500 with no body.
func (p *pipeline[M]) handle(ctx context.Context, req events.APIGatewayV2HTTPRequest, replay bool) httpapi.Reply {
	return httpapi.Answer(ctx, p.Log, &req, func(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest) httpapi.Reply {
		return p.run(ctx, log, req, replay)
	})
}

func (p *pipeline[M]) run(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, replay bool) httpapi.Reply {
	if resp, rejected := httpapi.RejectEarly(req, p.MaxBodyBytes); rejected {
		return resp
	}
	// A secret authentication fails to read is logged on the delivery's logger (secrets.WithLog).
	m, log, err := p.steps.Authenticate(secrets.WithLog(ctx, log), log, req, replay)
	if err != nil {
		return rejectionOf(err).reply()
	}
	ctx, log = labeled(ctx, log, m, replay)
	// From here on the delivery is the sender's: what cannot be processed is quarantined, not
	// refused.
	// A re-drive is the live delivery it was, kept through an outage: only its authentication is
	// skipped. Planned as live, it runs under the live delivery's keys.
	_, redrive := deferralOf(ctx)
	resp := p.guard(ctx, log, req, replay, func() httpapi.Reply {
		d, err := p.steps.Plan(ctx, log, req, m, replay && !redrive)
		if err != nil {
			return p.keep(ctx, log, req, replay, rejectionOf(err))
		}
		if d.Partly == nil {
			return p.process(ctx, d.Log, req, replay, d)
		}
		log := d.Log.With(d.PartlyLog...)
		kept, ok := p.Quarantine.Kept(ctx, log, req, d.Partly.reason(), replay)
		if !ok {
			return retryKeep()
		}
		ids, err := p.settleWithin(ctx, log, d, replay)
		if p.deferrable(err, replay) {
			// A re-drive quarantines the whole again (the same key) and does the valid part.
			if resp, ok := p.deferDelivery(ctx, log, req, withKey(ids, kept.QuarantineKey), err); ok {
				return resp
			}
		}
		if done := p.answer(ctx, log, req, replay, err, ids); done.StatusCode != 200 {
			return done
		}
		// The work's ids with the quarantine's reason and key.
		body := withKey(ids, kept.QuarantineKey)
		body["status"], body["error"], body["message"] = kept.Status, kept.Error, kept.Message
		if kept.Field != "" {
			body["field"] = kept.Field
		}
		return httpapi.ReplyJSON(202, body, kept.Status, kept.Error)
	})
	resp.Account = account.Of(ctx)
	return resp
}

// guard runs process and quarantines the delivery if process panics: a bug fails every retry
// the same way, so the delivery is kept for replay after a fix.
func (p *pipeline[M]) guard(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, replay bool, process func() httpapi.Reply) (resp httpapi.Reply) {
	defer func() {
		if r := recover(); r != nil {
			// The panic value and stack go to the log only; they may describe the payload.
			log.Error("handler panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			resp = p.keep(ctx, log, req, replay, Reject(500, "internal_error", "the function failed on this delivery"))
		}
	}()
	return process()
}

func (p *pipeline[M]) keep(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, replay bool, why *Rejection) httpapi.Reply {
	kept, ok := p.Quarantine.Kept(ctx, log, req, why.reason(), replay)
	if !ok {
		return retryKeep()
	}
	return httpapi.ReplyJSON(202, kept, kept.Status, kept.Error)
}

// retryKeep answers a delivery that could be neither processed nor kept: the sender keeps it.
func retryKeep() httpapi.Reply {
	return httpapi.ReplyRetryLater("the delivery could not be processed or kept; retry later")
}

func (p *pipeline[M]) process(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, replay bool, d Delivery) httpapi.Reply {
	ids, err := p.settleWithin(ctx, log, d, replay)
	if p.deferrable(err, replay) {
		if resp, ok := p.deferDelivery(ctx, log, req, ids, err); ok {
			return resp
		}
	}
	return p.answer(ctx, log, req, replay, err, ids)
}

// withKey is a copy of ids with the quarantine key of a partly quarantined delivery.
func withKey(ids map[string]any, quarantineKey string) map[string]any {
	body := maps.Clone(ids)
	if body == nil {
		body = map[string]any{}
	}
	body["quarantineKey"] = quarantineKey
	return body
}

// settle runs d's work under its claims and publishes its events; it returns the ids of the 200
// body and the outcome.
func (p *pipeline[M]) settle(ctx context.Context, log *slog.Logger, d Delivery) (map[string]any, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = p.now().Add(30 * time.Second)
	}
	published := 0
	err := p.claim(ctx, log, d.Claims, d.Writes, deadline, func(ctx context.Context) error {
		evs, err := d.Work(ctx, log)
		if err != nil {
			return err
		}
		published = len(evs)
		return p.Events.Publish(ctx, evs)
	})
	ids := d.IDs
	if d.CountEvents {
		ids = maps.Clone(ids)
		if ids == nil {
			ids = map[string]any{}
		}
		ids["events"] = published
	}
	return ids, err
}

// answer is settle's outcome as the sender's answer: a *Rejection (a failure every retry would
// repeat) quarantines the delivery.
func (p *pipeline[M]) answer(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, replay bool, err error, ids map[string]any) httpapi.Reply {
	var rej *Rejection
	if errors.As(err, &rej) {
		return p.keep(ctx, log, req, replay, rej)
	}
	return delivery.Answer(log, err, ids)
}

// claim runs work under claims, after writes.
func (p *pipeline[M]) claim(ctx context.Context, log *slog.Logger, claims []Claim, writes []idempotency.Write, deadline time.Time, work func(context.Context) error) error {
	if len(claims) == 0 && len(writes) == 0 {
		return work(ctx)
	}
	keys := make([]idempotency.Claim, len(claims))
	for i, c := range claims {
		keys[i] = idempotency.Claim{Key: c.Key, Note: c.Note}
	}
	err := p.Once.DoAll(ctx, keys, writes, deadline, work)
	var ke *idempotency.KeyError
	if errors.As(err, &ke) && errors.Is(err, idempotency.ErrCompleted) {
		for _, c := range claims {
			// A record from before notes were stored has none: no evidence of another identity.
			if c.Key == ke.Key && c.IfDone != "" && ke.Note != "" && ke.Note != c.Note {
				log.Warn(c.IfDone)
			}
		}
	}
	return err
}

// labeled puts the delivery's account label on ctx (for the quarantine, the events and the stored
// items) and on log. It comes from what authenticated the delivery; a replay whose message cannot
// tell keeps the label its quarantine record has (entry put it on ctx).
func labeled(ctx context.Context, log *slog.Logger, m any, replay bool) (context.Context, *slog.Logger) {
	label := ""
	if l, ok := m.(account.Labeled); ok {
		label = l.Account()
	}
	if label == "" {
		label = account.Default
		if replay {
			label = account.Of(ctx)
		}
	}
	return account.With(ctx, label), log.With("account", label)
}

func (p *pipeline[M]) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// rejectionOf is err's *Rejection; any other error is a failure a retry may not repeat.
func rejectionOf(err error) *Rejection {
	var rej *Rejection
	if errors.As(err, &rej) {
		return rej
	}
	return RetryLater("the delivery could not be handled; retry later")
}
