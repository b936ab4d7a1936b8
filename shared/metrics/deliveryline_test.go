package metrics

import (
	"bytes"
	"math"
	"testing"
	"time"
)

// viaObject is the line Write(d.Object(…)) writes: the map encoding that WriteDelivery replaces.
func viaObject(d *Delivery, webhook string, at time.Time, a Answer, latency time.Duration) ([]byte, error) {
	var out bytes.Buffer
	o := d.Object(webhook, at, a, latency)
	if err := o.Validate(); err != nil {
		return nil, err
	}
	b, err := marshalViaMap(o)
	if err != nil {
		return nil, err
	}
	out.Write(b)
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func viaWriteDelivery(d *Delivery, webhook string, at time.Time, a Answer, latency time.Duration) ([]byte, error) {
	var out bytes.Buffer
	err := NewWriter(&out).WriteDelivery(d, webhook, at, a, latency)
	return out.Bytes(), err
}

// TestIssue13_DeliveryLineUnchanged: WriteDelivery writes the bytes json.Marshal writes for the
// delivery's object as a map, for every kind of answer, counts and latency.
func TestIssue13_DeliveryLineUnchanged(t *testing.T) {
	at := time.UnixMilli(1764201600123)
	tests := []struct {
		name    string
		webhook string
		answer  Answer
		counts  [numCounters]int64
		replay  bool
		latency time.Duration
		wantErr bool
	}{
		{name: "accepted", webhook: "shipping", answer: Answer{Status: 200, BodyStatus: "accepted"}, counts: [numCounters]int64{1, 0, 2, 0}, latency: 1234567 * time.Nanosecond},
		{name: "duplicate replay", webhook: "aps", answer: Answer{Status: 200, BodyStatus: "duplicate"}, replay: true, latency: time.Microsecond},
		{name: "quarantined", webhook: "amazon-pay", answer: Answer{Status: 202, BodyStatus: "quarantined", Error: "invalid_payload"}, counts: [numCounters]int64{0, 3, 0, 7}, latency: 3 * time.Second},
		{name: "unknown code", webhook: "shipping", answer: Answer{Status: 400, Error: "new <code>"}, latency: 0},
		{name: "no answer", webhook: "shipping", answer: Answer{Status: 500}, latency: 10 * time.Nanosecond},
		{name: "huge numbers", webhook: "shipping", answer: Answer{Status: 503, Error: "temporarily_unavailable"}, counts: [numCounters]int64{math.MaxInt64, math.MinInt64, -1, 1}, latency: math.MaxInt64},
		{name: "negative latency", webhook: "shipping", answer: Answer{Status: 429, Error: "in_progress"}, latency: -1500 * time.Microsecond},
		{name: "webhook with quotes", webhook: `a"b<c>&`, answer: Answer{Status: 200}},
		{name: "empty webhook", webhook: "", answer: Answer{Status: 200}, wantErr: true},
		{name: "non-ASCII webhook", webhook: "é", answer: Answer{Status: 200}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &Delivery{}
			for c, n := range tc.counts {
				d.counts[c].Store(n)
			}
			d.replay.Store(tc.replay)
			want, werr := viaObject(d, tc.webhook, at, tc.answer, tc.latency)
			got, gerr := viaWriteDelivery(d, tc.webhook, at, tc.answer, tc.latency)
			if (werr != nil) != tc.wantErr || (gerr != nil) != tc.wantErr {
				t.Fatalf("errors %v and %v, want an error: %v", gerr, werr, tc.wantErr)
			}
			if string(got) != string(want) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}

// FuzzDeliveryLine: for any delivery, WriteDelivery writes what json.Marshal of the object's map
// writes, and fails where that object is invalid.
func FuzzDeliveryLine(f *testing.F) {
	f.Add("shipping", 200, "accepted", "", int64(1), int64(0), int64(2), int64(0), int64(1234567), int64(1764201600123), false)
	f.Add("aps", 202, "quarantined", "invalid_payload", int64(0), int64(5), int64(0), int64(3), int64(999), int64(1), true)
	f.Add("x\"<", 503, "", "temporarily_unavailable", int64(-1), int64(0), int64(0), int64(0), int64(-7), int64(0), false)
	f.Fuzz(func(t *testing.T, webhook string, status int, bodyStatus, code string, c0, c1, c2, c3, latency, ms int64, replay bool) {
		d := &Delivery{}
		for c, n := range []int64{c0, c1, c2, c3} {
			d.counts[c].Store(n)
		}
		d.replay.Store(replay)
		at, a := time.UnixMilli(ms), Answer{Status: status, BodyStatus: bodyStatus, Error: code}
		want, werr := viaObject(d, webhook, at, a, time.Duration(latency))
		got, gerr := viaWriteDelivery(d, webhook, at, a, time.Duration(latency))
		if (werr == nil) != (gerr == nil) || string(got) != string(want) {
			t.Fatalf("got %s, %v; want %s, %v", got, gerr, want, werr)
		}
	})
}
