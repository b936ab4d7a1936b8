package aps

import (
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
)

// Each phrase set's account label: its own, else the top level's (default when absent), except a
// named set of another merchant identifier, labeled by its name.
func TestEachPhraseSetIsLabeledWithItsAccount(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string // per set, in order
		wantErr   string
	}{
		{"format before phrase sets", legacySecret, []string{"default"}, ""},
		{"phrase sets of one merchant", setsSecret, nil, ""},
		{"top level names the account", `{"merchantIdentifier":"m","accessCode":"a","shaResponsePhrase":"p","account":"acme",
			"phraseSets":[{"name":"apple-pay","accessCode":"b","shaResponsePhrase":"q"}]}`, []string{"acme", "acme"}, ""},
		{"another merchant's named set", `{"merchantIdentifier":"m","accessCode":"a","shaResponsePhrase":"p",
			"phraseSets":[{"name":"merchant-b","merchantIdentifier":"n","accessCode":"b","shaResponsePhrase":"q"}]}`, []string{"default", "merchant-b"}, ""},
		{"another merchant's set named with no label", `{"merchantIdentifier":"m","accessCode":"a","shaResponsePhrase":"p",
			"phraseSets":[{"name":"Merchant B","merchantIdentifier":"n","accessCode":"b","shaResponsePhrase":"q"}]}`, []string{"default", "default"}, ""},
		{"explicit account wins", `{"merchantIdentifier":"m","accessCode":"a","shaResponsePhrase":"p",
			"phraseSets":[{"name":"merchant-b","account":"acme-b","merchantIdentifier":"n","accessCode":"b","shaResponsePhrase":"q"}]}`, []string{"default", "acme-b"}, ""},
		{"same merchant, own account", `{"merchantIdentifier":"m","accessCode":"a","shaResponsePhrase":"p",
			"phraseSets":[{"name":"apple-pay","account":"acme-pay","accessCode":"b","shaResponsePhrase":"q"}]}`, []string{"default", "acme-pay"}, ""},
		{"sets only, own identifiers", `{"phraseSets":[{"name":"x","merchantIdentifier":"m","accessCode":"a","shaResponsePhrase":"p"},
			{"name":"y","merchantIdentifier":"n","accessCode":"b","shaResponsePhrase":"q","account":"acme-y"}]}`, []string{"default", "acme-y"}, ""},
		{"invalid account", `{"merchantIdentifier":"m","accessCode":"a","shaResponsePhrase":"secret-phrase","account":"Acme EU"}`, nil, `top level: field "account"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := MerchantParser(apssignature.SHA256)([]byte(tc.doc))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "secret-phrase") {
					t.Fatalf("err = %v, want one naming %q and no phrase", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range m.Sets {
				want := "default"
				if tc.want != nil {
					want = tc.want[i]
				}
				if s.Account != want {
					t.Errorf("set %d (%s): account %q, want %q", i, s.Name, s.Account, want)
				}
			}
		})
	}
}
