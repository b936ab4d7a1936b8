package quarantine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// memory is a record store in memory: the keeper's logic is tested here, the S3 store against moto.
type memory struct {
	records map[string]Record
	err     error
}

func (m *memory) PutAt(_ context.Context, key string, r Record) error {
	if m.err != nil {
		return m.err
	}
	if m.records == nil {
		m.records = map[string]Record{}
	}
	m.records[key] = r
	return nil
}

func (m *memory) Get(_ context.Context, key string) (Record, error) {
	if m.err != nil {
		return Record{}, m.err
	}
	r, ok := m.records[key]
	if !ok {
		return r, ErrNotFound
	}
	return r, nil
}

func delivery() events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{
		RawPath:        "/shipping/notifications",
		RawQueryString: "api_key=query-secret&tenant=eu",
		QueryStringParameters: map[string]string{
			"api_key": "query-secret", "tenant": "eu",
		},
		Headers: map[string]string{
			"Content-Type": "application/json", "X-Custom-Key": "header-secret", "Authorization": "Basic c2VjcmV0",
			"cookie": "session=secret", "user-agent": "Amazon",
		},
		Cookies: []string{"session=secret"},
		Body:    `{"id":"1"}`,
	}
	req.RequestContext.HTTP.Method = "POST"
	return req
}

func TestKeepStoresTheDeliveryWithoutCredentials(t *testing.T) {
	store := &memory{}
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	k := &Keeper{Store: store, Webhook: "shipping", Function: "fn", SecretHeaders: []string{"x-custom-key"}, SecretQuery: []string{"api_key"}, Now: func() time.Time { return at }}
	var logs bytes.Buffer
	req := delivery()
	resp := k.Keep(context.Background(), slog.New(slog.NewJSONHandler(&logs, nil)), &req, Reason{Error: "invalid_payload", Field: "detail.trackingId", Message: "detail.trackingId: is required"}, false)

	if resp.StatusCode != 202 {
		t.Fatalf("status %d, want 202", resp.StatusCode)
	}
	var answer Answer
	if err := json.Unmarshal([]byte(resp.Body), &answer); err != nil {
		t.Fatal(err)
	}
	if answer.Status != "quarantined" || answer.Error != "invalid_payload" || answer.Field != "detail.trackingId" || answer.QuarantineKey != Key("shipping", &req) {
		t.Errorf("answer = %+v", answer)
	}
	r := store.records[answer.QuarantineKey]
	if r.Reason != "invalid_payload" || r.Field != "detail.trackingId" || r.Function != "fn" || r.Webhook != "shipping" || !r.QuarantinedAt.Equal(at) {
		t.Errorf("record = %+v", r)
	}
	if r.Request.Body != req.Body || r.Request.RawPath != req.RawPath || r.Request.RequestContext.HTTP.Method != "POST" {
		t.Errorf("the delivery is not kept whole: %+v", r.Request)
	}
	b, _ := json.Marshal(r)
	for _, secret := range []string{"header-secret", "query-secret", "c2VjcmV0", "session=secret"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the record keeps the credential %q: %s", secret, b)
		}
	}
	if r.Request.Headers["user-agent"] != "Amazon" || r.Request.QueryStringParameters["tenant"] != "eu" || r.Request.RawQueryString != "tenant=eu" {
		t.Errorf("non-credential parts were dropped: %+v", r.Request)
	}
	if req.Headers["Authorization"] == "" || req.QueryStringParameters["api_key"] == "" {
		t.Error("Keep modified the caller's request")
	}
	if !strings.Contains(logs.String(), `"msg":"delivery quarantined"`) || strings.Contains(logs.String(), req.Body) {
		t.Errorf("log: %s", logs.String())
	}
}

func TestKeepAnswers503WhenTheQuarantineIsUnavailable(t *testing.T) {
	k := &Keeper{Store: &memory{err: errors.New("s3: arn:aws:s3:::bucket access denied")}, Webhook: "aps"}
	req := delivery()
	resp := k.Keep(context.Background(), slog.New(slog.DiscardHandler), &req, Reason{Error: "invalid_payload", Field: "status", Message: "status: is required"}, false)
	if resp.StatusCode != 503 || resp.Headers["Retry-After"] == "" {
		t.Fatalf("got %d %v: the sender must keep the delivery", resp.StatusCode, resp.Headers)
	}
	if strings.Contains(resp.Body, "arn:") {
		t.Errorf("the answer leaks the cause: %s", resp.Body)
	}
}

func TestRetriedDeliveriesShareOneRecord(t *testing.T) {
	a, b := delivery(), delivery()
	b.Headers = map[string]string{"x-amzn-trace-id": "another attempt"}
	if Key("shipping", &a) != Key("shipping", &b) {
		t.Error("a retry of the same delivery gets another key")
	}
	c := delivery()
	c.RawPath = "/aps/transaction-feedback"
	d := delivery()
	d.Body += " "
	for _, other := range []events.APIGatewayV2HTTPRequest{c, d} {
		if Key("shipping", &a) == Key("shipping", &other) {
			t.Errorf("different deliveries share a key: %s %q", other.RawPath, other.Body)
		}
	}
	if !strings.HasPrefix(Key("amazon-pay", &a), Prefix+"amazon-pay/") {
		t.Errorf("key %s is not under its webhook", Key("amazon-pay", &a))
	}
}
