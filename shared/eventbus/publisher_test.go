package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// script answers PutEvents calls: fail(call, detail) marks entries failed. It records calls.
type script struct {
	mu    sync.Mutex // Publish sends batches concurrently
	fail  func(call int, detail string) bool
	err   error
	calls [][]string
}

func (s *script) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	var details []string
	out := &eventbridge.PutEventsOutput{}
	for _, e := range in.Entries {
		details = append(details, *e.Detail)
		if s.fail != nil && s.fail(len(s.calls)+1, *e.Detail) {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, types.PutEventsResultEntry{ErrorCode: aws.String("ThrottlingException")})
		} else {
			out.Entries = append(out.Entries, types.PutEventsResultEntry{EventId: aws.String("id")})
		}
	}
	s.calls = append(s.calls, details)
	return out, nil
}

func evs(n int) []Event {
	var out []Event
	for i := range n {
		out = append(out, Event{Source: "s", DetailType: "t", Detail: map[string]int{"n": i}})
	}
	return out
}

func TestPublish(t *testing.T) {
	tests := []struct {
		name      string
		events    int
		fail      func(call int, detail string) bool
		wantErr   bool
		wantCalls []int // entries per call
	}{
		{"batches of ten", 23, nil, false, []int{3, 10, 10}},
		{"retries only the failed entries", 3, func(call int, d string) bool { return call == 1 && d == `{"n":1}` }, false, []int{3, 1}},
		{"gives up after the attempts", 2, func(_ int, d string) bool { return d == `{"n":0}` }, true, []int{2, 1, 1}},
		{"nothing to send", 0, nil, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{fail: tc.fail}
			err := New(s, "bus", 3, time.Millisecond).Publish(context.Background(), evs(tc.events))
			if tc.wantErr != (err != nil) || (err != nil && !errors.Is(err, ErrNotPublished)) {
				t.Fatalf("err = %v", err)
			}
			var got []int
			for _, c := range s.calls {
				got = append(got, len(c))
			}
			// Batches are concurrent: compare the sizes, not their order.
			slices.Sort(got)
			slices.Sort(tc.wantCalls)
			if fmt.Sprint(got) != fmt.Sprint(tc.wantCalls) {
				t.Errorf("entries per call = %v, want %v", got, tc.wantCalls)
			}
		})
	}
}

func TestPublishCallError(t *testing.T) {
	s := &script{err: errors.New("arn:aws:events:eu-west-1:123456789012:event-bus/x not reachable")}
	err := New(s, "bus", 3, time.Millisecond).Publish(context.Background(), evs(1))
	if !errors.Is(err, ErrNotPublished) {
		t.Fatalf("err = %v", err)
	}
}

func TestPublishStopsAtDeadline(t *testing.T) {
	s := &script{fail: func(int, string) bool { return true }}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := New(s, "bus", 5, time.Hour).Publish(ctx, evs(1))
	if !errors.Is(err, ErrNotPublished) || !errors.Is(err, context.Canceled) || len(s.calls) != 1 {
		t.Fatalf("err = %v after %d calls", err, len(s.calls))
	}
}

func TestEntryShape(t *testing.T) {
	var got *eventbridge.PutEventsInput
	p := New(putFunc(func(in *eventbridge.PutEventsInput) { got = in }), "my-bus", 1, 0)
	if err := p.Publish(context.Background(), []Event{{Source: "src", DetailType: "Thing Happened", Resources: []string{"r"}, Detail: map[string]string{"a": "b"}}}); err != nil {
		t.Fatal(err)
	}
	e := got.Entries[0]
	var detail map[string]string
	_ = json.Unmarshal([]byte(*e.Detail), &detail)
	if *e.EventBusName != "my-bus" || *e.Source != "src" || *e.DetailType != "Thing Happened" || detail["a"] != "b" || e.Resources[0] != "r" {
		t.Errorf("entry = %+v", e)
	}
}

type putFunc func(*eventbridge.PutEventsInput)

func (f putFunc) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f(in)
	return &eventbridge.PutEventsOutput{Entries: make([]types.PutEventsResultEntry, len(in.Entries))}, nil
}
