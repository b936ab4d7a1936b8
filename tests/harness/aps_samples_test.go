package harness

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
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
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// The APS samples in events/, one per detail-type, and the phrase sets of the
// development merchant secret (events/dev/aps-merchant.json): the web integration's (the top
// level, SHA-256 as ApsSignatureAlgorithm) and Apple Pay's (its own access code, phrase, SHA-512).

var updateAPSSamples = flag.Bool("update-aps-samples", false, "rewrite the generated APS samples in events/ from apsSamples")

// apsSample is one generated sample: APS's message to route, signed by the web or the Apple Pay set.
type apsSample struct {
	file     string
	feedback string // "transaction" or "notification"
	applePay bool
	params   map[string]string
}

// apsPurchase is a card payment's result, as the transaction feedback sample carries one.
func apsPurchase(ref, fortID, command, status, code, message string) map[string]string {
	return map[string]string{
		"access_code": "SILgpo7pWbmzuURp2qri", "amount": "10000", "authorization_code": "544003", "card_holder_name": "Test Holder",
		"card_number": "400555******0001", "command": command, "currency": "AED", "customer_email": "test@example.com",
		"customer_ip": "192.0.2.10", "eci": "ECOMMERCE", "expiry_date": "2105", "fort_id": fortID, "language": "en",
		"merchant_identifier": "MxvOupuG", "merchant_reference": ref, "payment_option": "VISA",
		"response_code": status + code, "response_message": message, "status": status,
	}
}

// apsMaintenance is a later operation's result on an order (capture, refund, void), as the
// notification feedback sample carries one.
func apsMaintenance(ref, fortID, command, status, code, message string) map[string]string {
	return map[string]string{
		"access_code": "SILgpo7pWbmzuURp2qri", "amount": "10000", "command": command, "currency": "AED", "fort_id": fortID,
		"language": "en", "merchant_identifier": "MxvOupuG", "merchant_reference": ref,
		"response_code": status + code, "response_message": message, "status": status,
	}
}

func apsTokenization(status, code, message string) map[string]string {
	return map[string]string{
		"access_code": "SILgpo7pWbmzuURp2qri", "card_bin": "400555", "card_number": "400555******0001", "expiry_date": "2105",
		"language": "en", "merchant_identifier": "MxvOupuG", "merchant_reference": "TOKEN-3001",
		"response_code": status + code, "response_message": message, "service_command": "TOKENIZATION", "status": status,
		"token_name": "c1a5d3e0b4f94f4bb1e0ad2c6c1f0a11",
	}
}

func without(p map[string]string, names ...string) map[string]string {
	p = maps.Clone(p)
	for _, n := range names {
		delete(p, n)
	}
	return p
}

// apsSamples are the samples this file writes (the six older ones are written by hand). Response
// codes other than xx000 are illustrative: status + a three-digit message code.
var apsSamples = func() []apsSample {
	const (
		uncertain = "Uncertain transaction"
		pending   = "Transaction pending"
		onHold    = "On hold"
	)
	s := []apsSample{
		{"aps-authorization-succeeded.json", "transaction", false, apsPurchase("ORDER-1101", "169996200000131101", "AUTHORIZATION", "02", "000", "Success")},
		{"aps-authorization-failed.json", "transaction", false, without(apsPurchase("ORDER-1102", "169996200000131102", "AUTHORIZATION", "03", "072", "Transaction cancelled by consumer"), "authorization_code")},
		{"aps-purchase-failed.json", "transaction", false, without(apsPurchase("ORDER-1103", "169996200000131103", "PURCHASE", "13", "072", "Transaction cancelled by consumer"), "authorization_code")},
		{"aps-capture-succeeded.json", "notification", false, apsMaintenance("ORDER-1101", "169996200000131101", "CAPTURE", "04", "000", "Success")},
		{"aps-capture-failed.json", "notification", false, apsMaintenance("ORDER-1104", "169996200000131104", "CAPTURE", "05", "003", "Technical problem")},
		{"aps-refund-failed.json", "notification", false, apsMaintenance("ORDER-1105", "169996200000131105", "REFUND", "07", "003", "Technical problem")},
		{"aps-void-succeeded.json", "notification", false, apsMaintenance("ORDER-1106", "169996200000131106", "VOID_AUTHORIZATION", "08", "000", "Success")},
		{"aps-void-failed.json", "notification", false, apsMaintenance("ORDER-1107", "169996200000131107", "VOID_AUTHORIZATION", "09", "003", "Technical problem")},
		{"aps-tokenization-succeeded.json", "transaction", false, apsTokenization("18", "000", "Success")},
		{"aps-tokenization-failed.json", "transaction", false, without(apsTokenization("17", "003", "Technical problem"), "token_name")},
		{"aps-transaction-status-unknown.json", "transaction", false, without(apsPurchase("ORDER-1108", "169996200000131108", "PURCHASE", "10", "001", "Incomplete"), "authorization_code")},
		// A pending purchase, then its final result on the notification feedback.
		{"aps-purchase-pending.json", "transaction", false, without(apsPurchase("ORDER-2001", "169996200000132001", "PURCHASE", "19", "001", pending), "authorization_code")},
		{"aps-purchase-pending-then-succeeded.json", "notification", false, apsPurchase("ORDER-2001", "169996200000132001", "PURCHASE", "14", "000", "Success")},
		{"aps-transaction-pending-without-command.json", "notification", false, without(apsMaintenance("ORDER-2002", "169996200000132002", "", "19", "001", pending), "command")},
		// A capture's status on a REFUND: a combination the gateway does not know.
		{"aps-combination-unknown.json", "notification", false, apsMaintenance("ORDER-2003", "169996200000132003", "REFUND", "04", "000", "Success")},
		{"aps-apple-pay-purchase.json", "transaction", true, func() map[string]string {
			p := apsPurchase("ORDER-APPLE-4001", "169996200000134001", "PURCHASE", "14", "000", "Success")
			p["access_code"], p["digital_wallet"], p["payment_option"], p["card_number"] = ApplePayAccessCode, "APPLE_PAY", "MASTERCARD", "512345******0008"
			return without(p, "card_holder_name")
		}()},
	}
	for i, st := range []struct{ status, code, message string }{{"15", "001", uncertain}, {"19", "001", pending}, {"20", "064", onHold}} {
		for j, op := range []struct{ command, name string }{{"AUTHORIZATION", "authorization"}, {"PURCHASE", "purchase"}, {"CAPTURE", "capture"}, {"REFUND", "refund"}, {"VOID_AUTHORIZATION", "void"}} {
			file := "aps-" + op.name + "-" + map[string]string{"15": "uncertain", "19": "pending", "20": "on-hold"}[st.status] + ".json"
			if file == "aps-purchase-pending.json" {
				continue // the pending half of the pair above
			}
			ref, fort := fmt.Sprintf("ORDER-3%d%d", i, j), fmt.Sprintf("1699962000001330%d%d", i, j)
			if op.command == "AUTHORIZATION" || op.command == "PURCHASE" {
				s = append(s, apsSample{file, "transaction", false, without(apsPurchase(ref, fort, op.command, st.status, st.code, st.message), "authorization_code")})
			} else {
				s = append(s, apsSample{file, "notification", false, apsMaintenance(ref, fort, op.command, st.status, st.code, st.message)})
			}
		}
	}
	return s
}()

// request is the sample as the events/ files hold one: API Gateway's payload 2.0 of a JSON POST.
func (s apsSample) request() []byte {
	p := maps.Clone(s.params)
	signer, _ := apssignature.NewSigner(apssignature.SHA256, APSPhrase)
	if s.applePay {
		signer, _ = apssignature.NewSigner(ApplePayAlgorithm, ApplePayPhrase)
	}
	p[apssignature.SignatureParam] = signer.Sign(p)
	body, _ := json.Marshal(p)
	path := "/aps/" + s.feedback + "-feedback"
	id := "req-" + strings.TrimSuffix(s.file, ".json")
	ua := "Apache-HttpClient/4.5"
	req := map[string]any{
		"body": string(body), "headers": map[string]string{"content-type": "application/json", "host": "payments.example.com", "user-agent": ua},
		"isBase64Encoded": false, "rawPath": path, "rawQueryString": "", "routeKey": "POST " + path, "version": "2.0",
		"requestContext": map[string]any{
			"accountId": "123456789012", "apiId": "abcdef1234", "domainName": "payments.example.com", "domainPrefix": "payments",
			"http":      map[string]string{"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.20", "userAgent": ua},
			"requestId": id, "routeKey": "POST " + path, "stage": "$default", "time": "28/Jan/2025:11:14:36 +0000", "timeEpoch": 1738062876000,
		},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(req)
	return b.Bytes()
}

// The generated samples are what apsSamples says (-update-aps-samples rewrites them).
func TestTheGeneratedAPSSamplesAreUpToDate(t *testing.T) {
	for _, s := range apsSamples {
		path := filepath.Join(localaws.RepoRoot(), "events", s.file)
		if *updateAPSSamples {
			if err := os.WriteFile(path, s.request(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, s.request()) {
			t.Errorf("events/%s differs from apsSamples (%v): go test ./tests/harness -run TestTheGeneratedAPSSamplesAreUpToDate -update-aps-samples", s.file, err)
		}
	}
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
	if len(files) < len(apsSamples)+6 {
		t.Fatalf("%d APS samples, want at least %d", len(files), len(apsSamples)+6)
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
	p = without(p, apssignature.SignatureParam)
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
	for _, s := range apsSamples {
		if s.applePay {
			applePay = s.params
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
