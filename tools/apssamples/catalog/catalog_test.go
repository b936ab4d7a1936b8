package catalog

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// The web set is the secret's top level, under SHA-256 unless it names an algorithm; the Apple
// Pay set is phraseSets' "apple-pay", with its own access code, phrase and algorithm and the top
// level's merchantIdentifier unless it names one.
func TestParseMerchantReadsTheWebAndTheApplePaySet(t *testing.T) {
	m, err := ParseMerchant([]byte(`{"merchantIdentifier": "M1", "accessCode": "web-code", "shaResponsePhrase": "web-phrase",
		"phraseSets": [{"name": "other", "accessCode": "o", "shaResponsePhrase": "o"},
		{"name": "apple-pay", "accessCode": "ap-code", "shaResponsePhrase": "ap-phrase", "algorithm": "SHA-512"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Merchant{
		Web:      Set{Identifier: "M1", AccessCode: "web-code", Phrase: "web-phrase", Algorithm: apssignature.SHA256},
		ApplePay: Set{Identifier: "M1", AccessCode: "ap-code", Phrase: "ap-phrase", Algorithm: apssignature.SHA512},
	}
	if m != want {
		t.Errorf("got %+v, want %+v", m, want)
	}
}

// A secret the samples cannot be signed with is an error, never samples with an empty field.
func TestParseMerchantRefusesASecretMissingASet(t *testing.T) {
	for name, raw := range map[string]string{
		"not JSON":          `{`,
		"no Apple Pay set":  `{"merchantIdentifier": "M1", "accessCode": "c", "shaResponsePhrase": "p"}`,
		"no web phrase":     `{"merchantIdentifier": "M1", "accessCode": "c", "phraseSets": [{"name": "apple-pay", "accessCode": "a", "shaResponsePhrase": "p"}]}`,
		"no access code":    `{"merchantIdentifier": "M1", "shaResponsePhrase": "p", "phraseSets": [{"name": "apple-pay", "accessCode": "a", "shaResponsePhrase": "p"}]}`,
		"unknown algorithm": `{"merchantIdentifier": "M1", "accessCode": "c", "shaResponsePhrase": "p", "phraseSets": [{"name": "apple-pay", "accessCode": "a", "shaResponsePhrase": "p", "algorithm": "MD5"}]}`,
	} {
		if _, err := ParseMerchant([]byte(raw)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// Each sample is its own aps-*.json file, and is addressed to the set that signs it.
func TestEverySampleHasItsOwnFileAndNamesItsSet(t *testing.T) {
	m, err := LoadMerchant(localaws.RepoRoot())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range Samples(m) {
		if seen[s.File] || !strings.HasPrefix(s.File, "aps-") || filepath.Ext(s.File) != ".json" || filepath.Base(s.File) != s.File {
			t.Errorf("file %q: twice, or not an aps-*.json of events/", s.File)
		}
		seen[s.File] = true
		set := s.Set(m)
		if s.Params["access_code"] != set.AccessCode || s.Params["merchant_identifier"] != set.Identifier {
			t.Errorf("%s: addressed to %s/%s, signed by the set of %s/%s", s.File, s.Params["merchant_identifier"], s.Params["access_code"], set.Identifier, set.AccessCode)
		}
		if s.Feedback != "transaction" && s.Feedback != "notification" {
			t.Errorf("%s: feedback route %q", s.File, s.Feedback)
		}
	}
}
