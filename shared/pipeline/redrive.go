package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
)

// Re-drive, in order: a deferred delivery's object under deferred/<webhook>/ is the only thing the
// 2xx depended on. S3 announces it to EventBridge (Object Created), a rule on the default bus
// queues the announcement on the webhook's re-drive queue, and the queue's event source mapping
// (MaximumConcurrency, Enabled as the pause switch) hands batches to this function, which
// re-drives each object through the same entry as an operator's RedriveOrder: replayed as a
// quarantined delivery is, under the same idempotency keys and account label, and deleted once
// answered for good. A re-drive that fails again waits with exponential backoff and jitter
// (the message's visibility); one older than the retention moves to deferred-dead/.

type recordStore interface {
	Get(ctx context.Context, key string) (quarantine.Record, error)
	PutAt(ctx context.Context, key string, r quarantine.Record) error
	Delete(ctx context.Context, key string) error
}

type visibilityChanger interface {
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Redrive is how a function re-drives its deferred deliveries.
type Redrive struct {
	// Store holds the deferred records (the payload bucket); nil: re-drive orders answer 503.
	Store recordStore
	// Retention is how long after its deferral a delivery is re-driven before it moves to the
	// dead-letter place; 0: without end.
	Retention time.Duration
	// Queue and QueueURL are the re-drive queue whose batches the function receives, for the
	// backoff of a failed re-drive (nil: its visibility timeout as it is).
	Queue    visibilityChanger
	QueueURL string
	// Backoff is the wait after a re-drive's first failure, doubled after each further one up to
	// MaxBackoff, with jitter.
	Backoff, MaxBackoff time.Duration
}

// batchResponseType marks the answer to a re-drive batch, which Invoke returns as it is: Lambda
// reads batchItemFailures from it.
const batchResponseType = "application/x.redrive-batch-response"

// maxVisibility is SQS's longest visibility timeout.
const maxVisibility = 12 * time.Hour

// laterRecordBudget is the time a record after a batch's first needs left to be started.
const laterRecordBudget = 2 * time.Second

// retentionExceeded is the reason a dead letter past the retention gives (its EMF Reason too).
const retentionExceeded = "retention_exceeded"

// batches makes h also serve the re-drive queue's batches: each message names a deferred object,
// re-driven through h as a RedriveOrder (one record each); a message whose re-drive is to be
// retried is reported as a batch item failure after its visibility is set to the backoff.
func batches(h LambdaHandler, r Redrive, log *slog.Logger) LambdaHandler {
	return func(ctx context.Context, payload json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
		ev, ok := sqsBatch(payload)
		if !ok {
			return h(ctx, payload)
		}
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for i := range ev.Records {
			m := &ev.Records[i]
			if !r.redriveMessage(ctx, h, log, m, i == 0) {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
		}
		body, err := json.Marshal(resp)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"content-type": batchResponseType}, Body: string(body)}, nil
	}
}

// sqsBatch reads payload as an SQS batch. An API Gateway request is not one: the marker cannot
// occur inside a JSON string, and a request whose query names it still has no records.
func sqsBatch(payload []byte) (events.SQSEvent, bool) {
	var ev events.SQSEvent
	if !bytes.Contains(payload, []byte(`"eventSource":"aws:sqs"`)) || json.Unmarshal(payload, &ev) != nil || len(ev.Records) == 0 {
		return ev, false
	}
	for _, m := range ev.Records {
		if m.EventSource != "aws:sqs" {
			return ev, false
		}
	}
	return ev, true
}

// redriveMessage re-drives the object m announces and says whether the message is done with.
func (r Redrive) redriveMessage(ctx context.Context, h LambdaHandler, log *slog.Logger, m *events.SQSMessage, first bool) bool {
	log = log.With("messageId", m.MessageId)
	if d, ok := ctx.Deadline(); ok && !first && time.Until(d) < laterRecordBudget {
		return false // not started: back to the queue as it is
	}
	key, err := announcedKey(m.Body)
	if err != nil {
		// Nothing can ever re-drive it; the object, if any, stays and the age alarm tells.
		log.Error("re-drive: not an S3 object announcement; dropped", "error", err)
		return true
	}
	order, _ := json.Marshal(map[string]RedriveOrder{"deferredRedrive": {Key: key}})
	resp, err := h(ctx, order)
	if err == nil && !retryable(resp.StatusCode) {
		return true
	}
	attempt, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	r.postpone(ctx, log, m, attempt)
	return false
}

// announcedKey is the object key of an S3 "Object Created" event, as EventBridge delivers it.
func announcedKey(body string) (string, error) {
	var ev struct {
		Source string `json:"source"`
		Detail struct {
			Object struct {
				Key string `json:"key"`
			} `json:"object"`
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		return "", err
	}
	if ev.Source != "aws.s3" || ev.Detail.Object.Key == "" {
		return "", fmt.Errorf("source %q, object key %q", ev.Source, ev.Detail.Object.Key)
	}
	return ev.Detail.Object.Key, nil
}

// postpone sets m's visibility to the backoff of its attempt-th failure.
func (r Redrive) postpone(ctx context.Context, log *slog.Logger, m *events.SQSMessage, attempt int) {
	if r.Queue == nil {
		return
	}
	wait := r.Delay(attempt)
	// Bounded: the batch's answer matters more than the backoff.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 300*time.Millisecond)
	defer cancel()
	_, err := r.Queue.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: &r.QueueURL, ReceiptHandle: &m.ReceiptHandle, VisibilityTimeout: int32(wait / time.Second),
	})
	if err != nil {
		log.Warn("re-drive: backoff not set; the queue's visibility timeout applies", "error", err)
	}
}

// receiveBudget bounds how often a delivery is received within its retention: the backoff's cap
// is at least Retention/receiveBudget, whatever MaxBackoff says. Drawn from its upper half, the
// wait then allows at most twice as many receives (plus the doubling's first few), under the
// 1,000 after which a re-drive queue dead-letters a message: the function's own dead letter,
// past the retention, always comes first.
const receiveBudget = 400

// Delay is the wait after a re-drive's attempt-th failure (from 1): Backoff doubled per further
// failure up to MaxBackoff (or Retention/receiveBudget, if longer), drawn from its upper half
// (jitter), at least a second.
func (r Redrive) Delay(attempt int) time.Duration {
	d := max(r.Backoff, time.Second)
	limit := min(max(r.MaxBackoff, r.Retention/receiveBudget, d), maxVisibility)
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return max(d/2+rand.N(d/2+1), time.Second)
}

// retryable says whether an answer leaves the delivery to a later attempt.
func retryable(status int) bool { return status == 429 || status >= 500 }

// redriveOne re-drives the deferred delivery under key (RedriveOrder).
func (e *entryPoint) redriveOne(ctx context.Context, key string) httpapi.Reply {
	place, webhook, ok := quarantine.PlaceOf(key)
	if !ok || place == quarantine.Prefix {
		return httpapi.ReplyError(404, "not_found", "no deferred delivery with that key")
	}
	if webhook != e.webhook {
		return wrongFunction(webhook)
	}
	log := e.log.With("deferredKey", key)
	if e.redrive.Store == nil {
		return httpapi.ReplyRetryLater("this function has no re-drive store; retry later")
	}
	r, err := e.redrive.Store.Get(ctx, key)
	if errors.Is(err, quarantine.ErrNotFound) {
		// Another announcement of the same object re-drove it already.
		log.Info("re-drive: the deferred delivery is gone (re-driven or discarded)")
		return httpapi.ReplyError(404, "not_found", "no deferred delivery with that key")
	}
	if err != nil {
		log.Error("re-drive: deferred delivery unreadable", "error", err)
		return httpapi.ReplyRetryLater("the deferred delivery could not be read; retry later")
	}
	if r.Webhook != e.webhook {
		return wrongFunction(r.Webhook)
	}
	age := e.now().Sub(r.QuarantinedAt)
	metrics.MarkRedrive(ctx, age)
	if place == quarantine.DeferredPrefix && e.redrive.Retention > 0 && age > e.redrive.Retention {
		return e.deadLetter(ctx, log, key, r, Reject(200, retentionExceeded, "the delivery could not be re-driven within the retention"))
	}
	if r.Account != "" {
		ctx = account.With(ctx, r.Account)
	}
	ctx = withDeferral(ctx, eventbus.Deferral{ReceivedAt: r.QuarantinedAt})
	log.Info("re-driving deferred delivery", "ageSeconds", int64(age.Seconds()))
	resp := e.handle(ctx, r.Request, true)
	switch {
	case retryable(resp.StatusCode):
		return resp
	case resp.StatusCode >= 300 && place == quarantine.DeferredPrefix:
		// Refused for good at re-drive time (the function's settings changed since): a person
		// decides, so it is kept where people look.
		return e.deadLetter(ctx, log, key, r, &Rejection{Status: resp.StatusCode, Code: resp.Code, Message: "the function refused the delivery at re-drive time"})
	case resp.StatusCode >= 300:
		return resp
	}
	if err := e.redrive.Store.Delete(ctx, key); err != nil {
		// Processed; the next attempt finds it a duplicate and deletes it.
		log.Error("re-drive: processed, but the deferred delivery could not be deleted", "error", err)
		return httpapi.ReplyRetryLater("the deferred delivery was processed but not deleted; retry later")
	}
	return resp
}

// deadLetter moves the deferred record under key to the dead-letter place, for why.
func (e *entryPoint) deadLetter(ctx context.Context, log *slog.Logger, key string, r quarantine.Record, why *Rejection) httpapi.Reply {
	dead := quarantine.DeadPrefix + strings.TrimPrefix(key, quarantine.DeferredPrefix)
	r.Reason, r.Message = why.Code, why.Message
	if err := e.redrive.Store.PutAt(ctx, dead, r); err != nil {
		log.Error("re-drive: dead-letter place unavailable", "error", err)
		return httpapi.ReplyRetryLater("the deferred delivery could not be moved; retry later")
	}
	if err := e.redrive.Store.Delete(ctx, key); err != nil {
		log.Error("re-drive: moved, but the deferred delivery could not be deleted", "deadKey", dead, "error", err)
		return httpapi.ReplyRetryLater("the deferred delivery could not be moved; retry later")
	}
	log.Error("deferred delivery moved to the dead-letter place", "deadKey", dead, "reason", why.Code, "status", why.Status)
	return httpapi.ReplyJSON(200, map[string]any{"status": "dead_lettered", "error": why.Code, "message": why.Message, "deadKey": dead}, "dead_lettered", why.Code)
}
