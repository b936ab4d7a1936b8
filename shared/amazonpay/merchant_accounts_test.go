package amazonpay

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
)

// A v2 message's MerchantID against its topic's account: a merchant of another account (or none,
// where the account has merchants) is quarantined as merchant_mismatch; an account without
// configured merchants, and an India message, are not checked. Every event names the account.
func TestAV2MerchantMustBelongToItsTopicsAccount(t *testing.T) {
	merchants := map[string]string{"A1": "acme-a", "B1": "acme-b", "B2": "acme-b"}
	v2 := func(merchant string) string {
		return `{"MerchantID":"` + merchant + `","ObjectType":"CHARGE","ObjectId":"C1","NotificationType":"STATE_CHANGE","NotificationId":"n1","NotificationVersion":"V2"}`
	}
	for _, tc := range []struct {
		name, label, message string
		merchants            map[string]string
		mismatch             bool
	}{
		{"B's merchant on B's topic", "acme-b", v2("B2"), merchants, false},
		{"A's merchant on B's topic", "acme-b", v2("A1"), merchants, true},
		{"unknown merchant on B's topic", "acme-b", v2("Z9"), merchants, true},
		{"no MerchantID on B's topic", "acme-b", `{"ObjectType":"CHARGE","ObjectId":"C1","NotificationType":"STATE_CHANGE"}`, merchants, true},
		{"default account has no merchants", "default", v2("A1"), merchants, false},
		{"nothing configured", "acme-b", v2("A1"), nil, false},
		{"India notification", "acme-b", `{"NotificationType":"ChargeNotification","merchantId":"A1"}`, merchants, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Steps{Merchants: tc.merchants}
			m := &snsverify.Message{Type: snsverify.TypeNotification, MessageID: "m-1", TopicARN: "arn:aws:sns:eu-west-1:123456789012:t", Message: tc.message, Timestamp: "2026-11-27T10:00:00.000Z"}
			ctx := account.With(context.Background(), tc.label)
			log := slog.New(slog.DiscardHandler)
			d, err := s.Plan(ctx, log, &events.APIGatewayV2HTTPRequest{}, verified{msg: m, account: tc.label}, false)
			var rej *pipeline.Rejection
			if tc.mismatch {
				if !errors.As(err, &rej) || rej.Code != "merchant_mismatch" || rej.Field != "MerchantID" {
					t.Fatalf("err = %v, want merchant_mismatch naming MerchantID", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			evs, err := d.Work(ctx, log)
			if err != nil || len(evs) == 0 {
				t.Fatalf("%d events, %v", len(evs), err)
			}
			for _, e := range evs {
				if got := e.Detail.(Detail).Metadata.Account; got != tc.label {
					t.Errorf("%s event labeled %q, want %q", e.DetailType, got, tc.label)
				}
			}
		})
	}
}
