package shipping

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestOtherEventRedactsCodesWhenConfigured(t *testing.T) {
	raw := json.RawMessage(`{"trackingId":"T1","eventCode":"NDR","verificationCode":"938492"}`)
	env := Envelope{ID: "d1", Source: SourceAmazonShipping, DetailType: "PN Event"}
	for _, tc := range []struct {
		include bool
		want    bool
	}{{true, true}, {false, false}} {
		ev := OtherEvent(env, "default", Other{TrackingID: "T1", EventCode: "NDR", Raw: raw}, 0, time.Now(), tc.include)
		b, _ := json.Marshal(ev.Detail)
		if got := strings.Contains(string(b), "938492"); got != tc.want {
			t.Errorf("include=%v: code in event = %v: %s", tc.include, got, b)
		}
		if !strings.Contains(string(b), `"idempotencyKey":"shipping:d1:T1#0"`) || ev.DetailType != DetailTypeOther {
			t.Errorf("event = %s", b)
		}
	}
}

func TestRepeatedTrackingIDSameTTLKeepsTheLaterEntry(t *testing.T) {
	body := `{"version":"0","id":"d","detail-type":"PN Event","source":"AmazonShipping","account":"1","time":"2025-01-28T11:14:36Z",
"detail":[{"trackingId":"T","verificationCode":"111111","verificationCodeTTL":1705190399000,"eventCode":"PIN_GENERATED"},
{"trackingId":"T","verificationCode":"222222","verificationCodeTTL":1705190399000,"eventCode":"PIN_GENERATED"},
{"trackingId":"T","verificationCode":"000000","verificationCodeTTL":1705103999000,"eventCode":"PIN_GENERATED"}]}`
	n, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(n.OTPs) != 1 || n.OTPs[0].VerificationCode != "222222" {
		t.Fatalf("OTPs = %+v, want the later of the two end-of-day codes", n.OTPs)
	}
}
