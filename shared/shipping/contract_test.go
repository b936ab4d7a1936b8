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
		ev := OtherEvent(env, Other{TrackingID: "T1", EventCode: "NDR", Raw: raw}, 0, time.Now(), tc.include)
		b, _ := json.Marshal(ev.Detail)
		if got := strings.Contains(string(b), "938492"); got != tc.want {
			t.Errorf("include=%v: code in event = %v: %s", tc.include, got, b)
		}
		if !strings.Contains(string(b), `"idempotencyKey":"shipping:d1:T1#0"`) || ev.DetailType != DetailTypeOther {
			t.Errorf("event = %s", b)
		}
	}
}
