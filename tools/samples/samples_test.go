package samples

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

var (
	now   = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	fresh = now.Add(Validity)
)

// ms is t as the payload writes it.
func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// Still-valid OTP entries get the fresh TTL, in the form they had; expired ones, values that are
// not epoch milliseconds and TTLs outside detail entries stay as sent, byte for byte, as does the
// rest of the body.
func TestRefreshBodySetsOnlyStillValidOTPEntries(t *testing.T) {
	far, expired := "4102444799000", "1705190399000"
	tests := []struct {
		name, body, want string
		n                int
	}{
		{"one entry, far TTL",
			`{"id":"a","detail":{"verificationCode":"1","verificationCodeTTL":` + far + `,"trackingId":"T1"}}`,
			`{"id":"a","detail":{"verificationCode":"1","verificationCodeTTL":` + ms(fresh) + `,"trackingId":"T1"}}`, 1},
		{"pretty-printed, spaces kept",
			"{\n  \"detail\" : {\n    \"verificationCodeTTL\" :  " + far + " ,\n    \"trackingId\": \"T1\"\n  }\n}",
			"{\n  \"detail\" : {\n    \"verificationCodeTTL\" :  " + ms(fresh) + " ,\n    \"trackingId\": \"T1\"\n  }\n}", 1},
		{"a string of digits stays a string",
			`{"detail":{"verificationCodeTTL":"` + far + `"}}`,
			`{"detail":{"verificationCodeTTL":"` + ms(fresh) + `"}}`, 1},
		{"accumulated: each valid entry, the expired one kept, other elements skipped",
			`{"detail":[{"verificationCodeTTL":` + far + `},{"verificationCodeTTL":` + expired + `},[{"verificationCodeTTL":` + far + `}],7,{"trackingId":"X","nested":{"verificationCodeTTL":` + far + `}},{"verificationCodeTTL":` + far + `}]}`,
			`{"detail":[{"verificationCodeTTL":` + ms(fresh) + `},{"verificationCodeTTL":` + expired + `},[{"verificationCodeTTL":` + far + `}],7,{"trackingId":"X","nested":{"verificationCodeTTL":` + far + `}},{"verificationCodeTTL":` + ms(fresh) + `}]}`, 2},
		{"expired at the sending: kept", `{"detail":{"verificationCodeTTL":` + ms(now) + `}}`, `{"detail":{"verificationCodeTTL":` + ms(now) + `}}`, 0},
		{"valid a millisecond more: refreshed", `{"detail":{"verificationCodeTTL":` + ms(now.Add(time.Millisecond)) + `}}`, `{"detail":{"verificationCodeTTL":` + ms(fresh) + `}}`, 1},
		{"outside detail", `{"verificationCodeTTL":` + far + `,"other":{"verificationCodeTTL":` + far + `},"detail":{}}`, `{"verificationCodeTTL":` + far + `,"other":{"verificationCodeTTL":` + far + `},"detail":{}}`, 0},
		{"a fraction", `{"detail":{"verificationCodeTTL":4102444799000.5}}`, `{"detail":{"verificationCodeTTL":4102444799000.5}}`, 0},
		{"negative", `{"detail":{"verificationCodeTTL":-4102444799000}}`, `{"detail":{"verificationCodeTTL":-4102444799000}}`, 0},
		{"not digits", `{"detail":{"verificationCodeTTL":"soon"}}`, `{"detail":{"verificationCodeTTL":"soon"}}`, 0},
		{"detail a string", `{"detail":"verificationCodeTTL"}`, `{"detail":"verificationCodeTTL"}`, 0},
		{"not JSON", `{"detail":{"verificationCodeTTL":` + far, `{"detail":{"verificationCodeTTL":` + far, 0},
		{"an array", `[{"detail":{"verificationCodeTTL":` + far + `}}]`, `[{"detail":{"verificationCodeTTL":` + far + `}}]`, 0},
		{"a form body", "a=1&verificationCodeTTL=" + far, "a=1&verificationCodeTTL=" + far, 0},
		{"empty", "", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.body)
			got, n := RefreshBody(in, now, fresh)
			if string(got) != tc.want || n != tc.n {
				t.Errorf("RefreshBody =\n%s (%d set)\nwant\n%s (%d set)", got, n, tc.want, tc.n)
			}
			if string(in) != tc.body {
				t.Errorf("the input was modified: %s", in)
			}
		})
	}
}

// sampleFiles are the Shipping samples of events/.
func sampleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(localaws.RepoRoot(), "events", "shipping-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Shipping samples: %v", err)
	}
	return files
}

// What a tool sends of every Shipping sample passes the gateway's bound on OTP validity
// (shipping.DefaultMaxOTPTTL after the receipt): the far TTLs of Amazon's example become an hour
// from now; the seed's expired OTP stays expired; the rest of the event is what the file holds.
func TestEverySampleSentPassesTheOTPBound(t *testing.T) {
	refreshed := 0
	for _, file := range sampleFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			ev, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			// The files are Amazon's examples: their OTPs are either expired or valid far beyond
			// the bound (which is why the tools refresh them).
			sentNow := time.Now()
			out, n, err := RefreshEvent(ev, sentNow, sentNow.Add(Validity))
			if err != nil {
				t.Fatal(err)
			}
			refreshed += n
			before, after := otps(t, ev), otps(t, out)
			if len(before) != len(after) {
				t.Fatalf("%d OTP entries before, %d after", len(before), len(after))
			}
			for i, o := range after {
				switch was := before[i].ExpiresAtMillis; {
				case was <= sentNow.UnixMilli():
					if o.ExpiresAtMillis != was {
						t.Errorf("%s: the expired TTL %d became %d", o.TrackingID, was, o.ExpiresAtMillis)
					}
				case o.ExpiresAtMillis != sentNow.Add(Validity).UnixMilli():
					t.Errorf("%s: TTL %d, want an hour from the sending, %d", o.TrackingID, o.ExpiresAtMillis, sentNow.Add(Validity).UnixMilli())
				}
				if o.ExpiresAtMillis > sentNow.Add(shipping.DefaultMaxOTPTTL).UnixMilli() {
					t.Errorf("%s: sent with a TTL beyond the bound", o.TrackingID)
				}
			}
			if n == 0 && string(out) != string(ev) {
				t.Error("an event without a valid OTP changed")
			}
			// Only the body's TTL digits differ.
			var a, b map[string]any
			_ = json.Unmarshal(ev, &a)
			_ = json.Unmarshal(out, &b)
			delete(a, "body")
			delete(b, "body")
			if ja, jb := mustJSON(t, a), mustJSON(t, b); ja != jb {
				t.Errorf("the event besides its body changed:\n%s\n%s", ja, jb)
			}
		})
	}
	if refreshed < 3 {
		t.Errorf("%d OTP entries refreshed across the samples, want the valid one's and both of the accumulated one's", refreshed)
	}
}

func otps(t *testing.T, ev []byte) []shipping.OTP {
	t.Helper()
	body, err := Body(ev)
	if err != nil {
		t.Fatal(err)
	}
	n, _, err := shipping.ParsePartial(body)
	if err != nil {
		return nil // not an OTP delivery (malformed, tracking without OTPs)
	}
	return n.OTPs
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A base64 body (as API Gateway passes a binary one) is refreshed and encoded back; the event
// keeps its other members and their order.
func TestRefreshEventKeepsTheEventAroundTheBody(t *testing.T) {
	body := `{"detail":{"verificationCodeTTL":4102444799000,"note":"<&>"}}`
	for _, tc := range []struct {
		name  string
		event string
		want  string
	}{
		{"plain", `{"version":"2.0","body":` + strconv.Quote(body) + `,"isBase64Encoded":false}`,
			`{"version":"2.0","body":` + strconv.Quote(strings.Replace(body, "4102444799000", ms(fresh), 1)) + `,"isBase64Encoded":false}`},
		{"base64", `{"isBase64Encoded":true,"body":"` + base64.StdEncoding.EncodeToString([]byte(body)) + `","z":1}`,
			`{"isBase64Encoded":true,"body":"` + base64.StdEncoding.EncodeToString([]byte(strings.Replace(body, "4102444799000", ms(fresh), 1))) + `","z":1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, n, err := RefreshEvent([]byte(tc.event), now, fresh)
			if err != nil || n != 1 || string(got) != tc.want {
				t.Errorf("RefreshEvent = %s, %d, %v\nwant %s", got, n, err, tc.want)
			}
		})
	}
}

func TestBodyRefusesWhatIsNoEvent(t *testing.T) {
	for _, ev := range []string{``, `[]`, `{"headers":{}}`, `{"body":"!!","isBase64Encoded":true}`} {
		if _, err := Body([]byte(ev)); err == nil {
			t.Errorf("Body(%s): no error", ev)
		}
		if _, _, err := RefreshEvent([]byte(ev), now, fresh); err == nil {
			t.Errorf("RefreshEvent(%s): no error", ev)
		}
	}
}
