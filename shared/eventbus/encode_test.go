package eventbus

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
)

type capture struct{ in []*eventbridge.PutEventsInput }

func (c *capture) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	c.in = append(c.in, in)
	return &eventbridge.PutEventsOutput{}, nil
}

// TestEachEntryCarriesTheEventAndJSONMarshalsDetail: each entry carries the event's fields and
// json.Marshal's detail byte for byte (HTML-escaped, no newline), though the detail is no longer
// copied from it.
func TestEachEntryCarriesTheEventAndJSONMarshalsDetail(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	evs := []Event{
		{Source: "gw.shipping", DetailType: "OTP", Time: at, Resources: []string{"r1"}, Detail: map[string]any{"html": "<a&b>", "u": "\u2028é", "n": 1.5, "t": at}},
		{Source: "gw.aps", DetailType: "Feedback", Detail: struct {
			A string `json:"a"`
			B []int  `json:"b,omitempty"`
		}{A: "x"}},
	}
	c := &capture{}
	if err := New(c, "bus", 1, 0).Publish(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if len(c.in) != 1 || len(c.in[0].Entries) != len(evs) {
		t.Fatalf("calls %v", c.in)
	}
	for i, e := range c.in[0].Entries {
		want, _ := json.Marshal(evs[i].Detail)
		if *e.Detail != string(want) || *e.Source != evs[i].Source || *e.DetailType != evs[i].DetailType || *e.EventBusName != "bus" || len(e.Resources) != len(evs[i].Resources) {
			t.Errorf("entry %d: %s %s %s %v, want detail %s", i, *e.Source, *e.DetailType, *e.Detail, e.Resources, want)
		}
		if (e.Time != nil) != !evs[i].Time.IsZero() || e.Time != nil && !e.Time.Equal(at) {
			t.Errorf("entry %d: time %v", i, e.Time)
		}
	}
	if _, err := encodeDetail(func() {}); err == nil {
		t.Error("a detail json.Marshal refuses was encoded")
	}
}
