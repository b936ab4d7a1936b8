package shipping_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
)

// FuzzExpiredOnArrival: whatever the delivery and the receipt time, no item with a code is written
// for an OTP whose verificationCodeTTL is not later than the receipt, and no event carries such an
// OTP's code; every OTP is announced once, as generated exactly when it was still valid.
func FuzzExpiredOnArrival(f *testing.F) {
	seedReceived := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for _, seed := range []struct {
		body     string
		received int64
	}{
		{seedSampleBody, seedReceived.UnixMilli()},
		{seedSampleBody, seedTTL},
		{seedSampleBody, seedTTL - 1},
		{string(withDetail(f, []any{otpEntry("T1", "111111", seedTTL), otpEntry("T2", "222222", 4102444799000)})), seedReceived.UnixMilli()},
		{string(withDetail(f, []any{otpEntry("T1", "111111", seedTTL), otpEntry(otpstore.ExpiredKey(account.Default, "T1"), "222222", 4102444799000)})), seedReceived.UnixMilli()},
		{string(withDetail(f, []any{otpEntry("T1", "111111", seedTTL), otpEntry("T1", "222222", seedTTL+1)})), seedTTL},
	} {
		f.Add([]byte(seed.body), seed.received)
	}
	f.Fuzz(func(t *testing.T, body []byte, receivedMs int64) {
		received := time.UnixMilli(receivedMs).UTC()
		// As Plan parses it: OTPs valid beyond the bound after the receipt are refused.
		n, _, err := shipping.ParseWith(body, shipping.Options{Received: received, MaxOTPTTL: shipping.DefaultMaxOTPTTL})
		if err != nil {
			return
		}
		p, err := plan(t, string(body), received)
		if err != nil {
			t.Fatalf("Plan refused what ParsePartial accepted: %v", err)
		}
		var wantTypes []string
		for _, o := range n.OTPs {
			if o.ExpiresAtMillis <= received.UnixMilli() {
				wantTypes = append(wantTypes, shipping.DetailTypeOTPExpired)
			} else {
				wantTypes = append(wantTypes, shipping.DetailTypeOTP)
			}
		}
		for _, item := range p.puts {
			_, hasCode := item["verificationCode"].(*types.AttributeValueMemberS)
			ttl, _ := strconv.ParseInt(item["verificationCodeTTL"].(*types.AttributeValueMemberN).Value, 10, 64)
			if hasCode && ttl <= received.UnixMilli() {
				t.Fatalf("an item with a code that expired at %d was written at receipt %d", ttl, received.UnixMilli())
			}
			if !hasCode && ttl > received.UnixMilli() {
				t.Fatalf("a usable OTP was written without its code")
			}
		}
		var gotTypes []string
		for _, ev := range p.events[:min(len(p.events), len(n.OTPs))] {
			gotTypes = append(gotTypes, ev.detailType)
			if ev.detailType != shipping.DetailTypeOTPExpired {
				continue
			}
			if strings.Contains(ev.detail, `"verificationCode"`) {
				t.Fatalf("an expired OTP's event has a verificationCode: %s", ev.detail)
			}
		}
		if strings.Join(gotTypes, "\n") != strings.Join(wantTypes, "\n") {
			t.Fatalf("OTP events %q, want %q", gotTypes, wantTypes)
		}
	})
}
