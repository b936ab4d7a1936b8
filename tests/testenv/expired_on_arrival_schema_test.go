package testenv_test

import (
	"strings"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
)

// The schema of "Shipping OTP Expired On Arrival" accepts what the contract's builder makes and
// refuses an event that carries the code or says it does, even with its objects open as a
// consumer's validator has them.
func TestTheExpiredOnArrivalSchemaAcceptsTheBuilderAndRefusesTheCode(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	env := shipping.Envelope{ID: "env-1", Source: shipping.SourceAmazonShipping, DetailType: shipping.DetailTypePN, Account: "474668380910", Region: "eu-west-1", Time: now}
	otp := shipping.OTP{TrackingID: "T1", AlternateLegTrackingID: "R1", VerificationCode: "938492", ExpiresAtMillis: now.Add(-time.Hour).UnixMilli(), ShipmentType: "REVERSE", EventCode: shipping.EventCodePinGenerated}
	expired := detailOf(t, shipping.ExpiredOTPEvent(env, "default", otp, now))
	if strings.Contains(expired, "938492") {
		t.Fatalf("the builder put the code in the event: %s", expired)
	}
	tests := []struct {
		name, detailType, detail, wantErr string
	}{
		{"as built", shipping.DetailTypeOTPExpired, expired, ""},
		{"with the code", shipping.DetailTypeOTPExpired, edit(t, expired, func(d map[string]any) {
			sub(d, "data")["verificationCode"] = "938492"
		}), "verificationCode"},
		{"saying the code is included", shipping.DetailTypeOTPExpired, edit(t, expired, func(d map[string]any) {
			sub(d, "data")["verificationCodeIncluded"] = true
		}), "verificationCodeIncluded"},
		{"an OTP generated event under this detail-type", shipping.DetailTypeOTPExpired, detailOf(t, shipping.OTPEvent(env, "default", otp, now, true)), "verificationCode"},
		{"without its TTL", shipping.DetailTypeOTPExpired, edit(t, expired, func(d map[string]any) {
			delete(sub(d, "data"), "verificationCodeTTL")
		}), "verificationCodeTTL"},
		{"with the other detail-type's key", shipping.DetailTypeOTPExpired, edit(t, expired, func(d map[string]any) {
			sub(d, "metadata")["idempotencyKey"] = "shipping:env-1#0"
		}), "idempotencyKey"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := testenv.ValidateDetail(shipping.EventSource, tc.detailType, tc.detail, nil)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("valid event refused: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Errorf("accepted; want an error naming %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Errorf("error does not name %q: %v", tc.wantErr, err)
			}
		})
	}
}
