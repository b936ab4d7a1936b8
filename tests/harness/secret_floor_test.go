package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
	"github.com/amazon-webhook-gateway/gateway/tests/emfcheck"
)

// Through the functions as their main.go builds them, on moto behind the
// fault proxy: a secret authentication cannot read, never read since the function started, is
// read at most once per secrets.FailedReadFloor whatever the number of deliveries; each of them
// gets the same 503 with Retry-After as before (Amazon's senders retry it; a 4xx would be final),
// counted under the auth_unavailable outcome; the log has one ERROR per failed read, naming the
// secret; other accounts' deliveries are unaffected; a fixed secret is picked up after the floor.

const getSecretValue = "secretsmanager.GetSecretValue"

// floorCase is one unreadable secret: the gateway it breaks, a delivery that needs it, the
// deliveries that must still be accepted, and the fix (nil: it stays unreadable).
type floorCase struct {
	name string
	// start builds the gateway with the secret made unreadable before any delivery, and returns
	// the secret's id.
	start func(t *testing.T) (*Gateway, string)
	// needs is a delivery whose authentication needs the unreadable secret.
	needs func(g *Gateway) events.APIGatewayV2HTTPRequest
	// others are deliveries of other accounts, accepted throughout; otherSecrets is the number of
	// other secrets the first delivery reads (each once, then cached).
	others       []func(g *Gateway) events.APIGatewayV2HTTPRequest
	otherSecrets int
	// answer is the 503 body the sender got before the floor, unchanged.
	answer string
	fix    func(t *testing.T, g *Gateway, id string)
}

func deleteSecret(t *testing.T, g *Gateway, id string) {
	t.Helper()
	if _, err := secretsmanager.NewFromConfig(g.Local.Config).DeleteSecret(context.Background(),
		&secretsmanager.DeleteSecretInput{SecretId: &id, ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
}

func shippingOf(key string) func(*Gateway) events.APIGatewayV2HTTPRequest {
	return func(*Gateway) events.APIGatewayV2HTTPRequest {
		id := Unique("floor")
		return ShippingWithKey(ShippingBody(id, time.Now(), validOTP(id)), key)
	}
}

func floorCases() []floorCase {
	const shippingAnswer = `{"error":"temporarily_unavailable","message":"authentication is temporarily unavailable"}`
	return []floorCase{
		{
			name: "shipping: an account's secret deleted",
			start: func(t *testing.T) (*Gateway, string) {
				a := StartAccounts(t, local)
				deleteSecret(t, a.Gateway, a.ShippingSecretA)
				return a.Gateway, a.ShippingSecretA
			},
			needs:        shippingOf(APIKeyA),
			others:       []func(*Gateway) events.APIGatewayV2HTTPRequest{shippingOf(APIKeyB), shippingOf(APIKey)},
			otherSecrets: 2, // the default account's and account B's
			answer:       shippingAnswer,
		},
		{
			name: "shipping: an account's secret malformed, then corrected",
			start: func(t *testing.T) (*Gateway, string) {
				a := StartAccounts(t, local)
				a.PutShippingSecret(t, a.ShippingSecretA, `{"apiKeys": "`+APIKeyA+`"`) // cut short
				return a.Gateway, a.ShippingSecretA
			},
			needs:        shippingOf(APIKeyA),
			others:       []func(*Gateway) events.APIGatewayV2HTTPRequest{shippingOf(APIKeyB), shippingOf(APIKey)},
			otherSecrets: 2,
			answer:       shippingAnswer,
			fix: func(t *testing.T, g *Gateway, id string) {
				(&Accounts{Gateway: g}).PutShippingSecret(t, id, ShippingSecret(AccountA, AppIDA, APIKeyA))
			},
		},
		{
			name: "aps: the merchant secret deleted",
			start: func(t *testing.T) (*Gateway, string) {
				var arn string
				g := start(t, local, func(_ *Stack, c Configs) { arn = c.APS.Secret.ARN })
				deleteSecret(t, g, arn)
				return g, arn
			},
			needs:  APSOK,
			answer: `{"error":"temporarily_unavailable","message":"signature verification is temporarily unavailable"}`,
		},
	}
}

// secretReads is the number of GetSecretValue calls the functions made since the last reset.
func secretReads() int {
	targets, _ := local.Faults.Requests()
	n := 0
	for _, tg := range targets {
		if tg == getSecretValue {
			n++
		}
	}
	return n
}

type logRecord map[string]any

func records(t *testing.T, s string) []logRecord {
	t.Helper()
	var out []logRecord
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var r logRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not a JSON log line: %q", line)
		}
		out = append(out, r)
	}
	return out
}

// errorLines are the ERROR records of logs; each must be a failed read of the secret id.
func errorLines(t *testing.T, logs []logRecord, id string) int {
	t.Helper()
	n := 0
	for _, r := range logs {
		if r["level"] != "ERROR" {
			continue
		}
		n++
		if r["msg"] != "secret could not be read" || r["secret"] != secrets.Name(id) {
			t.Errorf("ERROR line %v: want only \"secret could not be read\" naming %s", r, secrets.Name(id))
		}
	}
	return n
}

func TestUnreadableSecretIsReadOncePerFloor(t *testing.T) {
	for _, tc := range floorCases() {
		t.Run(tc.name, func(t *testing.T) {
			g, id := tc.start(t)
			local.Faults.ResetRequests()
			logsAt, metricsAt := len(g.Logs.String()), len(g.Metrics.String())
			webhook := "shipping"
			if strings.HasPrefix(tc.needs(g).RawPath, "/aps/") {
				webhook = "aps"
			}

			// A burst: 15 deliveries that need the secret, each followed by the other accounts'.
			const burst = 15
			began := time.Now()
			for range burst {
				resp := g.Deliver(tc.needs(g))
				if resp.StatusCode != 503 || resp.Headers["Retry-After"] != "10" || resp.Body != tc.answer {
					t.Fatalf("needing the unreadable secret: %d Retry-After %q %s; want 503, Retry-After 10, %s",
						resp.StatusCode, resp.Headers["Retry-After"], resp.Body, tc.answer)
				}
				for _, other := range tc.others {
					if resp := g.Deliver(other(g)); resp.StatusCode != 200 {
						t.Fatalf("another account's delivery: %d %s, want 200", resp.StatusCode, resp.Body)
					}
				}
			}
			elapsed := time.Since(began)
			// One read of the unreadable secret per floor interval the burst lasted (one, unless
			// the machine is very slow), and one of each other secret.
			reads := secretReads() - tc.otherSecrets
			if most := 1 + int(elapsed/secrets.FailedReadFloor); reads < 1 || reads > most {
				t.Errorf("%d deliveries in %s made %d reads of the unreadable secret, want 1 to %d (one per %s)",
					burst, elapsed.Round(time.Millisecond), reads, most, secrets.FailedReadFloor)
			}
			logs := records(t, g.Logs.String()[logsAt:])
			if n := errorLines(t, logs, id); n != reads {
				t.Errorf("%d ERROR lines for %d failed reads, want one per read (not one per delivery)", n, reads)
			}
			answered := 0
			for _, r := range logs {
				if r["msg"] == "delivery answered" && r["status"] == float64(503) {
					answered++
					if r["level"] != "WARN" {
						t.Errorf("the 503 is logged at %v, want WARN (the read's ERROR is the cache's): %v", r["level"], r)
					}
				}
			}
			if answered != burst {
				t.Errorf("%d 503 answers logged, want %d", answered, burst)
			}

			// Every 503 is counted as auth_unavailable, not unavailable; the others as accepted.
			lines, err := emfcheck.Lines(g.Metrics.String()[metricsAt:])
			if err != nil {
				t.Fatal(err)
			}
			outcomes := map[string]int{}
			for _, m := range lines {
				outcomes[m["Outcome"].(string)+"/"+m["Reason"].(string)]++
				if m["Webhook"] != webhook && m["Outcome"] == string(metrics.AuthUnavailable) {
					t.Errorf("auth_unavailable counted for %v, want %s", m["Webhook"], webhook)
				}
			}
			want := map[string]int{string(metrics.AuthUnavailable) + "/temporarily_unavailable": burst}
			if n := burst * len(tc.others); n > 0 {
				want["accepted/none"] = n
			}
			if fmt.Sprint(outcomes) != fmt.Sprint(want) {
				t.Errorf("EMF outcomes/reasons %v, want %v", outcomes, want)
			}

			for _, s := range append(append([]string{}, Secrets...), AccountSecrets...) {
				if strings.Contains(g.Logs.String(), s) {
					t.Errorf("a secret value reached the log")
				}
			}
			if tc.fix == nil && !testing.Short() {
				// After the floor: one read more, still failing, one ERROR more.
				time.Sleep(secrets.FailedReadFloor + 250*time.Millisecond)
				local.Faults.ResetRequests()
				logsAt = len(g.Logs.String())
				for range 3 {
					if resp := g.Deliver(tc.needs(g)); resp.StatusCode != 503 {
						t.Fatalf("after the floor, still unreadable: %d %s, want 503", resp.StatusCode, resp.Body)
					}
				}
				if n := secretReads(); n != 1 {
					t.Errorf("after the floor: %d reads for 3 deliveries, want 1", n)
				}
				if n := errorLines(t, records(t, g.Logs.String()[logsAt:]), id); n != 1 {
					t.Errorf("after the floor: %d ERROR lines, want 1", n)
				}
			}
			if tc.fix != nil {
				// Fixed: inside the floor still 503 without a read; after it, accepted.
				tc.fix(t, g, id)
				local.Faults.ResetRequests()
				if resp := g.Deliver(tc.needs(g)); resp.StatusCode != 503 || secretReads() != 0 {
					t.Errorf("fixed, inside the floor: %d with %d reads, want 503 without a read", resp.StatusCode, secretReads())
				}
				time.Sleep(secrets.FailedReadFloor + 250*time.Millisecond)
				if resp := g.Deliver(tc.needs(g)); resp.StatusCode != 200 {
					t.Errorf("fixed, after the floor: %d %s, want 200", resp.StatusCode, resp.Body)
				}
				if n := secretReads(); n != 1 {
					t.Errorf("fixed: %d reads, want 1", n)
				}
			}
		})
	}
}
