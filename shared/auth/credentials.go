package auth

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
)

// Credentials are the shared secrets Amazon may present. Each list may hold several values at
// once, so a new value can be added, given to Amazon, and the old one removed later without downtime.
//
// Stored in Secrets Manager as JSON; every list also accepts a single value:
//
//	{"apiKeys": ["current", "previous"], "queryKeys": "k", "basicAuth": [{"username": "u", "password": "p"}],
//	 "account": "acme-eu", "appIds": ["amzn1.sp.solution.…"]}
//
// account (the label of the account these credentials are, account.Default when absent) and
// appIds (the account's Amazon Shipping application IDs, compared with a delivery's appId) are
// optional: a secret without them is the default account's, as before labels.
type Credentials struct {
	APIKeys   []string
	QueryKeys []string
	Basic     []BasicCredential
	Account   string
	AppIDs    []string
}

// label is c's account label.
func (c Credentials) label() string {
	if c.Account == "" {
		return account.Default
	}
	return c.Account
}

// BasicCredential is one username and password pair.
type BasicCredential struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// stringList decodes a JSON string or array of strings.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("must be a string or an array of strings")
	}
	*l = many
	return nil
}

type basicList []BasicCredential

func (l *basicList) UnmarshalJSON(b []byte) error {
	var one BasicCredential
	if err := json.Unmarshal(b, &one); err == nil {
		*l = basicList{one}
		return nil
	}
	var many []BasicCredential
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("must be an object or an array of {username, password} objects")
	}
	*l = many
	return nil
}

// ParseCredentialsOf is ParseCredentials for the secret the configuration binds to account
// label: the credentials are label's, and a secret that names another account fails to load
// (naming both labels), since whoever may write the secret must not relabel its account.
func ParseCredentialsOf(label string) func([]byte) (Credentials, error) {
	return func(raw []byte) (Credentials, error) {
		c, err := ParseCredentials(raw)
		if err != nil {
			return c, err
		}
		if c.Account != "" && c.Account != label {
			return Credentials{}, fmt.Errorf("credentials: the secret names account %q, but is configured as %q's", c.Account, label)
		}
		c.Account = label
		return c, nil
	}
}

// ParseCredentials decodes the secret's JSON. Errors name the field, never a value.
func ParseCredentials(raw []byte) (Credentials, error) {
	var doc struct {
		APIKeys   stringList `json:"apiKeys"`
		QueryKeys stringList `json:"queryKeys"`
		BasicAuth basicList  `json:"basicAuth"`
		Account   string     `json:"account"`
		AppIDs    stringList `json:"appIds"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return Credentials{}, fmt.Errorf("credentials secret: field %q has the wrong type", ute.Field)
		}
		// json errors may quote the offending input; say only where the problem is.
		return Credentials{}, errors.New("credentials secret: not a JSON object of apiKeys, queryKeys, basicAuth, account, appIds")
	}
	c := Credentials{APIKeys: nonEmpty(doc.APIKeys), QueryKeys: nonEmpty(doc.QueryKeys), Account: doc.Account, AppIDs: nonEmpty(doc.AppIDs)}
	if c.Account != "" {
		if err := account.Check(c.Account); err != nil {
			return Credentials{}, fmt.Errorf("credentials secret: field \"account\": %w", err)
		}
	}
	for _, b := range doc.BasicAuth {
		if b.Username != "" && b.Password != "" {
			c.Basic = append(c.Basic, b)
		}
	}
	return c, nil
}

// nonEmpty drops empty strings: an empty key would let an empty credential through.
func nonEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
