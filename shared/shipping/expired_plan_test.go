package shipping_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/auth"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
)

// planned is what the Steps make of one delivery received at received, with the real store's
// writes (built, not sent: the store only calls DynamoDB after a refusal): the items the
// transaction would put and the events the work would publish, encoded.
type planned struct {
	puts   []map[string]types.AttributeValue
	events []plannedEvent
	// partly is the field of the first entry quarantined while the others went through ("").
	partly string
}

type plannedEvent struct {
	detailType string
	detail     string
}

func plan(t testing.TB, body string, received time.Time) (*planned, error) {
	t.Helper()
	steps := &shipping.Steps{OTPs: otpstore.New(nil, "otps", nil), IncludeOTP: true, Now: func() time.Time { return received }}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	req := &events.APIGatewayV2HTTPRequest{Body: body, Headers: map[string]string{"content-type": "application/json"}}
	d, err := steps.Plan(context.Background(), log, req, auth.Identity{}, false)
	if err != nil {
		return nil, err
	}
	p := &planned{}
	if d.Partly != nil {
		p.partly = d.Partly.Field
	}
	for _, w := range d.Writes {
		p.puts = append(p.puts, w.Put.Item)
	}
	evs, err := d.Work(context.Background(), log)
	if err != nil {
		t.Fatalf("work: %v", err)
	}
	for _, ev := range evs {
		b, err := json.Marshal(ev.Detail)
		if err != nil {
			t.Fatal(err)
		}
		p.events = append(p.events, plannedEvent{ev.DetailType, string(b)})
	}
	return p, nil
}

func pnEvent(at time.Time, entries ...string) string {
	return `{"version":"0","id":"d-1","detail-type":"PN Event","source":"AmazonShipping","account":"474668380910","time":"` +
		at.UTC().Format(time.RFC3339) + `","detail":[` + strings.Join(entries, ",") + `]}`
}

func pinEntry(trackingID, code string, ttl int64) string {
	return `{"trackingId":"` + trackingID + `","alternateLegTrackingId":"R-` + trackingID + `","verificationCode":"` + code +
		`","verificationCodeTTL":` + strconv.FormatInt(ttl, 10) + `,"eventCode":"PIN_GENERATED"}`
}

// An OTP is expired on arrival when its verificationCodeTTL is not later than the receipt, to the
// millisecond: it is written only as a codeless audit item and announced without its code, even
// though this deployment includes codes in events.
func TestOTPExpiryIsJudgedAtReceiptToTheMillisecond(t *testing.T) {
	received := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	ms := received.UnixMilli()
	tests := []struct {
		name        string
		ttl         int64
		wantExpired bool
	}{
		{"expired a day before", ms - 86_400_000, true},
		{"expired a millisecond before", ms - 1, true},
		{"expires at the receipt", ms, true},
		{"expires a millisecond after", ms + 1, false},
		{"expires in 7 days, the bound", ms + 7*86_400_000, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := plan(t, pnEvent(received, pinEntry("T1", "482913", tc.ttl)), received)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.puts) != 1 || len(p.events) != 1 {
				t.Fatalf("%d puts and %d events, want one of each", len(p.puts), len(p.events))
			}
			item, ev := p.puts[0], p.events[0]
			key := item[otpstore.KeyAttribute].(*types.AttributeValueMemberS).Value
			_, hasCode := item["verificationCode"]
			_, inIndex := item[otpstore.AlternateAttribute]
			codeInEvent := strings.Contains(ev.detail, "482913")
			if tc.wantExpired {
				if key != otpstore.ExpiredKey(account.Default, "T1") || hasCode || inIndex || ev.detailType != shipping.DetailTypeOTPExpired || codeInEvent ||
					!strings.Contains(ev.detail, `"verificationCodeIncluded":false`) {
					t.Errorf("expired OTP: key %q, code stored %v, indexed %v, event %s %s", key, hasCode, inIndex, ev.detailType, ev.detail)
				}
				if !strings.Contains(ev.detail, `"idempotencyKey":"shipping:d-1:T1"`) || !strings.Contains(ev.detail, `"receivedAt":"2026-11-27T10:00:00Z"`) {
					t.Errorf("metadata: %s", ev.detail)
				}
				return
			}
			if key != "T1" || !hasCode || !inIndex || ev.detailType != shipping.DetailTypeOTP || !codeInEvent {
				t.Errorf("usable OTP: key %q, code stored %v, indexed %v, event %s %s", key, hasCode, inIndex, ev.detailType, ev.detail)
			}
		})
	}
}

// No tracking ID reaches an audit item: one in the audit items' key space, old or new, or naming
// another account's, is quarantined with its entry, and the delivery's other entries go through.
func TestATrackingIDThatCannotBeAmazonsIsQuarantined(t *testing.T) {
	received := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for _, id := range []string{
		otpstore.ExpiredKey(account.Default, "T1"), otpstore.LegacyExpiredKeyPrefix + "T1", "EXPIRED-ON-ARRIVAL#T1",
		"eu#T1", `T1\u0000`, `T\n1`, // JSON escapes of control characters (outer spaces are trimmed)
	} {
		t.Run(id, func(t *testing.T) {
			body := pnEvent(received,
				pinEntry("T1", "111111", received.Add(-time.Hour).UnixMilli()),
				pinEntry(id, "222222", received.Add(time.Hour).UnixMilli()))
			p, err := plan(t, body, received)
			if err != nil {
				t.Fatal(err)
			}
			if p.partly != "detail[1].trackingId" {
				t.Errorf("quarantined field %q, want detail[1].trackingId", p.partly)
			}
			if len(p.puts) != 1 || p.puts[0][otpstore.KeyAttribute].(*types.AttributeValueMemberS).Value != otpstore.ExpiredKey(account.Default, "T1") {
				t.Fatalf("puts %v, want T1's audit item alone", p.puts)
			}
			if len(p.events) != 1 || p.events[0].detailType != shipping.DetailTypeOTPExpired || strings.Contains(p.events[0].detail, "222222") {
				t.Errorf("events %v, want T1's expiry alone", p.events)
			}
		})
	}
}
