package amazonpay

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
)

// published are the detail-types, keys and encoded details of what the Steps publish for an SNS
// Notification carrying message, with or without the deprecated copies.
func published(t *testing.T, message string, omitCopies bool) []string {
	t.Helper()
	received := time.Date(2026, 11, 27, 10, 0, 1, 0, time.UTC)
	s := &Steps{Now: func() time.Time { return received }, OmitDeprecatedCopies: omitCopies}
	m := &snsverify.Message{Type: snsverify.TypeNotification, MessageID: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
		TopicARN: "arn:aws:sns:eu-west-1:123456789012:amazon-pay-ipn", Message: message, Timestamp: "2026-11-27T10:00:00.000Z"}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	d, err := s.Plan(context.Background(), log, &events.APIGatewayV2HTTPRequest{}, verified{msg: m, account: "default"}, false)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := d.Work(context.Background(), log)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		b, err := json.Marshal(ev.Detail)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev.DetailType+" "+string(b))
	}
	return out
}

// PublishDeprecatedDetailTypes=false: an Amazon Pay API v2 message is published under its own
// detail-type only, never also as its India-style copy; an India or any other notification is
// published as always. Every event that remains is byte for byte the default's.
func TestWithoutDeprecatedCopiesAV2MessageIsPublishedOnlyUnderItsOwnDetailType(t *testing.T) {
	for _, tc := range []struct {
		name, message string
		own, copy     string // copy: "" when the message has none
	}{
		{"v2 charge", `{"MerchantID":"M1","ObjectType":"CHARGE","ObjectId":"S01-1-1-C1","NotificationType":"STATE_CHANGE","NotificationId":"n1"}`,
			DetailTypeChargeChanged, DetailTypeCharge},
		{"v2 refund", `{"MerchantID":"M1","ObjectType":"REFUND","ObjectId":"S01-1-1-R1","NotificationType":"STATE_CHANGE","NotificationId":"n2"}`,
			DetailTypeRefundChanged, DetailTypeRefund},
		{"v2 charge permission", `{"MerchantID":"M1","ObjectType":"CHARGE_PERMISSION","ObjectId":"S01-1-1","NotificationType":"ATTRIBUTE_CHANGE","NotificationId":"n3"}`,
			DetailTypeChargePermissionChanged, DetailTypeIPN},
		{"v2 chargeback", `{"MerchantID":"M1","ObjectType":"CHARGEBACK","ObjectId":"S01-1-1-B1","NotificationType":"STATE_CHANGE","NotificationId":"n4"}`,
			DetailTypeChargebackChanged, DetailTypeIPN},
		{"India charge", `{"NotificationType":"ChargeNotification","amazonOrderId":"S04-1"}`, DetailTypeCharge, ""},
		{"India refund", `{"NotificationType":"RefundNotification","amazonRefundId":"R04-1"}`, DetailTypeRefund, ""},
		{"another notification", `{"NotificationType":"PaymentAuthorization"}`, DetailTypeIPN, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			without, with := published(t, tc.message, true), published(t, tc.message, false)
			if len(without) != 1 || !slices.Contains(with, without[0]) || !strings.HasPrefix(without[0], tc.own+" ") {
				t.Fatalf("without the copies %q, want only the default's %s event (the default published %q)", without, tc.own, with)
			}
			copies := slices.DeleteFunc(slices.Clone(with), func(e string) bool { return e == without[0] })
			switch {
			case tc.copy == "" && len(copies) != 0:
				t.Errorf("the default published %q beside %s", copies, tc.own)
			case tc.copy != "" && (len(copies) != 1 || !strings.HasPrefix(copies[0], tc.copy+" ")):
				t.Errorf("the default's copy %q, want one %s", copies, tc.copy)
			}
		})
	}
}
