// Package eventbus publishes normalised events to the gateway's Amazon EventBridge bus.
package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
)

// ErrNotPublished wraps a failure to get every event onto the bus; the caller answers 5xx so the
// sender retries.
var ErrNotPublished = errors.New("eventbus: events not published")

// maxBatch is PutEvents' limit on entries per call.
const maxBatch = 10

// batchConcurrency bounds the PutEvents calls in flight for one Publish.
const batchConcurrency = 5

// Event is one event to publish. Detail is encoded as JSON.
type Event struct {
	Source     string
	DetailType string
	Time       time.Time
	Resources  []string
	Detail     any
}

type putter interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Publisher sends events to one bus, retrying entries that fail.
type Publisher struct {
	client        putter
	bus           string
	attempts      int
	backoff       time.Duration
	payloads      payloadWriter
	maxEntryBytes int
}

// New returns a publisher to bus. PutEvents answers 200 even when some entries fail, so failed
// entries are retried up to attempts times in all, with jittered exponential backoff from backoff.
func New(client putter, bus string, attempts int, backoff time.Duration) *Publisher {
	if attempts < 1 {
		attempts = 1
	}
	return &Publisher{client: client, bus: bus, attempts: attempts, backoff: backoff, maxEntryBytes: MaxEntryBytes}
}

// OffloadTo makes the publisher store the detail of an event larger than MaxEntryBytes in w and
// publish a reduced event pointing to it (see OffloadedPayload), instead of failing.
func (p *Publisher) OffloadTo(w payloadWriter) *Publisher {
	p.payloads = w
	return p
}

// Publish sends every event or returns an error wrapping ErrNotPublished. Events already accepted
// stay on the bus: a retry of the whole delivery may emit them again, with the same idempotency key.
func (p *Publisher) Publish(ctx context.Context, evs []Event) error {
	entries := make([]types.PutEventsRequestEntry, 0, len(evs))
	details := make([]string, len(evs))
	for i := range evs {
		// The entries point into evs and details: the SDK only reads them, within this call.
		e := &evs[i]
		detail, err := encodeDetail(e.Detail)
		if err != nil {
			return fmt.Errorf("%w: encoding %s detail: %w", ErrNotPublished, e.DetailType, err)
		}
		if entrySize(e.Source, e.DetailType, detail, e.Resources, !e.Time.IsZero()) > p.maxEntryBytes {
			reduced, err := p.reduce(ctx, *e, []byte(detail))
			if err != nil {
				return err
			}
			detail = string(reduced)
		}
		details[i] = detail
		entry := types.PutEventsRequestEntry{
			EventBusName: &p.bus,
			Source:       &e.Source,
			DetailType:   &e.DetailType,
			Detail:       &details[i],
			Resources:    e.Resources,
		}
		if !e.Time.IsZero() {
			entry.Time = &e.Time
		}
		entries = append(entries, entry)
	}
	// Batches go out concurrently (bounded): a large accumulated delivery must fit in the
	// function's few seconds. The first failure is reported; the other batches still finish.
	switch {
	case len(entries) == 0:
		return nil
	case len(entries) <= maxBatch:
		// One batch: no goroutine for it.
		return p.putBatch(ctx, entries)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, batchConcurrency)
	errs := make([]error, (len(entries)+maxBatch-1)/maxBatch)
	for b := range errs {
		batch := entries[b*maxBatch : min((b+1)*maxBatch, len(entries))]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[b] = p.putBatch(ctx, batch)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// encodeDetail is json.Marshal(v) as a string, encoded straight into it rather than copied
// from the []byte json.Marshal returns.
func encodeDetail(v any) (string, error) {
	var sb strings.Builder
	if err := json.NewEncoder(&sb).Encode(v); err != nil {
		return "", err
	}
	s := sb.String()
	return s[:len(s)-1], nil // the Encoder's newline
}

func (p *Publisher) putBatch(ctx context.Context, pending []types.PutEventsRequestEntry) error {
	var lastCode string
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			metrics.Add(ctx, metrics.PublishRetry, 1)
		}
		out, err := p.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: pending})
		if err != nil {
			// The SDK has already retried throttling and 5xx answers for the whole call.
			return fmt.Errorf("%w: %w", ErrNotPublished, err)
		}
		metrics.Add(ctx, metrics.EventPublished, len(pending)-int(min(max(out.FailedEntryCount, 0), int32(len(pending)))))
		if out.FailedEntryCount == 0 {
			return nil
		}
		// Entries come back in request order; keep those that failed.
		var failed []types.PutEventsRequestEntry
		for i, r := range out.Entries {
			if r.ErrorCode != nil && i < len(pending) {
				failed = append(failed, pending[i])
				lastCode = *r.ErrorCode
			}
		}
		if len(failed) == 0 { // FailedEntryCount without marked entries: retry the batch as is
			failed = pending
		}
		pending = failed
		if attempt >= p.attempts {
			return fmt.Errorf("%w: %d of the entries failed after %d attempts (last error code %s)", ErrNotPublished, len(pending), attempt, lastCode)
		}
		if err := sleep(ctx, p.backoff<<(attempt-1)); err != nil {
			return fmt.Errorf("%w: %d entries pending: %w", ErrNotPublished, len(pending), err)
		}
	}
}

// sleep waits d with full jitter, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(rand.N(d) + 1)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
