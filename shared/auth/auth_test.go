package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/auth"
	"github.com/amazon-webhook-gateway/gateway/shared/oauth"
)

// source is a CredentialSource whose value changes on Refresh, as after a rotation.
type source struct {
	current, next auth.Credentials
	err           error
	gets, refresh int
}

func (s *source) Get(context.Context) (auth.Credentials, error) {
	s.gets++
	return s.current, s.err
}

func (s *source) Refresh(context.Context) (auth.Credentials, bool, error) {
	s.refresh++
	if s.err != nil {
		return auth.Credentials{}, false, s.err
	}
	s.current = s.next
	return s.current, true, nil
}

// tokens accepts exactly one token.
type tokens struct {
	good string
	err  error
}

func (v tokens) Verify(_ context.Context, tok string) (*oauth.Claims, error) {
	if v.err != nil {
		return nil, v.err
	}
	if tok == v.good {
		return &oauth.Claims{}, nil
	}
	return nil, fmt.Errorf("%w: bad signature", oauth.ErrInvalidToken)
}

var creds = auth.Credentials{
	APIKeys:   []string{"key-current", "key-previous"},
	QueryKeys: []string{"qkey"},
	Basic:     []auth.BasicCredential{{Username: "amazon", Password: "pw:with:colons"}},
}

func req(headers, query map[string]string) *events.APIGatewayV2HTTPRequest {
	return &events.APIGatewayV2HTTPRequest{Headers: headers, QueryStringParameters: query}
}

func basic(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }

func TestAuthenticate(t *testing.T) {
	all := []auth.Mode{auth.ModeAPIKey, auth.ModeQuery, auth.ModeBasic, auth.ModeOAuth}
	tests := []struct {
		name  string
		modes []auth.Mode
		req   *events.APIGatewayV2HTTPRequest
		ok    bool
	}{
		{"current api key", all, req(map[string]string{"x-api-key": "key-current"}, nil), true},
		{"previous api key", all, req(map[string]string{"x-api-key": "key-previous"}, nil), true},
		{"custom header name ignored unless configured", all, req(map[string]string{"x-other": "key-current"}, nil), false},
		{"query key", all, req(nil, map[string]string{"api_key": "qkey"}), true},
		{"basic, password containing colons", all, req(map[string]string{"authorization": basic("amazon", "pw:with:colons")}, nil), true},
		{"basic scheme in lower case", all, req(map[string]string{"authorization": "basic " + base64.StdEncoding.EncodeToString([]byte("amazon:pw:with:colons"))}, nil), true},
		{"bearer", all, req(map[string]string{"authorization": "Bearer good-token"}, nil), true},
		{"nothing", all, req(nil, nil), false},
		{"wrong key", all, req(map[string]string{"x-api-key": "key-currentX"}, nil), false},
		{"key of another mode", all, req(map[string]string{"x-api-key": "qkey"}, nil), false},
		{"wrong token", all, req(map[string]string{"authorization": "Bearer bad-token"}, nil), false},
		{"basic without colon", all, req(map[string]string{"authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("amazon"))}, nil), false},
		{"basic empty password", all, req(map[string]string{"authorization": basic("amazon", "")}, nil), false},
		{"api key mode off", []auth.Mode{auth.ModeQuery}, req(map[string]string{"x-api-key": "key-current"}, nil), false},
		{"query mode off", []auth.Mode{auth.ModeAPIKey}, req(nil, map[string]string{"api_key": "qkey"}), false},
		{"basic mode off", []auth.Mode{auth.ModeAPIKey}, req(map[string]string{"authorization": basic("amazon", "pw:with:colons")}, nil), false},
		{"oauth mode off", []auth.Mode{auth.ModeAPIKey}, req(map[string]string{"authorization": "Bearer good-token"}, nil), false},
		{"bad token, good key", all, req(map[string]string{"authorization": "Bearer bad", "x-api-key": "key-current"}, nil), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := auth.New(auth.Config{Modes: tc.modes, Credentials: &source{current: creds, next: creds}, Tokens: tokens{good: "good-token"}})
			if err != nil {
				t.Fatal(err)
			}
			err = a.Authenticate(context.Background(), tc.req)
			if tc.ok && err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !tc.ok && !errors.Is(err, auth.ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrUnauthorized", err)
			}
		})
	}
}

func TestRotatedKeyAcceptedAfterRefresh(t *testing.T) {
	src := &source{current: auth.Credentials{APIKeys: []string{"old"}}, next: auth.Credentials{APIKeys: []string{"new"}}}
	a, err := auth.New(auth.Config{Modes: []auth.Mode{auth.ModeAPIKey}, Credentials: src})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Authenticate(context.Background(), req(map[string]string{"x-api-key": "new"}, nil)); err != nil {
		t.Fatalf("rotated key rejected: %v", err)
	}
	if src.refresh != 1 {
		t.Errorf("refreshes = %d, want 1", src.refresh)
	}
	// A request with no credential at all must not cost a secrets fetch.
	gets := src.gets
	_ = a.Authenticate(context.Background(), req(nil, nil))
	if src.gets != gets {
		t.Errorf("an empty request fetched the secret")
	}
}

func TestOutagesAreNotRejections(t *testing.T) {
	down := errors.New("secrets manager down")
	a, err := auth.New(auth.Config{
		Modes:       []auth.Mode{auth.ModeAPIKey, auth.ModeOAuth},
		Credentials: &source{err: down},
		Tokens:      tokens{err: fmt.Errorf("%w: jwks", oauth.ErrKeysUnavailable)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*events.APIGatewayV2HTTPRequest{
		"secret":  req(map[string]string{"x-api-key": "k"}, nil),
		"signing": req(map[string]string{"authorization": "Bearer t"}, nil),
	} {
		err := a.Authenticate(context.Background(), r)
		if err == nil || errors.Is(err, auth.ErrUnauthorized) {
			t.Errorf("%s outage: err = %v, want a non-ErrUnauthorized error", name, err)
		}
	}
}

func TestConfiguration(t *testing.T) {
	if _, err := auth.New(auth.Config{Modes: []auth.Mode{auth.ModeBasic}}); err == nil {
		t.Error("basic mode without credentials accepted")
	}
	if _, err := auth.New(auth.Config{Modes: []auth.Mode{auth.ModeOAuth}}); err == nil {
		t.Error("oauth mode without a verifier accepted")
	}
	if _, err := auth.New(auth.Config{}); err == nil {
		t.Error("no mode accepted")
	}
	a, err := auth.New(auth.Config{Modes: []auth.Mode{auth.ModeAPIKey}, Credentials: &source{}})
	if err != nil || a.Challenge() != "" {
		t.Errorf("api key only: challenge %q, err %v", a.Challenge(), err)
	}
	a, _ = auth.New(auth.Config{Modes: []auth.Mode{auth.ModeBasic, auth.ModeOAuth}, Credentials: &source{}, Tokens: tokens{}})
	if c := a.Challenge(); !strings.HasPrefix(c, `Basic realm="amazon-webhook-gateway"`) || !strings.Contains(c, "Bearer") {
		t.Errorf("challenge = %q", c)
	}

	for in, want := range map[string]string{
		"api_key":                  "[api_key]",
		" API_KEY , oauth,api_key": "[api_key oauth]",
		"query,basic":              "[query basic]",
	} {
		got, err := auth.ParseModes(in)
		if err != nil || fmt.Sprint(got) != want {
			t.Errorf("ParseModes(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", " , ", "apikey", "api_key,jwt"} {
		if _, err := auth.ParseModes(in); err == nil {
			t.Errorf("ParseModes(%q) accepted", in)
		}
	}
}

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{`{"apiKeys":"a"}`, "{[a] [] []}", false},
		{`{"apiKeys":["a","","b"],"queryKeys":"q"}`, "{[a b] [q] []}", false},
		{`{"basicAuth":{"username":"u","password":"p"}}`, "{[] [] [{u p}]}", false},
		{`{"basicAuth":[{"username":"u","password":"p"},{"username":"u2","password":""}]}`, "{[] [] [{u p}]}", false},
		{`{"apiKeys":42}`, "", true},
		{`{"basicAuth":"u:p"}`, "", true},
		{`not json SECRETVALUE`, "", true},
	}
	for _, tc := range tests {
		got, err := auth.ParseCredentials([]byte(tc.in))
		if tc.wantErr {
			if err == nil {
				t.Errorf("%s: accepted", tc.in)
			} else if strings.Contains(err.Error(), "SECRETVALUE") || strings.Contains(err.Error(), "u:p") {
				t.Errorf("%s: error quotes the secret: %v", tc.in, err)
			}
			continue
		}
		norm := fmt.Sprintf("{%v %v %v}", nz(got.APIKeys), nz(got.QueryKeys), got.Basic)
		if err != nil || norm != tc.want {
			t.Errorf("%s: got %s, %v; want %s", tc.in, norm, err, tc.want)
		}
	}
}

func nz(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// FuzzAuthenticate: whatever a request carries, it is accepted only when it holds a configured
// credential, and never panics.
func FuzzAuthenticate(f *testing.F) {
	f.Add("key-current", "", "")
	f.Add("", "qkey", "")
	f.Add("", "", basic("amazon", "pw:with:colons"))
	f.Add("", "", "Bearer good-token")
	f.Add("key-current\x00", "qkey ", "Basic ====")
	f.Add("", "", "Bearer ")
	f.Fuzz(func(t *testing.T, apiKey, queryKey, authorization string) {
		a, err := auth.New(auth.Config{
			Modes:       []auth.Mode{auth.ModeAPIKey, auth.ModeQuery, auth.ModeBasic, auth.ModeOAuth},
			Credentials: &source{current: creds, next: creds},
			Tokens:      tokens{good: "good-token"},
		})
		if err != nil {
			t.Fatal(err)
		}
		r := req(map[string]string{"x-api-key": apiKey, "authorization": authorization}, map[string]string{"api_key": queryKey})
		err = a.Authenticate(context.Background(), r)
		legit := apiKey == "key-current" || apiKey == "key-previous" || queryKey == "qkey" ||
			hasCredential(authorization, "Bearer", "good-token") || hasCredential(authorization, "Basic", base64.StdEncoding.EncodeToString([]byte("amazon:pw:with:colons")))
		if legit != (err == nil) {
			t.Fatalf("api key %q, query %q, authorization %q: err = %v", apiKey, queryKey, authorization, err)
		}
	})
}

// hasCredential: auth schemes are case-insensitive (RFC 7235) and surrounding blanks are ignored.
func hasCredential(h, scheme, want string) bool {
	got, v, _ := strings.Cut(h, " ")
	if !strings.EqualFold(got, scheme) {
		return false
	}
	v = strings.TrimSpace(v)
	if scheme == "Basic" {
		raw, err := base64.StdEncoding.DecodeString(v)
		wantRaw, _ := base64.StdEncoding.DecodeString(want)
		return err == nil && string(raw) == string(wantRaw)
	}
	return v == want
}
