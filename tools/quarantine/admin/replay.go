package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/webhooks"
)

// Invoker invokes a Lambda function synchronously; *lambda.Client is one.
type Invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// ReplayOptions says what Replay replays: Keys, or with All every delivery (of Webhook, when
// set). Functions names, per webhook, the function to invoke instead of the one the record
// names (the AWS_LAMBDA_FUNCTION_NAME of the function that quarantined it).
type ReplayOptions struct {
	Keys      []string
	All       bool
	Webhook   string
	DryRun    bool
	Functions map[string]string
}

// Result is what became of one delivery.
type Result string

// Results.
const (
	// Replayed: the function answered 200 (processed, or already processed before). The
	// delivery is deleted from the quarantine unless Outcome.Deleted says otherwise.
	Replayed Result = "replayed"
	// StillQuarantined: the function answered 202 quarantined; the record was rewritten with
	// the new reason.
	StillQuarantined Result = "quarantined"
	// Failed: no answer, or another one (404, 409, 429, 503, a function error). The delivery
	// stays in the quarantine.
	Failed Result = "failed"
	// WouldReplay: a dry run's outcome.
	WouldReplay Result = "dry-run"
)

// Outcome is one delivery's replay. Nothing in it comes from the request.
type Outcome struct {
	Key      string
	Webhook  string
	Function string
	Result   Result
	// Status is the function's HTTP answer; 0 when there was none.
	Status int
	// Reason is the answer's error code, or what went wrong before one (not_found,
	// no_function, invoke_failed, function_error, unexpected_answer); for a replayed delivery
	// its status (accepted, duplicate); for a dry run the record's reason.
	Reason  string
	Field   string
	Message string
	// Deleted: a replayed delivery was removed from the quarantine.
	Deleted bool
}

// OK reports whether the delivery needs nothing more: replayed and deleted, or a dry run.
func (o Outcome) OK() bool {
	return (o.Result == Replayed && o.Deleted) || o.Result == WouldReplay
}

// Summary is a whole replay's outcomes, in order.
type Summary struct {
	DryRun   bool
	Outcomes []Outcome
}

// OK reports whether every delivery was replayed (or, in a dry run, could be).
func (s Summary) OK() bool {
	for _, o := range s.Outcomes {
		if !o.OK() {
			return false
		}
	}
	return true
}

// Count is how many outcomes have result r.
func (s Summary) Count(r Result) int {
	n := 0
	for _, o := range s.Outcomes {
		if o.Result == r {
			n++
		}
	}
	return n
}

// String is the summary line.
func (s Summary) String() string {
	n := len(s.Outcomes)
	if s.DryRun {
		return fmt.Sprintf("dry run: %d of %d %s would be replayed, %d failed", s.Count(WouldReplay), n,
			plural(n, "delivery", "deliveries"), s.Count(Failed))
	}
	line := fmt.Sprintf("%d %s: %d replayed, %d still quarantined, %d failed", n, plural(n, "delivery", "deliveries"),
		s.Count(Replayed), s.Count(StillQuarantined), s.Count(Failed))
	notDeleted := 0
	for _, o := range s.Outcomes {
		if o.Result == Replayed && !o.Deleted {
			notDeleted++
		}
	}
	if notDeleted > 0 {
		line += fmt.Sprintf(" (%d replayed but not deleted from the quarantine)", notDeleted)
	}
	return line
}

// Replay invokes, for each chosen delivery, the function that quarantined it with a replay
// order, one delivery at a time, and deletes the deliveries it processed (200). It prints a line
// per delivery as it goes, then the summary. Its error is for a replay that could not start
// (bad options, a failed listing) or was interrupted (ctx); a delivery that could not be
// replayed is an Outcome, and Summary.OK is then false.
func Replay(ctx context.Context, st Store, inv Invoker, o ReplayOptions, w io.Writer) (Summary, error) {
	s := Summary{DryRun: o.DryRun}
	keys, err := replayKeys(ctx, st, o)
	if err != nil {
		return s, err
	}
	if len(keys) == 0 {
		fmt.Fprintln(w, "no quarantined deliveries")
		return s, nil
	}
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			fmt.Fprintln(w, s.String())
			return s, err
		}
		out := replayOne(ctx, st, inv, k, o)
		s.Outcomes = append(s.Outcomes, out)
		fmt.Fprintln(w, out.line())
	}
	fmt.Fprintln(w, s.String())
	return s, nil
}

// replayKeys checks the options and returns the keys to replay, from the quarantine.
func replayKeys(ctx context.Context, st Store, o ReplayOptions) ([]string, error) {
	return chooseKeys(ctx, st, selection{o.Keys, o.All, o.Webhook, o.Functions}, "replay", Quarantine, Quarantine)
}

// selection is what a replay's or a re-drive's options choose.
type selection struct {
	keys      []string
	all       bool
	webhook   string
	functions map[string]string
}

// chooseKeys checks sel and returns its keys: every delivery of place list with all (of
// sel.webhook, if given), else the keys named, each in one of the places allowed, once.
func chooseKeys(ctx context.Context, st Store, sel selection, verb string, list Place, allowed ...Place) ([]string, error) {
	if sel.webhook != "" {
		if err := CheckWebhook(sel.webhook); err != nil {
			return nil, err
		}
	}
	for webhook := range sel.functions {
		if err := CheckWebhook(webhook); err != nil {
			return nil, err
		}
	}
	switch {
	case sel.all && len(sel.keys) > 0:
		return nil, errors.New("give keys or -all, not both")
	case !sel.all && len(sel.keys) == 0:
		return nil, fmt.Errorf("give the keys to %s, or -all", verb)
	case sel.all:
		items, err := st.ListIn(ctx, list.Prefix, sel.webhook)
		if err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(items))
		for _, it := range items {
			keys = append(keys, it.Key)
		}
		return keys, nil
	}
	var keys []string
	for _, k := range sel.keys {
		if err := CheckKey(k, allowed...); err != nil {
			return nil, err
		}
		if sel.webhook != "" && webhookOf(k) != sel.webhook {
			return nil, fmt.Errorf("%s is not a %s delivery (-webhook %s)", k, sel.webhook, sel.webhook)
		}
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// replayOrder is the invocation payload of pipeline.Entry's replay.
type replayOrder struct {
	Replay webhooks.Replay `json:"quarantineReplay"`
}

// answerBody is what the functions answer: httpapi.ErrorBody, quarantine.Answer, delivery's
// {"status": ...} or a re-drive's dead-letter answer.
type answerBody struct {
	Status        string `json:"status"`
	Error         string `json:"error"`
	Message       string `json:"message"`
	Field         string `json:"field"`
	QuarantineKey string `json:"quarantineKey"`
	DeadKey       string `json:"deadKey"`
}

// functionAnswer is a function's API Gateway answer to an order, or why there is none: Failure is
// invoke_failed, function_error or unexpected_answer, with Message.
type functionAnswer struct {
	Status  int
	Body    answerBody
	Failure string
	Message string
}

// invokeOrder invokes function synchronously with order and reads its answer. Nothing of the
// function's error message is kept (it is for the function's log).
func invokeOrder(ctx context.Context, inv Invoker, function string, order any) functionAnswer {
	payload, err := json.Marshal(order)
	if err != nil {
		return functionAnswer{Failure: "invoke_failed", Message: err.Error()}
	}
	ictx, cancel := context.WithTimeout(ctx, InvokeTimeout)
	defer cancel()
	resp, err := inv.Invoke(ictx, &lambda.InvokeInput{
		FunctionName:   aws.String(function),
		InvocationType: lambdatypes.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	if err != nil {
		// The SDK's error: operation, HTTP status, request id, error code and message.
		return functionAnswer{Failure: "invoke_failed", Message: err.Error()}
	}
	if resp.FunctionError != nil {
		// Only the error type: the function's error message is for its log, which has it.
		var doc struct {
			Type string `json:"errorType"`
		}
		_ = json.Unmarshal(resp.Payload, &doc)
		return functionAnswer{Failure: "function_error",
			Message: fmt.Sprintf("the function failed (%s, %s); see its log", aws.ToString(resp.FunctionError), dash(doc.Type))}
	}
	var r events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(resp.Payload, &r); err != nil || r.StatusCode == 0 {
		return functionAnswer{Failure: "unexpected_answer", Message: fmt.Sprintf("a %d-byte answer that is not an API Gateway response", len(resp.Payload))}
	}
	a := functionAnswer{Status: r.StatusCode}
	_ = json.Unmarshal([]byte(r.Body), &a.Body)
	return a
}

// statusReason is an answer's reason when its body names none: 503 -> service_unavailable.
func statusReason(status int) string {
	return strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
}

func replayOne(ctx context.Context, st Store, inv Invoker, key string, o ReplayOptions) Outcome {
	out := Outcome{Key: key, Webhook: webhookOf(key), Result: Failed}
	rec, err := st.Get(ctx, key)
	if err != nil {
		out.Reason, out.Message = "unreadable", err.Error()
		if errors.Is(err, quarantine.ErrNotFound) {
			out.Reason, out.Message = "not_found", "no quarantined delivery with that key"
		}
		return out
	}
	if rec.Webhook != "" {
		out.Webhook = rec.Webhook
	}
	out.Function = functionFor(rec, out.Webhook, o.Functions)
	if out.Function == "" {
		out.Reason, out.Message = "no_function", fmt.Sprintf("the record names no function: pass -function %s=<name>", out.Webhook)
		return out
	}
	if o.DryRun {
		out.Result, out.Reason, out.Field = WouldReplay, rec.Reason, rec.Field
		return out
	}

	a := invokeOrder(ctx, inv, out.Function, replayOrder{Replay: webhooks.Replay{Key: key}})
	if a.Failure != "" {
		out.Reason, out.Message = a.Failure, a.Message
		return out
	}
	out.Status = a.Status
	out.Reason, out.Field, out.Message = a.Body.Error, a.Body.Field, a.Body.Message
	switch {
	case a.Status == http.StatusOK:
		out.Result, out.Reason, out.Message = Replayed, a.Body.Status, ""
		if err := st.Delete(ctx, key); err != nil {
			out.Message = err.Error()
			return out
		}
		out.Deleted = true
	case a.Status == http.StatusAccepted && a.Body.Status == "quarantined":
		out.Result = StillQuarantined
	}
	if out.Reason == "" && out.Result != Replayed {
		out.Reason = statusReason(a.Status)
	}
	return out
}

// functionFor is the function to invoke for rec of webhook: the one overrides names, else the
// one the record names (the AWS_LAMBDA_FUNCTION_NAME of the function that kept it).
func functionFor(rec quarantine.Record, webhook string, overrides map[string]string) string {
	if fn := overrides[webhook]; fn != "" {
		return fn
	}
	return rec.Function
}

// line is the outcome as the CLI prints it.
func (o Outcome) line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-11s %s -> %s:", o.Result, o.Key, dash(o.Function))
	if o.Status != 0 {
		fmt.Fprintf(&b, " %d", o.Status)
	}
	if o.Result == WouldReplay {
		b.WriteString(" quarantined for")
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
	switch {
	case o.Result == Replayed && o.Deleted:
		b.WriteString("; deleted from the quarantine")
	case o.Result == Replayed:
		b.WriteString("; NOT deleted from the quarantine (a new replay is answered as a duplicate)")
	case o.Result == StillQuarantined:
		b.WriteString("; kept, with the new reason")
	case o.Result == Failed && o.Reason != "not_found":
		b.WriteString("; kept")
	}
	return b.String()
}
