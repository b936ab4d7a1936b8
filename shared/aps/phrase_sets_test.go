package aps

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
)

// Several phrase sets per merchant secret, each selected by its access code (and
// merchant identifier) and the only one that verifies what it selects; outcomes by command.

const (
	webCode, webPhrase, webPrevious = "WEB-ACCESS-CODE", "web-response-phrase-0001", "web-previous-phrase-0001"
	appleCode, applePhrase          = "APPLE-PAY-ACCESS-CODE", "apple-response-phrase-0001"
	appleRequestPhrase              = "apple-request-phrase-0001"
	merchantID                      = "MERCHANT-1"
)

// legacySecret is the format before phrase sets: it must keep working.
const legacySecret = `{"shaResponsePhrase":"` + webPhrase + `","previousShaResponsePhrase":"` + webPrevious + `","merchantIdentifier":"` + merchantID + `","accessCode":"` + webCode + `"}`

// setsSecret is the legacy format with an Apple Pay set beside it, with its own algorithm.
const setsSecret = `{"shaResponsePhrase":"` + webPhrase + `","previousShaResponsePhrase":"` + webPrevious + `","merchantIdentifier":"` + merchantID + `","accessCode":"` + webCode + `",
 "phraseSets":[{"name":"apple-pay","accessCode":"` + appleCode + `","shaRequestPhrase":"` + appleRequestPhrase + `","shaResponsePhrase":"` + applePhrase + `","algorithm":"HMAC-SHA512"}]}`

// sign is p with the signature of phrase under alg.
func sign(p map[string]string, alg apssignature.Algorithm, phrase string) map[string]string {
	p = maps.Clone(p)
	delete(p, apssignature.SignatureParam)
	s, err := apssignature.NewSigner(alg, phrase)
	if err != nil {
		panic(err)
	}
	p[apssignature.SignatureParam] = s.Sign(p)
	return p
}

func result(code string) map[string]string {
	return map[string]string{"merchant_identifier": merchantID, "access_code": code, "command": "PURCHASE", "status": "14", "response_code": "14000", "merchant_reference": "R-1"}
}

func TestEverySecretFormatYieldsSetsThatVerifyUnderTheirOwnAlgorithm(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		wantSets []string // names, in order
	}{
		{"format before phrase sets", legacySecret, []string{"default"}},
		{"legacy top level and an Apple Pay set", setsSecret, []string{"default", "apple-pay"}},
		{"phrase sets only", `{"merchantIdentifier":"` + merchantID + `","phraseSets":[{"accessCode":"` + webCode + `","shaResponsePhrase":"` + webPhrase + `","previousShaResponsePhrase":"` + webPrevious + `"},{"name":"apple-pay","accessCode":"` + appleCode + `","shaResponsePhrase":"` + applePhrase + `","algorithm":"hmac_sha512"}]}`,
			[]string{"phraseSets[0]", "apple-pay"}},
		{"a set with its own merchant identifier", `{"phraseSets":[{"merchantIdentifier":"` + merchantID + `","accessCode":"` + webCode + `","shaResponsePhrase":"` + webPhrase + `","previousShaResponsePhrase":"` + webPrevious + `"}]}`,
			[]string{"phraseSets[0]"}},
		{"an empty phraseSets is the legacy format", strings.TrimSuffix(legacySecret, "}") + `,"phraseSets":[]}`, []string{"default"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := MerchantParser(apssignature.SHA256)([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range m.Sets {
				names = append(names, s.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.wantSets, ",") {
				t.Fatalf("sets %v, want %v", names, tc.wantSets)
			}
			// The web set: the stack's algorithm, current and previous phrase.
			for _, phrase := range []string{webPhrase, webPrevious} {
				if set, err := authenticateParams(m, sign(result(webCode), apssignature.SHA256, phrase)); err != nil || set.AccessCode != webCode {
					t.Errorf("web result signed with a web phrase: %v", err)
				}
			}
			if !strings.Contains(tc.doc, appleCode) {
				return
			}
			// The Apple Pay set: its own algorithm, never the stack's.
			if _, err := authenticateParams(m, sign(result(appleCode), apssignature.HMACSHA512, applePhrase)); err != nil {
				t.Errorf("Apple Pay result signed with its phrase: %v", err)
			}
			if _, err := authenticateParams(m, sign(result(appleCode), apssignature.SHA256, applePhrase)); !errors.Is(err, apssignature.ErrMismatch) {
				t.Errorf("Apple Pay result under the stack's algorithm: %v, want a mismatch", err)
			}
		})
	}
}

func TestMerchantParserRefusesBadPhraseSetsWithoutQuotingAPhrase(t *testing.T) {
	set := func(fields string) string {
		return `{"merchantIdentifier":"` + merchantID + `","phraseSets":[` + fields + `]}`
	}
	apple := `{"accessCode":"` + appleCode + `","shaResponsePhrase":"` + applePhrase + `"}`
	tests := []struct {
		name     string
		doc      string
		mentions []string
	}{
		{"a set without accessCode", set(`{"shaResponsePhrase":"` + applePhrase + `"}`), []string{"phraseSets[0]", "accessCode"}},
		{"a set without its phrase", set(`{"accessCode":"` + appleCode + `","previousShaResponsePhrase":"` + applePhrase + `"}`), []string{"phraseSets[0]", "shaResponsePhrase"}},
		{"no merchant identifier anywhere", `{"phraseSets":[` + apple + `]}`, []string{"phraseSets[0]", "merchantIdentifier"}},
		{"an unknown algorithm", set(`{"accessCode":"` + appleCode + `","shaResponsePhrase":"` + applePhrase + `","algorithm":"MD5-` + applePhrase + `"}`), []string{"phraseSets[0]", "algorithm"}},
		{"two sets select alike", set(apple + `,` + apple), []string{"phraseSets[1]", "phraseSets[0]"}},
		{"a set selects as the top level", strings.TrimSuffix(legacySecret, "}") + `,"phraseSets":[{"accessCode":"` + webCode + `","shaResponsePhrase":"` + applePhrase + `"}]}`, []string{"phraseSets[0]", "top level"}},
		// The stack-created secret: a generated phrase at the top level, identity not filled in.
		{"generated top level left unfilled beside sets", `{"shaResponsePhrase":"` + webPhrase + `","merchantIdentifier":"` + merchantID + `","accessCode":"","phraseSets":[` + apple + `]}`, []string{"top level", "accessCode"}},
		{"phraseSets not a list", `{"phraseSets":{"accessCode":"` + appleCode + `"}}`, []string{"JSON object"}},
		{"a set not an object", `{"phraseSets":["` + applePhrase + `"]}`, []string{"JSON object"}},
		{"too many sets", set(strings.TrimSuffix(strings.Repeat(apple+",", maxPhraseSets+1), ",")), []string{"phraseSets", "32"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := MerchantParser(apssignature.SHA256)([]byte(tc.doc))
			if err == nil {
				t.Fatalf("accepted: %+v", m)
			}
			if m.Sets != nil {
				t.Errorf("sets beside the error: %+v", m)
			}
			for _, s := range []string{webPhrase, applePhrase, appleRequestPhrase, webPrevious} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q quotes a phrase", err)
				}
			}
			for _, want := range tc.mentions {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
			}
		})
	}
}

// The set an access code selects is the only one that verifies: no fallback to another set, even
// one whose phrase signed the message.
func TestTheSelectedPhraseSetIsTheOnlyOneThatVerifies(t *testing.T) {
	m, err := MerchantParser(apssignature.SHA256)([]byte(setsSecret))
	if err != nil {
		t.Fatal(err)
	}
	other := result("UNKNOWN-CODE")
	otherMerchant := result(appleCode)
	otherMerchant["merchant_identifier"] = "MERCHANT-2"
	tests := []struct {
		name    string
		p       map[string]string
		wantSet string
		wantErr error
	}{
		{"web with web phrase", sign(result(webCode), apssignature.SHA256, webPhrase), "default", nil},
		{"web with web previous phrase", sign(result(webCode), apssignature.SHA256, webPrevious), "default", nil},
		{"Apple Pay with Apple Pay phrase", sign(result(appleCode), apssignature.HMACSHA512, applePhrase), "apple-pay", nil},
		{"Apple Pay with the web phrase", sign(result(appleCode), apssignature.SHA256, webPhrase), "apple-pay", apssignature.ErrMismatch},
		{"Apple Pay with the web phrase under its algorithm", sign(result(appleCode), apssignature.HMACSHA512, webPhrase), "apple-pay", apssignature.ErrMismatch},
		{"Apple Pay with the web previous phrase", sign(result(appleCode), apssignature.SHA256, webPrevious), "apple-pay", apssignature.ErrMismatch},
		{"web with the Apple Pay phrase", sign(result(webCode), apssignature.HMACSHA512, applePhrase), "default", apssignature.ErrMismatch},
		{"web with the Apple Pay phrase under its algorithm", sign(result(webCode), apssignature.SHA256, applePhrase), "default", apssignature.ErrMismatch},
		{"web with the Apple Pay request phrase", sign(result(webCode), apssignature.SHA256, appleRequestPhrase), "default", apssignature.ErrMismatch},
		{"unknown access code with the web phrase", sign(other, apssignature.SHA256, webPhrase), "", errUnknownSet},
		{"Apple Pay code, another merchant", sign(otherMerchant, apssignature.HMACSHA512, applePhrase), "", errUnknownSet},
		{"no access code", sign(map[string]string{"merchant_identifier": merchantID, "status": "14"}, apssignature.SHA256, webPhrase), "", errUnknownSet},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := authenticateParams(m, tc.p)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if set.Name != tc.wantSet {
				t.Errorf("set %q, want %q", set.Name, tc.wantSet)
			}
		})
	}
}

// A set added to the secret since the warm function last read it: the unknown access code makes it
// read the secret again, once, before answering 401; a code still unknown is named in the answer.
func TestAnUnknownAccessCodeRereadsTheSecretOnce(t *testing.T) {
	parse := MerchantParser(apssignature.SHA256)
	old, _ := parse([]byte(legacySecret))
	current, err := parse([]byte(setsSecret))
	if err != nil {
		t.Fatal(err)
	}
	still := result("STILL-UNKNOWN")
	tests := []struct {
		name      string
		p         map[string]string
		want      int
		wantField string
	}{
		{"Apple Pay set added since", sign(result(appleCode), apssignature.HMACSHA512, applePhrase), 200, ""},
		{"access code unknown after the refetch", sign(still, apssignature.SHA256, webPhrase), 401, "access_code"},
		{"web signed with the Apple Pay phrase", sign(result(webCode), apssignature.HMACSHA512, applePhrase), 401, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, _ := json.Marshal(tc.p)
			req := events.APIGatewayV2HTTPRequest{RouteKey: "POST /aps/transaction-feedback", Headers: map[string]string{"content-type": "application/json"}, Body: string(body)}
			var published []eventbus.Event
			h := pipeline.New(Webhook, &Steps{Merchant: &rotatingSource{old: old, current: current}}, pipeline.Deps{
				Quarantine:   &quarantine.Keeper{},
				Once:         onceFunc(func(ctx context.Context, work func(context.Context) error) error { return work(ctx) }),
				Events:       publishFunc(func(_ context.Context, evs []eventbus.Event) error { published = append(published, evs...); return nil }),
				MaxBodyBytes: DefaultMaxBodyBytes,
				Log:          slog.New(slog.NewJSONHandler(io.Discard, nil)),
			})
			resp, _ := h.Handle(context.Background(), req)
			var answer struct{ Error, Field string }
			_ = json.Unmarshal([]byte(resp.Body), &answer)
			if resp.StatusCode != tc.want || answer.Field != tc.wantField {
				t.Fatalf("answered %d %s, want %d naming %q", resp.StatusCode, resp.Body, tc.want, tc.wantField)
			}
			if (tc.want == 200) != (len(published) == 1) {
				t.Errorf("%d events published", len(published))
			}
		})
	}
}

func TestOutcomeByCommandSplitsTheStatusByOperation(t *testing.T) {
	tests := []struct {
		name                  string
		p                     map[string]string
		byStatus, byCommand   string
		combination, wantDesc string
	}{
		{"purchase success", map[string]string{"command": "PURCHASE", "status": "14"}, DetailTypePurchaseSucceeded, DetailTypePurchaseSucceeded, CombinationKnown, "Purchase success"},
		{"pending purchase", map[string]string{"command": "PURCHASE", "status": "19"}, DetailTypePending, DetailTypePurchasePending, CombinationKnown, "Transaction pending"},
		{"pending capture", map[string]string{"command": "CAPTURE", "status": "19"}, DetailTypePending, DetailTypeCapturePending, CombinationKnown, "Transaction pending"},
		{"pending from response_code", map[string]string{"command": "REFUND", "response_code": "19001"}, DetailTypePending, DetailTypeRefundPending, CombinationKnown, "Transaction pending"},
		{"uncertain void", map[string]string{"command": "VOID_AUTHORIZATION", "status": "15"}, DetailTypeUncertain, DetailTypeVoidUncertain, CombinationKnown, "Uncertain transaction"},
		{"authorization on hold", map[string]string{"command": "AUTHORIZATION", "status": "20"}, DetailTypeOnHold, DetailTypeAuthorizationOnHold, CombinationKnown, "On hold"},
		{"pending without command", map[string]string{"status": "19"}, DetailTypePending, DetailTypePending, "", "Transaction pending"},
		{"tokenization", map[string]string{"service_command": "TOKENIZATION", "status": "18"}, DetailTypeTokenizationSucceeded, DetailTypeTokenizationSucceeded, CombinationKnown, "Tokenization success"},
		{"pending tokenization", map[string]string{"service_command": "TOKENIZATION", "status": "19"}, DetailTypePending, DetailTypeCombinationUnknown, CombinationUnknown, "Transaction pending"},
		{"capture status on a refund", map[string]string{"command": "REFUND", "status": "04"}, DetailTypeCaptureSucceeded, DetailTypeCombinationUnknown, CombinationUnknown, "Capture success"},
		{"purchase status on an authorization", map[string]string{"command": "AUTHORIZATION", "status": "14"}, DetailTypePurchaseSucceeded, DetailTypeCombinationUnknown, CombinationUnknown, "Purchase success"},
		{"unknown status with a command", map[string]string{"command": "PURCHASE", "status": "10"}, DetailTypeUnknown, DetailTypeUnknown, CombinationUnknown, "Unknown status"},
		{"unknown status without a command", map[string]string{"status": "99"}, DetailTypeUnknown, DetailTypeUnknown, "", "Unknown status"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := OutcomeOf(tc.p), OutcomeByCommand(tc.p)
			if a.DetailType != tc.byStatus || b.DetailType != tc.byCommand {
				t.Errorf("detail-types %q by status, %q by command; want %q, %q", a.DetailType, b.DetailType, tc.byStatus, tc.byCommand)
			}
			for _, o := range []Outcome{a, b} {
				if o.Combination != tc.combination || o.Description != tc.wantDesc || o.Status != a.Status {
					t.Errorf("outcome %+v, want combination %q, description %q", o, tc.combination, tc.wantDesc)
				}
			}
			// The event carries the operation and how it goes with the status.
			d := event(TransactionFeedback, tc.p, time.Time{}, false, "aps:k", b, "default").Detail.(Detail)
			if d.Data.Combination != tc.combination || d.Data.Command != OperationOf(tc.p) {
				t.Errorf("data %+v", d.Data)
			}
		})
	}
	// A detail-type by command belongs to one operation and status: consumers route on it alone.
	seen := map[string]Combination{}
	for _, c := range Combinations() {
		if o, dup := seen[c.DetailType]; dup {
			t.Errorf("%q is both %+v and %+v", c.DetailType, o, c)
		}
		seen[c.DetailType] = c
	}
}

// errorVocabulary is the fixed text of the parser's errors: a phrase that happens to be part of it
// is no quote of the secret.
const errorVocabulary = "APS merchant secret: not a JSON object of merchantIdentifier, accessCode, shaResponsePhrase and phraseSets" +
	" phraseSets holds more than 32 sets, top level phraseSets[0123456789]: shaResponsePhrase is empty merchantIdentifier is empty accessCode is empty" +
	" algorithm is not SHA-256, SHA-512, HMAC-SHA256 or HMAC-SHA512 same accessCode and merchantIdentifier as , so a message could not select one set" +
	" apssignature: no phrase configured"

// phrasesIn collects the phrase values of a secret document, as far as it reads as JSON.
func phrasesIn(doc string) []string {
	var v any
	if json.Unmarshal([]byte(doc), &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && strings.Contains(strings.ToLower(k), "phrase") {
					out = append(out, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// FuzzMerchantParser: any secret is either refused, with an error that quotes none of its
// phrases and no sets beside it, or read into complete sets that each select only messages of
// their own identity, without two sets selecting alike; an unsigned or foreign-signed message
// never verifies.
func FuzzMerchantParser(f *testing.F) {
	for _, s := range []string{
		legacySecret, setsSecret, `{}`, `null`, `[]`, `{"phraseSets":null}`,
		`{"merchantIdentifier":"m","phraseSets":[{"accessCode":"a","shaResponsePhrase":"p1"},{"accessCode":"b","shaResponsePhrase":"p2","algorithm":"SHA-512"}]}`,
		`{"merchantIdentifier":"m","phraseSets":[{"accessCode":"a","shaResponsePhrase":"p1"},{"accessCode":"a","shaResponsePhrase":"p2"}]}`,
		`{"shaResponsePhrase":"generated","merchantIdentifier":"","accessCode":"","phraseSets":[{"merchantIdentifier":"m","accessCode":"a","shaResponsePhrase":"p"}]}`,
		`{"SHARESPONSEPHRASE":"p","merchantidentifier":"m","AccessCode":"a","phrasesets":[{"accessCode":"b","shaResponsePhrase":"q","algorithm":"x"}]}`,
		// Several merchants, labeled by account, by name, or by the top level's.
		`{"merchantIdentifier":"m","accessCode":"a","shaResponsePhrase":"p","account":"acme","phraseSets":[{"name":"b-merchant","merchantIdentifier":"n","accessCode":"b","shaResponsePhrase":"q"},{"account":"Bad Label","accessCode":"c","shaResponsePhrase":"r"}]}`,
	} {
		f.Add(s)
	}
	foreign, _ := apssignature.NewSigner(apssignature.SHA256, "a phrase no secret holds")
	f.Fuzz(func(t *testing.T, doc string) {
		m, err := MerchantParser(apssignature.SHA256)([]byte(doc))
		if err != nil {
			if m.Sets != nil {
				t.Fatalf("sets beside an error: %+v", m)
			}
			for _, p := range phrasesIn(doc) {
				if p != "" && strings.Contains(err.Error(), p) && !strings.Contains(errorVocabulary, p) {
					t.Fatalf("error %q quotes phrase %q", err, p)
				}
			}
			return
		}
		if len(m.Sets) == 0 || len(m.Sets) > maxPhraseSets+1 {
			t.Fatalf("%d sets", len(m.Sets))
		}
		for i, s := range m.Sets {
			if s.Name == "" || s.Identifier == "" || s.AccessCode == "" || s.Verifier == nil {
				t.Fatalf("set %d incomplete: %+v", i, s)
			}
			if err := account.Check(s.Account); err != nil {
				t.Fatalf("set %d: %v", i, err)
			}
			p := map[string]string{"merchant_identifier": s.Identifier, "access_code": s.AccessCode, "status": "14"}
			got, ok := m.Select(p)
			if !ok || got.Identifier != s.Identifier || got.AccessCode != s.AccessCode || got.Name != s.Name || got.Account != s.Account {
				t.Fatalf("set %d's identity selects %+v, %v", i, got, ok)
			}
			for j, o := range m.Sets[:i] {
				if o.Identifier == s.Identifier && o.AccessCode == s.AccessCode {
					t.Fatalf("sets %d and %d select alike", j, i)
				}
			}
			if _, err := authenticateParams(m, p); !errors.Is(err, apssignature.ErrMissing) {
				t.Fatalf("unsigned message for set %d: %v", i, err)
			}
			p[apssignature.SignatureParam] = foreign.Sign(p)
			if _, err := authenticateParams(m, p); err == nil && !slices.Contains(phrasesIn(doc), "a phrase no secret holds") {
				t.Fatalf("set %d verified a foreign signature", i)
			}
			p["access_code"] += "x"
			if got, ok := m.Select(p); ok && (got.AccessCode != p["access_code"] || got.Identifier != s.Identifier) {
				t.Fatalf("another access code selects %+v", got)
			}
		}
	})
}

// authenticateParams is authenticate with the signed text laid out here, as Authenticate does.
func authenticateParams(m Merchant, p map[string]string) (PhraseSet, error) {
	return authenticate(m, p, apssignature.TextOf(p).Canonical)
}
