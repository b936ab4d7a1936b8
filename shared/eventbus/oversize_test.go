package eventbus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
)

type payloadMap struct {
	stored map[string][]byte
	err    error
}

func (p *payloadMap) PutPayload(_ context.Context, key string, body []byte) (string, error) {
	if p.err != nil {
		return "", p.err
	}
	if p.stored == nil {
		p.stored = map[string][]byte{}
	}
	p.stored[key] = body
	return "s3://bucket/" + key, nil
}

type bigDetail struct {
	Metadata map[string]string `json:"metadata"`
	Data     map[string]any    `json:"data"`
}

func oversized(size int) Event {
	return Event{Source: "amazon-webhook-gateway.amazon-pay", DetailType: "Amazon Pay IPN", Resources: []string{"arn:topic"}, Detail: bigDetail{
		Metadata: map[string]string{"idempotencyKey": "amazonpay:m-1", "schemaVersion": "1"},
		Data: map[string]any{
			"kind": "charge", "objectId": "C1", "amount": 12.5, "captured": true,
			"message": map[string]string{"blob": strings.Repeat("x", size)}, // an object: dropped
			"note":    strings.Repeat("y", 2000),                            // a long string: dropped
			"list":    []int{1, 2},                                          // an array: dropped
		},
	}}
}

func TestOversizedEventsAreOffloadedAndReduced(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		reduced bool
	}{
		{"small event untouched", 1000, false},
		{"just under the budget untouched", MaxEntryBytes - 3000, false},
		{"over the budget reduced", MaxEntryBytes, true},
		{"over EventBridge's 1 MB reduced", 2 << 20, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got *eventbridge.PutEventsInput
			store := &payloadMap{}
			p := New(putFunc(func(in *eventbridge.PutEventsInput) { got = in }), "bus", 1, 0).OffloadTo(store)
			ev := oversized(tc.size)
			if err := p.Publish(context.Background(), []Event{ev}); err != nil {
				t.Fatal(err)
			}
			e := got.Entries[0]
			full, _ := json.Marshal(ev.Detail)
			size := entrySize(*e.Source, *e.DetailType, *e.Detail, e.Resources, e.Time != nil)
			if size > MaxEntryBytes {
				t.Fatalf("published entry is %d bytes, over the %d budget", size, MaxEntryBytes)
			}
			if !tc.reduced {
				if *e.Detail != string(full) || len(store.stored) != 0 {
					t.Fatalf("a fitting event was changed or offloaded")
				}
				return
			}
			var detail struct {
				Offloaded OffloadedPayload  `json:"offloadedPayload"`
				Metadata  map[string]string `json:"metadata"`
				Data      map[string]any    `json:"data"`
			}
			if err := json.Unmarshal([]byte(*e.Detail), &detail); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(full)
			key := strings.TrimPrefix(detail.Offloaded.Location, "s3://bucket/")
			if string(store.stored[key]) != string(full) || detail.Offloaded.Bytes != len(full) || detail.Offloaded.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("pointer %+v does not lead to the full detail", detail.Offloaded)
			}
			if !strings.HasPrefix(key, "oversized/amazon-webhook-gateway.amazon-pay/") {
				t.Errorf("key %s", key)
			}
			if detail.Metadata["idempotencyKey"] != "amazonpay:m-1" {
				t.Errorf("metadata lost: %v", detail.Metadata)
			}
			want := map[string]any{"kind": "charge", "objectId": "C1", "amount": 12.5, "captured": true}
			if len(detail.Data) != len(want) {
				t.Errorf("data = %v, want the scalar fields %v", detail.Data, want)
			}
			for k, v := range want {
				if detail.Data[k] != v {
					t.Errorf("data[%s] = %v, want %v", k, detail.Data[k], v)
				}
			}
			if *e.Source != ev.Source || *e.DetailType != ev.DetailType || e.Resources[0] != "arn:topic" {
				t.Errorf("envelope changed: %+v", e)
			}
		})
	}
}

func TestOversizedEventIsNeverDropped(t *testing.T) {
	for name, p := range map[string]*Publisher{
		"no payload store":      New(putFunc(func(*eventbridge.PutEventsInput) { t.Error("published without its payload") }), "bus", 1, 0),
		"payload store failing": New(putFunc(func(*eventbridge.PutEventsInput) { t.Error("published without its payload") }), "bus", 1, 0).OffloadTo(&payloadMap{err: errors.New("s3 down")}),
	} {
		t.Run(name, func(t *testing.T) {
			if err := p.Publish(context.Background(), []Event{oversized(MaxEntryBytes)}); !errors.Is(err, ErrNotPublished) {
				t.Fatalf("err = %v, want ErrNotPublished (the sender retries)", err)
			}
		})
	}
}
