package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
)

// records is a quarantine in memory: the pipeline's logic is tested here, the S3 store against moto.
type records struct {
	kept map[string]quarantine.Record
	err  error
	gets int
}

func (m *records) PutAt(_ context.Context, key string, r quarantine.Record) error {
	if m.err != nil {
		return m.err
	}
	if m.kept == nil {
		m.kept = map[string]quarantine.Record{}
	}
	m.kept[key] = r
	return nil
}

// Put keeps r under its quarantine key, as a quarantined delivery is.
func (m *records) Put(ctx context.Context, r quarantine.Record) (string, error) {
	key := quarantine.Key(r.Webhook, &r.Request)
	return key, m.PutAt(ctx, key, r)
}

func (m *records) Delete(_ context.Context, key string) error {
	if m.err != nil {
		return m.err
	}
	delete(m.kept, key)
	return nil
}

func (m *records) Get(_ context.Context, key string) (quarantine.Record, error) {
	m.gets++
	if m.err != nil {
		return quarantine.Record{}, m.err
	}
	r, ok := m.kept[key]
	if !ok {
		return r, quarantine.ErrNotFound
	}
	return r, nil
}

func request() events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{
		RawPath: "/shipping/notifications",
		Headers: map[string]string{"Content-Type": "application/json", "user-agent": "Amazon"},
		Body:    `{"id":"1"}`,
	}
	req.RequestContext.HTTP.Method = "POST"
	return req
}

func TestEntryRoutesRequestsAndReplays(t *testing.T) {
	store := &records{}
	req := request()
	key, _ := store.Put(context.Background(), quarantine.Record{Webhook: "shipping", Request: req})
	otherKey, _ := store.Put(context.Background(), quarantine.Record{Webhook: "aps", Request: events.APIGatewayV2HTTPRequest{RawPath: "/aps/x"}})

	var got struct {
		replay bool
		req    events.APIGatewayV2HTTPRequest
		calls  int
	}
	entry := entry(store, "shipping", slog.New(slog.DiscardHandler), func(ctx context.Context, r events.APIGatewayV2HTTPRequest, replay bool) httpapi.Reply {
		got.replay, got.req = replay, r
		got.calls++
		return httpapi.ReplyJSON(200, nil, "", "")
	})
	invoke := func(payload string) events.APIGatewayV2HTTPResponse {
		t.Helper()
		got.calls = 0
		resp, err := entry(context.Background(), json.RawMessage(payload))
		if err != nil {
			t.Fatal(err)
		}
		return resp.APIGatewayV2HTTPResponse
	}

	apiReq, _ := json.Marshal(req)
	if resp := invoke(string(apiReq)); resp.StatusCode != 200 || got.replay || got.req.Body != req.Body {
		t.Errorf("API Gateway request: %d replay=%v", resp.StatusCode, got.replay)
	}
	if resp := invoke(`{"quarantineReplay":{"key":"` + key + `"}}`); resp.StatusCode != 200 || !got.replay || got.req.Body != req.Body {
		t.Errorf("replay: %d replay=%v body=%q", resp.StatusCode, got.replay, got.req.Body)
	}
	if resp := invoke(`{"quarantineReplay":{"key":"quarantine/shipping/nope.json"}}`); resp.StatusCode != 404 || got.calls != 0 {
		t.Errorf("unknown key: %d, handler called %d times", resp.StatusCode, got.calls)
	}
	store.err = errors.New("s3: SlowDown")
	if resp := invoke(`{"quarantineReplay":{"key":"` + key + `"}}`); resp.StatusCode != 503 || got.calls != 0 {
		t.Errorf("bucket unavailable: %d, handler called %d times; want 503", resp.StatusCode, got.calls)
	}
	store.err = nil
	if resp := invoke(`{"quarantineReplay":{"key":"` + otherKey + `"}}`); resp.StatusCode != 409 || got.calls != 0 {
		t.Errorf("another webhook's delivery: %d, handler called %d times", resp.StatusCode, got.calls)
	}
	// A body cannot become a replay order: only the invocation's top level is read.
	body := request()
	body.Body = `{"quarantineReplay":{"key":"` + key + `"}}`
	b, _ := json.Marshal(body)
	if invoke(string(b)); got.replay {
		t.Error("a request body was taken for a replay order")
	}
	if _, err := entry(context.Background(), json.RawMessage(`[`)); err == nil {
		t.Error("a payload that is not JSON was accepted")
	}
}

// Each function's role may read only quarantine/<its webhook>/. A replay order naming another
// webhook's delivery is answered 409 without reading it: the read would be denied in AWS and
// answered 503 ("retry later"), sending the operator after a fault that is not there.
func TestAReplayOfAnotherWebhooksDeliveryIsRefusedWithoutReadingIt(t *testing.T) {
	store := &records{}
	own, _ := store.Put(context.Background(), quarantine.Record{Webhook: "shipping", Request: request()})
	other, _ := store.Put(context.Background(), quarantine.Record{Webhook: "aps", Request: events.APIGatewayV2HTTPRequest{RawPath: "/aps/transaction-feedback"}})
	for _, tc := range []struct {
		name      string
		key       string
		status    int
		wantReads int
	}{
		{"own webhook", own, 200, 1},
		{"another webhook", other, 409, 0},
		{"another webhook, no such delivery", quarantine.WebhookPrefix("amazon-pay") + "nope.json", 409, 0},
		{"own webhook, no such delivery", quarantine.WebhookPrefix("shipping") + "nope.json", 404, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store.gets = 0
			handled := 0
			entry := entry(store, "shipping", slog.New(slog.DiscardHandler), func(context.Context, events.APIGatewayV2HTTPRequest, bool) httpapi.Reply {
				handled++
				return httpapi.ReplyJSON(200, nil, "", "")
			})
			order, _ := json.Marshal(map[string]Replay{"quarantineReplay": {Key: tc.key}})
			resp, err := entry(context.Background(), order)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || store.gets != tc.wantReads {
				t.Errorf("got %d after %d reads, want %d after %d: %s", resp.StatusCode, store.gets, tc.status, tc.wantReads, resp.Body)
			}
			if tc.status != 200 && handled != 0 {
				t.Error("the handler ran")
			}
		})
	}
}

// TestEntryHandsEachSampleEventOnAsEncodingJSONReadsIt: every sample event, shaped as API Gateway
// sends it, reaches the handler as a request (not a replay) exactly as json.Unmarshal reads it.
func TestEntryHandsEachSampleEventOnAsEncodingJSONReadsIt(t *testing.T) {
	paths, err := filepath.Glob("../../events/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no sample events: %v", err)
	}
	for _, p := range paths {
		if filepath.Base(p) == "env.json" {
			continue
		}
		t.Run(filepath.Base(p), func(t *testing.T) {
			payload, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var got events.APIGatewayV2HTTPRequest
			calls := 0
			entry := entry(&records{}, "shipping", slog.New(slog.DiscardHandler), func(_ context.Context, r events.APIGatewayV2HTTPRequest, replay bool) httpapi.Reply {
				got, calls = r, calls+1
				if replay {
					t.Error("handed on as a replay")
				}
				return httpapi.ReplyJSON(200, nil, "", "")
			})
			if _, err := entry(context.Background(), payload); err != nil || calls != 1 {
				t.Fatalf("entry: %v, handler called %d times", err, calls)
			}
			var want events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(payload, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("handed\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// FuzzEntry: whatever the invocation payload, Entry never panics; it hands the handler either an
// API Gateway request (never as a replay), read exactly as json.Unmarshal reads it, or, only for a
// top-level replay order naming a record of this webhook, the record's request as a replay.
func FuzzEntry(f *testing.F) {
	for _, seed := range []string{
		`{"version":"2.0","rawPath":"/shipping/notifications","body":"{}"}`,
		`{"quarantineReplay":{"key":"quarantine/shipping/abc.json"}}`,
		`{"quarantineReplay":{"key":"quarantine/aps/abc.json"}}`,
		`{"quarantineReplay":null,"body":"x"}`,
		`{"body":"{\"quarantineReplay\":{\"key\":\"quarantine/shipping/abc.json\"}}"}`,
		`{"quarantineReplay":{}}`, `[]`, `null`, `"x"`, ``,
		// encoding/json's reading, whatever API Gateway would send: names in any case, the last of
		// a repeated name, null as absent, an authorizer.
		`{"version":"2.0","Body":"x"}`,
		`{"body":"x","body":"y"}`,
		`{"body":null,"headers":{"a":"1","a":"2"}}`,
		`{"requestContext":{"authorizer":{"iam":{}},"timeEpoch":-0,"http":{}}}`,
		`{"cookies":[],"headers":{},"body":"\u00e9\ud800","isBase64Encoded":true}`,
		`{"requestContext":{"timeEpoch":1.5}}`,
		`{"cookies":["a",null]}`,
	} {
		f.Add(seed)
	}
	store := &records{kept: map[string]quarantine.Record{
		"quarantine/shipping/abc.json": {Webhook: "shipping", Request: events.APIGatewayV2HTTPRequest{Body: "kept"}},
		"quarantine/aps/abc.json":      {Webhook: "aps", Request: events.APIGatewayV2HTTPRequest{Body: "other"}},
	}}
	f.Fuzz(func(t *testing.T, payload string) {
		var called, replayed bool
		var handed events.APIGatewayV2HTTPRequest
		entry := entry(store, "shipping", slog.New(slog.DiscardHandler), func(_ context.Context, r events.APIGatewayV2HTTPRequest, replay bool) httpapi.Reply {
			called, replayed, handed = true, replay, r
			return httpapi.ReplyJSON(200, nil, "", "")
		})
		_, _ = entry(context.Background(), json.RawMessage(payload))
		if called && !replayed {
			var want events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal([]byte(payload), &want); err != nil {
				t.Fatalf("handed on %q, which json.Unmarshal refuses: %v", payload, err)
			}
			if !reflect.DeepEqual(handed, want) {
				t.Fatalf("%q:\nhanded %+v\nwant   %+v", payload, handed, want)
			}
		}
		if !replayed {
			return
		}
		body := handed.Body
		var top map[string]json.RawMessage
		if err := json.Unmarshal([]byte(payload), &top); err != nil {
			t.Fatalf("replayed from a payload that is not an object: %q", payload)
		}
		// encoding/json matches keys case-insensitively: the order may be under any case.
		hasOrder := false
		for k := range top {
			hasOrder = hasOrder || strings.EqualFold(k, "quarantineReplay")
		}
		if !hasOrder || body != "kept" {
			t.Fatalf("replay from %q handed body %q", payload, body)
		}
	})
}

// entry is the entry point on store for webhook, handing deliveries to handle.
func entry(store *records, webhook string, log *slog.Logger, handle func(context.Context, events.APIGatewayV2HTTPRequest, bool) httpapi.Reply) entryFunc {
	return (&entryPoint{records: store, redrive: Redrive{Store: store}, webhook: webhook, log: log, now: time.Now, handle: handle}).serve
}
