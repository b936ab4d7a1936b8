package harness

import (
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/amazon-webhook-gateway/gateway/shared/aps"
	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
	"github.com/amazon-webhook-gateway/gateway/shared/awsconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/apssamples/catalog"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// apsSamples are the generated APS samples of events/ (tools/apssamples), addressed to the phrase
// sets of the development merchant secret (events/dev/aps-merchant.json).
func apsSamples(t *testing.T) []catalog.Sample {
	t.Helper()
	m, err := catalog.LoadMerchant(localaws.RepoRoot())
	if err != nil {
		t.Fatal(err)
	}
	return catalog.Samples(m)
}

// documentedSample is one row of docs/aps.md's sample table.
type documentedSample struct {
	file                string
	status              int    // the answer
	byStatus, byCommand string // the detail-type published, by ApsDetailTypesByCommand=false and true
}

var sampleRow = regexp.MustCompile("^\\| `(aps-[a-z0-9-]+\\.json)` \\|[^|]*\\|[^|]*\\| (.+) \\| (.+) \\|$")

// documentedSamples reads docs/aps.md's table of the APS samples: | `file` | route | set | default | by command |.
func documentedSamples(t *testing.T) []documentedSample {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(localaws.RepoRoot(), "docs", "aps.md"))
	if err != nil {
		t.Fatal(err)
	}
	cell := func(c string) (int, string) {
		switch {
		case strings.Contains(c, "401"):
			return 401, ""
		case strings.Contains(c, "202"):
			return 202, ""
		}
		// The detail-type is the cell's first code span; a note may follow it.
		dt, _, _ := strings.Cut(strings.TrimPrefix(c, "`"), "`")
		return 200, dt
	}
	var out []documentedSample
	for _, line := range strings.Split(string(doc), "\n") {
		m := sampleRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		d := documentedSample{file: m[1]}
		d.status, d.byStatus = cell(m[2])
		d.byCommand = d.byStatus
		if m[3] != "same" {
			_, d.byCommand = cell(m[3])
		}
		out = append(out, d)
	}
	return out
}

// apsDeployment is the APS function as main.go builds it (aps.New) on a fresh stack with the
// development merchant secret, and a consumer's queue of every APS event.
type apsDeployment struct {
	handler pipeline.LambdaHandler
	queue   string
	logs    *testenv.LogBuffer
}

func deployAPS(t *testing.T, byCommand bool) apsDeployment {
	t.Helper()
	local.CheckEvents(t)
	stack := NewStack(t, local.Config, local.Template)
	cfg := awsconfig.Apply(local.Config.Copy())
	cfg.BaseEndpoint = aws.String(local.Faults.URL)
	d := apsDeployment{logs: &testenv.LogBuffer{}}
	log := slog.New(slog.NewJSONHandler(d.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d.handler = must[pipeline.LambdaHandler](t)(aps.New(cfg, aps.Config{
		Settings: pipeline.Settings{Function: "ApsFunction", MaxBodyBytes: aps.DefaultMaxBodyBytes, Resources: stack.Resources},
		Secret:   secrets.Setting{ARN: stack.Secret(t, "aps-merchant.json"), Refresh: 5 * time.Minute},
		// As template.yaml's defaults: the Apple Pay set names its own algorithm.
		Algorithm: apssignature.SHA256, DedupeRetentionDays: aps.DefaultDedupeRetentionDays, DetailTypesByCommand: byCommand,
	}, log))
	d.queue = must[string](t)(localaws.RouteToQueue(t.Context(), local.Config, stack.EventBus, `{"source":["`+aps.EventSource+`"]}`))
	t.Cleanup(func() {
		for _, s := range []string{APSPhrase, ApplePayPhrase, "SILgpo7pWbmzuURp2qri", ApplePayAccessCode, "400555******0001", "512345******0008", "test@example.com"} {
			if strings.Contains(d.logs.String(), s) {
				t.Errorf("logs contain %q", s)
			}
		}
	})
	return d
}

type apsConsumed struct {
	DetailType string     `json:"detail-type"`
	Detail     aps.Detail `json:"detail"`
}

// events are the events on the consumer's queue, deduplicated on idempotencyKey as the contract
// tells consumers to: delivery is at least once, and a loaded moto can make a PutEvents retry
// publish twice.
func (d apsDeployment) events(t *testing.T) []apsConsumed {
	t.Helper()
	var out []apsConsumed
	for _, e := range testenv.Consume[apsConsumed](t, local.Config, d.queue, 20) {
		i := slices.IndexFunc(out, func(o apsConsumed) bool { return o.Detail.Metadata.IdempotencyKey == e.Detail.Metadata.IdempotencyKey })
		switch {
		case i < 0:
			out = append(out, e)
		case out[i].DetailType != e.DetailType:
			t.Errorf("one message published as %q and as %q", out[i].DetailType, e.DetailType)
		}
	}
	return out
}

// Every APS sample in events/ is documented in docs/aps.md, and publishes the detail-type
// documented for it, by status and by command, through the function main.go builds.
func TestEveryAPSSamplePublishesItsDocumentedDetailType(t *testing.T) {
	docs := documentedSamples(t)
	want := map[string]documentedSample{}
	for _, d := range docs {
		want[d.file] = d
	}
	files := testenv.EventFiles(t, "aps-*.json", want)
	// The generated samples (tools/apssamples) and the six written by hand.
	if generated := len(apsSamples(t)); len(files) < generated+6 {
		t.Fatalf("%d APS samples, want at least %d", len(files), generated+6)
	}
	for _, byCommand := range []bool{false, true} {
		for _, file := range files {
			w := want[file]
			dt := w.byStatus
			if byCommand {
				dt = w.byCommand
			}
			t.Run(file+map[bool]string{false: "/by status", true: "/by command"}[byCommand], func(t *testing.T) {
				d := deployAPS(t, byCommand)
				resp, body := Post(t, d.handler, testenv.LoadEvent(t, file))
				if resp.StatusCode != w.status {
					t.Fatalf("answered %d %v, docs/aps.md says %d", resp.StatusCode, body, w.status)
				}
				evs := d.events(t)
				if w.status != 200 {
					if len(evs) != 0 {
						t.Errorf("%d events for a %d", len(evs), w.status)
					}
					return
				}
				if len(evs) != 1 || evs[0].DetailType != dt {
					t.Fatalf("published %+v, docs/aps.md says one %q", evs, dt)
				}
			})
		}
	}
}

// signedAs is p signed with phrase under alg, as a JSON transaction feedback.
func signedAs(p map[string]string, alg apssignature.Algorithm, phrase string) events.APIGatewayV2HTTPRequest {
	p = maps.Clone(p)
	delete(p, apssignature.SignatureParam)
	s, err := apssignature.NewSigner(alg, phrase)
	if err != nil {
		panic(err)
	}
	p[apssignature.SignatureParam] = s.Sign(p)
	return APS("/aps/transaction-feedback", p, false)
}

// A message is verified only with the phrase set its access_code (and merchant_identifier)
// selects: an Apple Pay result with Apple Pay's phrase, never with the web integration's, and a
// message for one access code never with another set's phrase.
func TestThePhraseSetSelectsTheOnlyPhrasesThatVerify(t *testing.T) {
	var applePay map[string]string
	for _, s := range apsSamples(t) {
		if s.ApplePay {
			applePay = s.Params
		}
	}
	web := APSParams("ORDER-WEB-5001", "169996200000135001")
	otherCode := maps.Clone(web)
	otherCode["access_code"] = "not-a-configured-access-code"
	applePayOtherMerchant := maps.Clone(applePay)
	applePayOtherMerchant["merchant_identifier"] = "SomeoneElse"
	tests := []struct {
		name      string
		req       events.APIGatewayV2HTTPRequest
		want      int
		wantField string // of a 401: access_code when no set is selected
	}{
		{"Apple Pay result signed with its own phrase", signedAs(applePay, ApplePayAlgorithm, ApplePayPhrase), 200, ""},
		{"Apple Pay result signed with the web phrase", signedAs(applePay, apssignature.SHA256, APSPhrase), 401, ""},
		{"Apple Pay result signed with the web phrase under Apple Pay's algorithm", signedAs(applePay, ApplePayAlgorithm, APSPhrase), 401, ""},
		{"web result signed with the Apple Pay phrase", signedAs(web, ApplePayAlgorithm, ApplePayPhrase), 401, ""},
		{"web result signed with the Apple Pay phrase under the web algorithm", signedAs(web, apssignature.SHA256, ApplePayPhrase), 401, ""},
		{"web result signed with its own phrase", signedAs(web, apssignature.SHA256, APSPhrase), 200, ""},
		{"unknown access code", signedAs(otherCode, apssignature.SHA256, APSPhrase), 401, "access_code"},
		{"Apple Pay access code of another merchant", signedAs(applePayOtherMerchant, ApplePayAlgorithm, ApplePayPhrase), 401, "access_code"},
	}
	d := deployAPS(t, false)
	accepted := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := Post(t, d.handler, tc.req)
			if resp.StatusCode != tc.want {
				t.Fatalf("answered %d %v, want %d", resp.StatusCode, body, tc.want)
			}
			field, _ := body["field"].(string)
			if tc.want == 401 && (body["error"] != "unauthorized" || field != tc.wantField) {
				t.Errorf("401 body %v, want error unauthorized naming %q", body, tc.wantField)
			}
			if tc.want == 200 {
				accepted++
			}
		})
	}
	evs := d.events(t)
	if len(evs) != accepted {
		t.Fatalf("%d events, want %d (the accepted ones)", len(evs), accepted)
	}
	i := slices.IndexFunc(evs, func(e apsConsumed) bool { return e.Detail.Data.DigitalWallet == "APPLE_PAY" })
	if i < 0 || evs[i].DetailType != aps.DetailTypePurchaseSucceeded || evs[i].Detail.Data.Fields["access_code"] != ApplePayAccessCode {
		t.Errorf("no Apple Pay purchase among %+v", evs)
	}
}
