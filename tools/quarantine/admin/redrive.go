package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/webhooks"
)

// RedriveOptions says what Redrive re-drives: Keys (under deferred/ or, by hand, deferred-dead/),
// or with All every delivery under deferred/ (deferred-dead/ with Dead), of Webhook when set.
// With Dead, Keys must be under deferred-dead/. Functions names, per webhook, the function to
// invoke instead of the one the record names.
type RedriveOptions struct {
	Keys      []string
	All       bool
	Dead      bool
	Webhook   string
	DryRun    bool
	Functions map[string]string
}

// place is the place the options re-drive from.
func (o RedriveOptions) place() Place {
	if o.Dead {
		return Dead
	}
	return Deferred
}

// RedriveResult is what became of one deferred delivery.
type RedriveResult string

// Re-drive results. The function, not this package, deletes or moves the object.
const (
	// Redriven: the function answered 200 accepted (or duplicate: processed before) and deleted
	// the deferred object. Final.
	Redriven RedriveResult = "redriven"
	// RedriveQuarantined: the function answered 202 quarantined (not processable after all): the
	// delivery is now in the quarantine (NewKey) and the deferred object is deleted. Final.
	RedriveQuarantined RedriveResult = "quarantined"
	// DeadLettered: the delivery was past the retention; the function moved it to deferred-dead/
	// (NewKey). A person decides: `redrive -dead` sends it again, `delete` discards it.
	DeadLettered RedriveResult = "dead-lettered"
	// Gone: there is no such object (the function answered 404, or it was gone before the
	// invocation): re-driven or discarded by someone else meanwhile. Final for a key found by
	// listing (All), a failure for a key given by hand (a typo looks the same).
	Gone RedriveResult = "gone"
	// RedriveFailed: no answer, or another one (409 wrong function, 429 or 503: retry later, a
	// function error). The object is kept; a later sweep re-drives it.
	RedriveFailed RedriveResult = "failed"
	// WouldRedrive: a dry run's outcome.
	WouldRedrive RedriveResult = "dry-run"
)

// RedriveOutcome is one deferred delivery's re-drive. Nothing in it comes from the request.
type RedriveOutcome struct {
	Key      string
	Webhook  string
	Function string
	Result   RedriveResult
	// Status is the function's HTTP answer; 0 when there was none.
	Status int
	// Reason is the answer's status (accepted, duplicate) or error code (retention_exceeded,
	// invalid_payload, temporarily_unavailable, wrong_function), or what went wrong before an
	// answer (unreadable, no_function, invoke_failed, function_error, unexpected_answer); for
	// a dry run the record's reason.
	Reason  string
	Field   string
	Message string
	// NewKey is where the function put the delivery: its quarantine key, or its deferred-dead/ key.
	NewKey string
	// DeferredAt is when the delivery was deferred, when the record could be read.
	DeferredAt time.Time
}

// RedriveSummary is a whole re-drive's outcomes, in order.
type RedriveSummary struct {
	DryRun bool
	// All: the keys were listed, not given (a Gone delivery is then final).
	All      bool
	Outcomes []RedriveOutcome
}

// Final reports whether o needs nothing more: the function answered for good (Redriven,
// RedriveQuarantined), or, in a sweep, someone else did (Gone); in a dry run, whether it could
// be re-driven.
func (s RedriveSummary) Final(o RedriveOutcome) bool {
	switch o.Result {
	case Redriven, RedriveQuarantined, WouldRedrive:
		return true
	case Gone:
		return s.All
	}
	return false
}

// OK reports whether every delivery ended final.
func (s RedriveSummary) OK() bool {
	for _, o := range s.Outcomes {
		if !s.Final(o) {
			return false
		}
	}
	return true
}

// Count is how many outcomes have result r.
func (s RedriveSummary) Count(r RedriveResult) int {
	n := 0
	for _, o := range s.Outcomes {
		if o.Result == r {
			n++
		}
	}
	return n
}

// String is the summary line.
func (s RedriveSummary) String() string {
	n := len(s.Outcomes)
	if s.DryRun {
		failed := 0
		for _, o := range s.Outcomes {
			if !s.Final(o) {
				failed++
			}
		}
		return fmt.Sprintf("dry run: %d of %d %s would be re-driven, %d failed", s.Count(WouldRedrive), n,
			plural(n, "delivery", "deliveries"), failed)
	}
	return fmt.Sprintf("%d %s: %d re-driven, %d quarantined, %d dead-lettered, %d gone, %d failed", n, plural(n, "delivery", "deliveries"),
		s.Count(Redriven), s.Count(RedriveQuarantined), s.Count(DeadLettered), s.Count(Gone), s.Count(RedriveFailed))
}

// Redrive invokes, for each chosen deferred delivery, the function that deferred it with a
// re-drive order ({"deferredRedrive":{"key":...}}), one delivery at a time, as the re-drive
// queue does in AWS. The function re-drives the delivery and deletes (or moves) its object
// itself; Redrive deletes nothing. It prints a line per delivery as it goes, then the summary.
// Its error is for a re-drive that could not start (bad options, a failed listing) or was
// interrupted (ctx); a delivery that was not re-driven is an outcome, and the summary is then
// not OK.
func Redrive(ctx context.Context, st Store, inv Invoker, o RedriveOptions, w io.Writer) (RedriveSummary, error) {
	s := RedriveSummary{DryRun: o.DryRun, All: o.All}
	keys, err := redriveKeys(ctx, st, o)
	if err != nil {
		return s, err
	}
	if len(keys) == 0 {
		fmt.Fprintf(w, "no %s deliveries\n", o.place().Adjective)
		return s, nil
	}
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			fmt.Fprintln(w, s.String())
			return s, err
		}
		out := redriveOne(ctx, st, inv, k, o)
		s.Outcomes = append(s.Outcomes, out)
		fmt.Fprintln(w, out.line(s.Final(out)))
	}
	fmt.Fprintln(w, s.String())
	return s, nil
}

// redriveKeys checks the options and returns the keys to re-drive: from the deferred place (the
// dead-letter place with -dead).
func redriveKeys(ctx context.Context, st Store, o RedriveOptions) ([]string, error) {
	allowed := []Place{Deferred, Dead}
	if o.Dead {
		allowed = []Place{Dead}
	}
	return chooseKeys(ctx, st, selection{o.Keys, o.All, o.Webhook, o.Functions}, "re-drive", o.place(), allowed...)
}

// redriveOrder is the invocation payload of pipeline.Entry's re-drive.
type redriveOrder struct {
	Redrive webhooks.RedriveOrder `json:"deferredRedrive"`
}

func redriveOne(ctx context.Context, st Store, inv Invoker, key string, o RedriveOptions) RedriveOutcome {
	out := RedriveOutcome{Key: key, Webhook: webhookOf(key), Result: RedriveFailed}
	// The record names the function to invoke (unless -function does).
	rec, err := st.Get(ctx, key)
	if err != nil {
		out.Reason, out.Message = "unreadable", err.Error()
		if errors.Is(err, quarantine.ErrNotFound) {
			out.Result, out.Reason, out.Message = Gone, "not_found", "no deferred delivery with that key"
		}
		return out
	}
	if rec.Webhook != "" {
		out.Webhook = rec.Webhook
	}
	out.DeferredAt = rec.QuarantinedAt
	out.Function = functionFor(rec, out.Webhook, o.Functions)
	if out.Function == "" {
		out.Reason, out.Message = "no_function", fmt.Sprintf("the record names no function: pass -function %s=<name>", out.Webhook)
		return out
	}
	if o.DryRun {
		out.Result, out.Reason, out.Field = WouldRedrive, rec.Reason, rec.Field
		return out
	}

	a := invokeOrder(ctx, inv, out.Function, redriveOrder{Redrive: webhooks.RedriveOrder{Key: key}})
	if a.Failure != "" {
		out.Reason, out.Message = a.Failure, a.Message
		return out
	}
	out.Status = a.Status
	out.Reason, out.Field, out.Message = a.Body.Error, a.Body.Field, a.Body.Message
	switch {
	case a.Status == http.StatusOK && a.Body.Status == "dead_lettered":
		out.Result, out.NewKey = DeadLettered, a.Body.DeadKey
	case a.Status == http.StatusOK:
		out.Result, out.Reason, out.Message = Redriven, a.Body.Status, ""
	case a.Status == http.StatusAccepted && a.Body.Status == "quarantined":
		out.Result, out.NewKey = RedriveQuarantined, a.Body.QuarantineKey
	case a.Status == http.StatusNotFound && a.Body.Error == "not_found":
		out.Result = Gone
	}
	if out.Reason == "" {
		out.Reason = statusReason(a.Status)
	}
	return out
}

// line is the outcome as the CLI prints it; final says whether it needs nothing more.
func (o RedriveOutcome) line(final bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-13s %s -> %s:", o.Result, o.Key, dash(o.Function))
	if o.Status != 0 {
		fmt.Fprintf(&b, " %d", o.Status)
	}
	if o.Result == WouldRedrive {
		fmt.Fprintf(&b, " deferred at %s for", o.DeferredAt.UTC().Format(time.RFC3339))
	}
	if o.Reason != "" {
		b.WriteString(" " + o.Reason)
	}
	if o.Field != "" {
		b.WriteString(" (" + o.Field + ")")
	}
	if o.Message != "" {
		b.WriteString(": " + o.Message)
	}
	switch o.Result {
	case Redriven:
		b.WriteString("; the function deleted it")
	case RedriveQuarantined:
		b.WriteString("; now in the quarantine as " + dash(o.NewKey))
	case DeadLettered:
		b.WriteString("; moved to " + dash(o.NewKey) + " (redrive -dead sends it again, delete discards it)")
	case Gone:
		if final {
			b.WriteString("; re-driven or discarded meanwhile")
		}
	case RedriveFailed:
		b.WriteString("; kept")
	}
	return b.String()
}
