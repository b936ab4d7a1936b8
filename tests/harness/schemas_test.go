package harness

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
)

// recordingTB keeps what CheckEvents reports instead of failing the test.
type recordingTB struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (r *recordingTB) Helper()                        {}
func (r *recordingTB) Cleanup(f func())               { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Errorf(format string, _ ...any) { r.errs = append(r.errs, format) }

// An event published through the proxy that does not match its schema fails the test that
// published it, even when no test reads it back; one that matches does not.
func TestPublishedEventsAreCheckedAgainstTheirSchema(t *testing.T) {
	stack := NewStack(t, local.Config, local.Template)
	now := time.Now().UTC()
	env := shipping.Envelope{ID: "env-1", Source: shipping.SourceAmazonShipping, DetailType: shipping.DetailTypePN, Account: "474668380910", Time: now}
	valid, _ := json.Marshal(shipping.OTPEvent(env, "default", shipping.OTP{TrackingID: "T1", VerificationCode: "1", ExpiresAtMillis: now.UnixMilli(), EventCode: shipping.EventCodePinGenerated}, now, false).Detail)
	eb := eventbridge.NewFromConfig(local.Config, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(local.Faults.URL) })
	for _, tc := range []struct {
		name, detailType, detail string
		wantErrors               int
	}{
		{"valid", shipping.DetailTypeOTP, string(valid), 0},
		{"renamed field", shipping.DetailTypeOther, `{"metadata":{},"data":{"trackingID":"T1"}}`, 1},
		{"no schema", "Shipping Tracking Update", `{}`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			local.CheckEvents(rec)
			_, err := eb.PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
				EventBusName: &stack.EventBus, Source: aws.String(shipping.EventSource), DetailType: &tc.detailType, Detail: &tc.detail,
			}}})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range rec.cleanups {
				f()
			}
			if len(rec.errs) != tc.wantErrors {
				t.Errorf("reported %d problems, want %d: %s", len(rec.errs), tc.wantErrors, strings.Join(rec.errs, "; "))
			}
		})
	}
}
