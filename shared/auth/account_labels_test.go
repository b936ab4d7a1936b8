package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/auth"
	"github.com/amazon-webhook-gateway/gateway/shared/oauth"
)

// clientTokens accepts "client:<id>[:<aud>,<aud>]" (a token issued to client id, an accepted
// audience, with those audiences), "azp:<id>" (issued to id, named by azp), "stranger:<id>" (a
// token of client id, which is not an accepted audience) and "aud:<a>,<b>" (no client, those
// audiences).
type clientTokens struct{}

func (clientTokens) Verify(_ context.Context, tok string) (*oauth.Claims, error) {
	kind, v, _ := strings.Cut(tok, ":")
	id, auds, _ := strings.Cut(v, ":")
	c := &oauth.Claims{}
	if auds != "" {
		c.Audience = strings.Split(auds, ",")
	}
	switch kind {
	case "client":
		c.ClientID, c.ClientAccepted = id, true
	case "azp":
		c.AuthorizedParty, c.ClientAccepted = id, true
	case "stranger":
		c.ClientID, c.Audience = id, []string{"client-a"}
	case "aud":
		c.Audience = strings.Split(v, ",")
	default:
		return nil, fmt.Errorf("%w: bad signature", oauth.ErrInvalidToken)
	}
	return c, nil
}

// Three accounts: the stack's secret (no label: default) and two account secrets.
var (
	credsA = auth.Credentials{Account: "acme-a", APIKeys: []string{"key-a"}, AppIDs: []string{"app-a"}}
	credsB = auth.Credentials{Account: "acme-b", APIKeys: []string{"key-b"}, QueryKeys: []string{"qkey-b"},
		Basic: []auth.BasicCredential{{Username: "user-b", Password: "pw-b"}}}
)

func accounts(def, a, b *source) *auth.Authenticator {
	x, err := auth.New(auth.Config{
		Modes:       []auth.Mode{auth.ModeAPIKey, auth.ModeQuery, auth.ModeBasic, auth.ModeOAuth},
		Credentials: def, Accounts: []auth.CredentialSource{a, b}, Tokens: clientTokens{},
		ClientAccounts: map[string]string{"client-a": "acme-a", "client-b": "acme-b"},
	})
	if err != nil {
		panic(err)
	}
	return x
}

func stable(c auth.Credentials) *source { return &source{current: c, next: c} }

// Identify names the one account whose credential the request presents, whichever mode it came
// by; a credential of two accounts, or of none, names no account, and a token's audience list
// never chooses the label.
func TestIdentifyNamesTheAccountOfTheMatchingCredential(t *testing.T) {
	down := errors.New("secrets manager down")
	for _, tc := range []struct {
		name      string
		def, a, b *source
		headers   map[string]string
		query     map[string]string
		want      string
		wantApps  []string
		wantErr   error
	}{
		{"default key", stable(creds), stable(credsA), stable(credsB), map[string]string{"x-api-key": "key-current"}, nil, "default", nil, nil},
		{"A's key", stable(creds), stable(credsA), stable(credsB), map[string]string{"x-api-key": "key-a"}, nil, "acme-a", []string{"app-a"}, nil},
		{"B's key", stable(creds), stable(credsA), stable(credsB), map[string]string{"x-api-key": "key-b"}, nil, "acme-b", nil, nil},
		{"B's query key", stable(creds), stable(credsA), stable(credsB), nil, map[string]string{"api_key": "qkey-b"}, "acme-b", nil, nil},
		{"B's Basic user", stable(creds), stable(credsA), stable(credsB), map[string]string{"authorization": basic("user-b", "pw-b")}, nil, "acme-b", nil, nil},
		{"A's key as B's query key", stable(creds), stable(credsA), stable(credsB), nil, map[string]string{"api_key": "key-a"}, "", nil, auth.ErrUnauthorized},
		{"A's key with B's Basic user", stable(creds), stable(credsA), stable(credsB), map[string]string{"x-api-key": "key-a", "authorization": basic("user-b", "pw-b")}, nil, "", nil, auth.ErrAmbiguous},
		{"a key in two accounts", stable(creds), stable(credsA), stable(auth.Credentials{Account: "acme-b", APIKeys: []string{"key-b", "key-a"}}), map[string]string{"x-api-key": "key-a"}, nil, "", nil, auth.ErrAmbiguous},
		{"unknown key", stable(creds), stable(credsA), stable(credsB), map[string]string{"x-api-key": "key-c"}, nil, "", nil, auth.ErrUnauthorized},
		{"A's secret down, B's key", stable(creds), &source{err: down}, stable(credsB), map[string]string{"x-api-key": "key-b"}, nil, "acme-b", nil, nil},
		{"A's secret down, A's key", stable(creds), &source{err: down}, stable(credsB), map[string]string{"x-api-key": "key-a"}, nil, "", nil, down},
		{"A's key rotated in since the last read", stable(creds), &source{next: credsA}, stable(credsB), map[string]string{"x-api-key": "key-a"}, nil, "acme-a", []string{"app-a"}, nil},
		{"client A", stable(creds), stable(credsA), stable(credsB), map[string]string{"authorization": "Bearer client:client-a"}, nil, "acme-a", nil, nil},
		{"client B by azp", stable(creds), stable(credsA), stable(credsB), map[string]string{"authorization": "Bearer azp:client-b"}, nil, "acme-b", nil, nil},
		{"unlisted client", stable(creds), stable(credsA), stable(credsB), map[string]string{"authorization": "Bearer client:client-z"}, nil, "default", nil, nil},
		{"client A naming itself in aud", stable(creds), stable(credsA), stable(credsB), map[string]string{"authorization": "Bearer client:client-a:client-a,x"}, nil, "acme-a", nil, nil},
		// The audience list is the holder's claim: it never chooses the label.
		{"client A's token whose aud names client B", stable(creds), stable(credsA), stable(credsB), map[string]string{"authorization": "Bearer client:client-a:client-b"}, nil, "", nil, auth.ErrUnauthorized},
		{"an unlisted client's token whose aud names client B", stable(creds), stable(credsA), stable(credsB), map[string]string{"authorization": "Bearer client:client-z:client-b"}, nil, "", nil, auth.ErrUnauthorized},
		{"no client, aud of B", stable(creds), stable(credsA), stable(credsB), map[string]string{"authorization": "Bearer aud:x,client-b"}, nil, "", nil, auth.ErrUnauthorized},
		{"a client that is no accepted audience", stable(creds), stable(credsA), stable(credsB), map[string]string{"authorization": "Bearer stranger:client-x"}, nil, "", nil, auth.ErrUnauthorized},
		{"auds of two accounts", stable(creds), stable(credsA), stable(credsB), map[string]string{"authorization": "Bearer aud:client-a,client-b"}, nil, "", nil, auth.ErrUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := accounts(tc.def, tc.a, tc.b).Identify(context.Background(), req(tc.headers, tc.query))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || id.Label != "" {
					t.Fatalf("identity %+v, err %v; want no account and %v", id, err, tc.wantErr)
				}
				return
			}
			if err != nil || id.Label != tc.want || id.Account() != tc.want || fmt.Sprint(id.AppIDs) != fmt.Sprint(tc.wantApps) {
				t.Fatalf("identity %+v, err %v; want %s %v", id, err, tc.want, tc.wantApps)
			}
		})
	}
}

// A secret's "account" member is its label (a secret without one has none: the default
// account's); a label that is not one, or not a string, is refused without quoting the keys.
func TestParseCredentialsReadsTheAccountLabel(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want, wantErr string
		apps                     []string
	}{
		{"before labels", `{"apiKeys":"k"}`, "", "", nil},
		{"labeled", `{"apiKeys":"k","account":"acme-eu","appIds":"amzn1.app"}`, "acme-eu", "", []string{"amzn1.app"}},
		{"not a label", `{"apiKeys":"secret-key-value","account":"Acme EU"}`, "", `field "account"`, nil},
		{"label of the wrong type", `{"apiKeys":"secret-key-value","account":["acme"]}`, "", "wrong type", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := auth.ParseCredentials([]byte(tc.doc))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "secret-key-value") {
					t.Fatalf("err = %v, want one naming %q and no key", err, tc.wantErr)
				}
				return
			}
			if err != nil || c.Account != tc.want || fmt.Sprint(c.AppIDs) != fmt.Sprint(tc.apps) {
				t.Fatalf("%+v, %v", c, err)
			}
		})
	}
}

// FuzzIdentify: whatever a request presents, the account named is the one account whose secret
// holds everything that matched, never another; a request matching two accounts names none.
func FuzzIdentify(f *testing.F) {
	f.Add("key-a", "", "", "")
	f.Add("key-b", "qkey-b", "", "")
	f.Add("", "", "user-b", "pw-b")
	f.Add("key-a", "", "user-b", "pw-b")
	f.Add("key-current", "qkey-b", "", "")
	f.Add("key-a ", "qkey", "user-b", "pw-b\x00")
	f.Fuzz(func(t *testing.T, apiKey, queryKey, user, password string) {
		headers := map[string]string{"x-api-key": apiKey}
		if user != "" || password != "" {
			headers["authorization"] = basic(user, password)
		}
		id, err := accounts(stable(creds), stable(credsA), stable(credsB)).Identify(context.Background(), req(headers, map[string]string{"api_key": queryKey}))
		// Which accounts the request holds a credential of (Basic decodes to user:password split
		// at the first colon, so a user with a colon is another user).
		holds := map[string]bool{
			"default": apiKey == "key-current" || apiKey == "key-previous" || queryKey == "qkey" ||
				(!strings.Contains(user, ":") && user == "amazon" && password == "pw:with:colons"),
			"acme-a": apiKey == "key-a",
			"acme-b": apiKey == "key-b" || queryKey == "qkey-b" || (user == "user-b" && password == "pw-b"),
		}
		n := 0
		for _, h := range holds {
			if h {
				n++
			}
		}
		switch {
		case n == 0 && !errors.Is(err, auth.ErrUnauthorized):
			t.Fatalf("no credential: %+v, %v", id, err)
		case n == 1 && (err != nil || !holds[id.Label]):
			t.Fatalf("one account's credential %v: %+v, %v", holds, id, err)
		case n > 1 && (!errors.Is(err, auth.ErrAmbiguous) || id.Label != ""):
			t.Fatalf("credentials of %v: %+v, %v", holds, id, err)
		}
	})
}

func TestABoundSecretIsItsLabelsOrFailsToLoad(t *testing.T) {
	for _, tc := range []struct {
		doc, want, wantErr string
	}{
		{`{"apiKeys":"k"}`, "acme-a", ""},
		{`{"apiKeys":"k","account":"acme-a"}`, "acme-a", ""},
		{`{"apiKeys":"k","account":"acme-b"}`, "", `the secret names account "acme-b", but is configured as "acme-a"'s`},
		{`{"apiKeys":"k","account":"default"}`, "", `names account "default"`},
	} {
		c, err := auth.ParseCredentialsOf("acme-a")([]byte(tc.doc))
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: err %v, want %q", tc.doc, err, tc.wantErr)
		case tc.wantErr != "" && strings.Contains(err.Error(), `"k"`):
			t.Errorf("%s: the error holds a key: %v", tc.doc, err)
		case tc.wantErr == "" && (err != nil || c.Account != tc.want):
			t.Errorf("%s: account %q, err %v; want %q", tc.doc, c.Account, err, tc.want)
		}
	}
}
