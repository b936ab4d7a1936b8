package safelist

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	exCreds = Credentials{MerchantID: exMerchantID, AccessKeyID: exAccessKeyID, SecretKey: exSecretKey}
	exClock = func() time.Time { return time.Date(2024, 1, 13, 10, 11, 12, 0, time.UTC) }
)

// --- An independent implementation of the signing recipe, for the stand-in server. It shares no
// code with the package: encoding via url.QueryEscape (then %20 for "+"), its own sorting,
// padded base64 with the padding cut.

func refEncode(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

func refPairs(kv [][2]string) string {
	enc := make([][2]string, len(kv))
	for i, p := range kv {
		enc[i] = [2]string{refEncode(p[0]), refEncode(p[1])}
	}
	sort.Slice(enc, func(i, j int) bool {
		if enc[i][0] != enc[j][0] {
			return enc[i][0] < enc[j][0]
		}
		return enc[i][1] < enc[j][1]
	})
	parts := make([]string, len(enc))
	for i, p := range enc {
		parts[i] = p[0] + "=" + p[1]
	}
	return strings.Join(parts, "&")
}

func refHMAC(key []byte, msg string) []byte {
	m := hmac.New(sha512.New384, key)
	io.WriteString(m, msg)
	return m.Sum(nil)
}

// refSignature recomputes the signature of a request as Amazon Pay would from what it received:
// the Host header, path, query, every x-amz-* header and the JSON body's top-level fields.
func refSignature(r *http.Request, body []byte, secret string) (string, error) {
	var query, headers, params [][2]string
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			query = append(query, [2]string{k, v})
		}
	}
	for k, vs := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			for _, v := range vs {
				headers = append(headers, [2]string{lk, v})
			}
		}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return "", fmt.Errorf("body is not a JSON object: %v", err)
	}
	for k, raw := range fields {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("body field %s is not a string", k)
		}
		params = append(params, [2]string{k, s})
	}
	canonical := r.Method + "\n" + r.Host + r.URL.Path + "\n" + refPairs(query) + "\n" + refPairs(headers) + "\n" + refPairs(params)
	date := r.Header.Get("X-Amz-Date")
	if len(date) != 16 {
		return "", fmt.Errorf("x-amz-date %q", date)
	}
	digest := sha512.Sum384([]byte(canonical))
	sts := strings.Join([]string{"AWS4-HMAC-SHA384", date, date[:8] + "/eu-west-1/AmazonPay/aws4_request", hex.EncodeToString(digest[:])}, "\n")
	key := []byte("AWS4" + secret)
	for _, part := range []string{date[:8], "eu-west-1", "AmazonPay", "aws4_request"} {
		key = refHMAC(key, part)
	}
	return strings.TrimRight(base64.URLEncoding.EncodeToString(refHMAC(key, sts)), "="), nil
}

// --- The stand-in for Amazon Pay: checks every header and the signature like the real service
// would (answering 401 AuthorizationFailed to a bad signature, 400 InvalidArguments to a bad
// request), then gives the answer the test configured.

type standIn struct {
	srv *httptest.Server

	mu          sync.Mutex
	calls       int
	endpoints   []string
	lastAuth    string
	lastSig     string
	badSigs     int
	problems    []string
	wantSep     string
	status      int
	contentType string
	body        string        // may contain {{sig}} and {{auth}}, replaced with what was received (an echoing server)
	hang        chan struct{} // non-nil: hold the request until it is closed, then answer 503
}

func newStandIn(t *testing.T) *standIn {
	t.Helper()
	s := &standIn{wantSep: "+", status: http.StatusOK}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *standIn) host() string { return strings.TrimPrefix(s.srv.URL, "https://") }

func (s *standIn) client(t *testing.T, opts ...Option) *Client {
	t.Helper()
	base := []Option{WithHost(s.host()), WithHTTPClient(s.srv.Client()), WithClock(exClock), WithUserIP(exUserIP), WithUserAgent(exUserAgent)}
	c, err := New(exCreds, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *standIn) respond(status int, contentType, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.contentType, s.body = status, contentType, body
}

func (s *standIn) state() (calls int, endpoints []string, problems []string, badSigs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, append([]string(nil), s.endpoints...), append([]string(nil), s.problems...), s.badSigs
}

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.calls++
	var problems []string
	check := func(what, got, want string) {
		if got != want {
			problems = append(problems, fmt.Sprintf("%s = %q, want %q", what, got, want))
		}
	}
	check("method", r.Method, http.MethodPost)
	check("path", r.URL.Path, "/v1/ipn")
	check("Content-Type", r.Header.Get("Content-Type"), "application/json")
	check("x-amz-client-id", r.Header.Get("X-Amz-Client-Id"), exMerchantID)
	check("x-amz-source", r.Header.Get("X-Amz-Source"), "Server")
	check("x-amz-user-ip", r.Header.Get("X-Amz-User-Ip"), exUserIP)
	check("x-amz-user-agent", r.Header.Get("X-Amz-User-Agent"), exUserAgent)
	check("x-amz-algorithm", r.Header.Get("X-Amz-Algorithm"), "AWS4-HMAC-SHA384")
	check("x-amz-date", r.Header.Get("X-Amz-Date"), exAmzDate)
	check("x-amz-expires", r.Header.Get("X-Amz-Expires"), "900")
	n := 0
	for k := range r.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-") {
			n++
		}
	}
	check("number of x-amz-* headers", fmt.Sprint(n), "7")

	var fields map[string]any
	if err := json.Unmarshal(body, &fields); err != nil {
		problems = append(problems, "body: "+err.Error())
	}
	endpoint, _ := fields["recipientEndpoint"].(string)
	s.endpoints = append(s.endpoints, endpoint)
	check("body field count", fmt.Sprint(len(fields)), "5")
	for k, want := range map[string]string{"merchantId": exMerchantID, "recipientIdentifier": exMerchantID, "recipientType": "MERCHANT", "recipientEndpointType": "HTTPS"} {
		got, _ := fields[k].(string)
		check("body "+k, got, want)
	}

	auth := r.Header.Get("Authorization")
	s.lastAuth = auth
	prefix := "AMZ" + s.wantSep + exAccessKeyID + ":"
	sig, hasPrefix := strings.CutPrefix(auth, prefix)
	s.lastSig = sig
	if !hasPrefix {
		problems = append(problems, fmt.Sprintf("Authorization does not start with %q", prefix))
	}
	want, err := refSignature(r, body, exSecretKey)
	sigOK := err == nil && hmac.Equal([]byte(sig), []byte(want))
	if !sigOK {
		s.badSigs++
	}
	s.problems = append(s.problems, problems...)
	status, ct, out, hang := s.status, s.contentType, s.body, s.hang
	s.mu.Unlock()

	switch {
	case len(problems) > 0:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"code":"InvalidArguments","message":%q}`, strings.Join(problems, "; "))
		return
	case !sigOK:
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"code":"AuthorizationFailed","message":"Specified Signature is invalid"}`)
		return
	case hang != nil:
		<-hang
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(status)
	io.WriteString(w, strings.NewReplacer("{{sig}}", sig, "{{auth}}", auth).Replace(out))
}

// assertClean fails the test if the stand-in found anything wrong with a request.
func (s *standIn) assertClean(t *testing.T) {
	t.Helper()
	_, _, problems, badSigs := s.state()
	for _, p := range problems {
		t.Errorf("stand-in: %s", p)
	}
	if badSigs > 0 {
		t.Errorf("stand-in: %d request(s) with a signature that did not verify", badSigs)
	}
}

var allSentinels = []error{
	ErrInvalidArguments, ErrMerchantIDMismatch, ErrAuthorizationExpired, ErrAuthorizationFailed,
	ErrLimitExceeded, ErrIdentifierNotFound, ErrServer, ErrInvalidEndpoint, ErrInvalidCredentials,
}

func TestSafelistSuccess(t *testing.T) {
	s := newStandIn(t)
	if err := s.client(t).Safelist(t.Context(), exEndpoint); err != nil {
		t.Fatalf("Safelist: %v", err)
	}
	s.assertClean(t)
	calls, endpoints, _, _ := s.state()
	if calls != 1 || len(endpoints) != 1 || endpoints[0] != exEndpoint {
		t.Errorf("calls = %d, endpoints = %q", calls, endpoints)
	}
}

// The stand-in's check can fail: a client with the wrong secret is refused.
func TestSafelistWrongSecretIsRefused(t *testing.T) {
	s := newStandIn(t)
	wrong := exCreds
	wrong.SecretKey = "not-the-secret"
	c, err := New(wrong, WithHost(s.host()), WithHTTPClient(s.srv.Client()), WithClock(exClock), WithUserIP(exUserIP), WithUserAgent(exUserAgent))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Safelist(t.Context(), exEndpoint)
	if !errors.Is(err, ErrAuthorizationFailed) {
		t.Fatalf("err = %v, want AuthorizationFailed", err)
	}
	if _, _, _, bad := s.state(); bad != 1 {
		t.Errorf("badSigs = %d, want 1", bad)
	}
}

func TestSafelistAuthSeparator(t *testing.T) {
	for _, sep := range []string{"+", " "} {
		t.Run(fmt.Sprintf("%q", sep), func(t *testing.T) {
			s := newStandIn(t)
			s.wantSep = sep
			var opts []Option
			if sep != "+" {
				opts = append(opts, WithAuthSeparator(sep))
			}
			if err := s.client(t, opts...).Safelist(t.Context(), exEndpoint); err != nil {
				t.Fatal(err)
			}
			s.assertClean(t)
			s.mu.Lock()
			auth := s.lastAuth
			s.mu.Unlock()
			if !strings.HasPrefix(auth, "AMZ"+sep+exAccessKeyID+":") {
				t.Errorf("Authorization = %q", auth)
			}
		})
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Against the production host with the fixed clock, the request must be exactly the worked
// example: same Authorization as Python computed, same body values.
func TestSafelistSendsTheWorkedExample(t *testing.T) {
	var got *http.Request
	var body []byte
	hc := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		got = r
		body, _ = io.ReadAll(r.Body)
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}}, nil
	})}
	c, err := New(exCreds, WithHTTPClient(hc), WithClock(exClock), WithUserIP(exUserIP), WithUserAgent(exUserAgent))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Safelist(t.Context(), exEndpoint); err != nil {
		t.Fatal(err)
	}
	if got.URL.String() != "https://amazonpay.amazon.in/v1/ipn" {
		t.Errorf("URL = %s", got.URL)
	}
	if a := got.Header.Get("Authorization"); a != exAuthorization {
		t.Errorf("Authorization = %q, want %q", a, exAuthorization)
	}
	for k, v := range exHeaders() {
		if g := got.Header.Get(k); g != v {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
	var fields map[string]string
	if err := json.Unmarshal(body, &fields); err != nil {
		t.Fatal(err)
	}
	for k, v := range exBody() {
		if fields[k] != v {
			t.Errorf("body %s = %q, want %q", k, fields[k], v)
		}
	}
	if len(fields) != 5 || bytes.HasSuffix(body, []byte("\n")) {
		t.Errorf("body = %s", body)
	}
}

func TestSafelistErrors(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        error // nil: no sentinel may match
		wantCode    string
		wantText    []string
	}{
		{"400 InvalidArguments", 400, "application/json", `{"code":"InvalidArguments","message":"recipientEndpointType must be one of following: [HTTPS]"}`,
			ErrInvalidArguments, "InvalidArguments", []string{"400", "recipientEndpointType must be one of following: [HTTPS]"}},
		{"400 MerchantIdMismatch", 400, "application/json", `{"code":"MerchantIdMismatch","message":"Specified merchant id does not match with x-amz-client-id header value."}`,
			ErrMerchantIDMismatch, "MerchantIdMismatch", []string{"merchantId in the credentials secret must equal the merchant whose keys sign the request"}},
		{"401 AuthorizationExpired", 401, "application/json", `{"code":"AuthorizationExpired","message":"Specified Signature has expired"}`,
			ErrAuthorizationExpired, "AuthorizationExpired", []string{"401", "check the machine clock / x-amz-expires"}},
		{"401 AuthorizationFailed", 401, "application/json", `{"code":"AuthorizationFailed","message":"Specified Signature is invalid"}`,
			ErrAuthorizationFailed, "AuthorizationFailed", []string{"check accessKeyId/secretKey and the Authorization separator"}},
		{"403 LimitExceeded", 403, "application/json", `{"code":"LimitExceeded","message":"Maximum limit of subscriptions reached."}`,
			ErrLimitExceeded, "LimitExceeded", []string{"403", "remove an old subscription with Amazon Pay support"}},
		{"404 IdentifierNotFound", 404, "application/json", `{"code":"IdentifierNotFound","message":"The recipient Identifier provided does not exist. Please try again."}`,
			ErrIdentifierNotFound, "IdentifierNotFound", []string{"404", "production or sandbox"}},
		{"500 InternalServerError", 500, "application/json", `{"code":"InternalServerError","message":"An internal server error has occurred. Try your request again later."}`,
			ErrServer, "InternalServerError", []string{"500", "retry later"}},
		{"unknown code", 409, "application/json", `{"code":"SubscriptionAlreadyExists","message":"already there"}`,
			nil, "SubscriptionAlreadyExists", []string{"409", "SubscriptionAlreadyExists", "already there", "not in Amazon Pay's documented error table"}},
		{"500 without a code", 500, "application/json", `{"message":"oops"}`,
			ErrServer, "", []string{"500", "oops", "retry later"}},
		{"non-JSON 502", 502, "text/html", `<html><body>Bad Gateway</body></html>`,
			ErrServer, "", []string{"502", "retry later"}},
		{"echoing proxy", 401, "application/json", `{"code":"AuthorizationFailed","message":"you sent Authorization: {{auth}} ({{sig}}) with secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}`,
			ErrAuthorizationFailed, "AuthorizationFailed", []string{"[redacted]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStandIn(t)
			s.respond(tt.status, tt.contentType, tt.body)
			err := s.client(t).Safelist(t.Context(), exEndpoint)
			s.assertClean(t)
			if err == nil {
				t.Fatal("Safelist succeeded")
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err %T %v is not an *APIError", err, err)
			}
			if ae.Status != tt.status || ae.Code != tt.wantCode {
				t.Errorf("APIError = %+v, want status %d code %q", ae, tt.status, tt.wantCode)
			}
			for _, sen := range allSentinels {
				if got, want := errors.Is(err, sen), sen == tt.want; got != want {
					t.Errorf("errors.Is(err, %v) = %v, want %v", sen, got, want)
				}
			}
			text := err.Error()
			for _, w := range tt.wantText {
				if !strings.Contains(text, w) {
					t.Errorf("error %q does not contain %q", text, w)
				}
			}
			s.mu.Lock()
			sig := s.lastSig
			s.mu.Unlock()
			if strings.Contains(text, exSecretKey) || sig == "" || strings.Contains(text, sig) {
				t.Errorf("error leaks the secret or the signature: %q", text)
			}
		})
	}
}

func TestSafelistEndpointValidation(t *testing.T) {
	long := "https://www.merchantwebhook.in/" + strings.Repeat("a", MaxEndpointLength)
	max := "https://www.merchantwebhook.in/" + strings.Repeat("a", MaxEndpointLength-len("https://www.merchantwebhook.in/"))
	tests := []struct {
		name, endpoint string
		ok             bool
	}{
		{"http", "http://www.merchantwebhook.in/ipn", false},
		{"relative path", "/ipn", false},
		{"no scheme", "www.merchantwebhook.in/ipn", false},
		{"other scheme", "ftp://www.merchantwebhook.in/ipn", false},
		{"no host", "https:///ipn", false},
		{"empty", "", false},
		{"too long", long, false},
		{"2049 characters", max + "b", false},
		{"space", "https://www.merchantwebhook.in/a b", false},
		{"newline", "https://www.merchantwebhook.in/a\nb", false},
		{"bad UTF-8", "https://www.merchantwebhook.in/\xff", false},
		{"exactly 2048", max, true},
		{"2048 runes, more bytes", "https://www.merchantwebhook.in/" + strings.Repeat("é", MaxEndpointLength-len("https://www.merchantwebhook.in/")), true},
		{"upper-case scheme", "HTTPS://www.merchantwebhook.in/ipn", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStandIn(t)
			err := s.client(t).Safelist(t.Context(), tt.endpoint)
			calls, _, _, _ := s.state()
			if tt.ok {
				if err != nil || calls != 1 {
					t.Fatalf("err = %v, calls = %d", err, calls)
				}
				s.assertClean(t)
				return
			}
			if !errors.Is(err, ErrInvalidEndpoint) {
				t.Fatalf("err = %v, want ErrInvalidEndpoint", err)
			}
			var ee *EndpointError
			if !errors.As(err, &ee) {
				t.Errorf("err %T is not an *EndpointError", err)
			}
			if calls != 0 {
				t.Errorf("%d request(s) made for an invalid endpoint", calls)
			}
		})
	}
	if len(max) != MaxEndpointLength {
		t.Fatalf("test bug: len(max) = %d", len(max))
	}
}

func TestEndpointErrorHidesQuery(t *testing.T) {
	err := ValidateEndpoint("http://www.merchantwebhook.in/ipn?token=SECRET123#frag")
	if err == nil || strings.Contains(err.Error(), "SECRET123") || !strings.Contains(err.Error(), "http://www.merchantwebhook.in/ipn") {
		t.Errorf("err = %v", err)
	}
	if err := ValidateEndpoint("https://www.merchantwebhook.in:%zz/ipn?token=SECRET123"); err == nil || strings.Contains(err.Error(), "SECRET123") {
		t.Errorf("unparsable URL: err = %v", err)
	}
}

func TestSafelistTransportErrorAndContext(t *testing.T) {
	s := newStandIn(t)
	c := s.client(t)
	s.srv.Close()
	err := c.Safelist(t.Context(), exEndpoint)
	if err == nil || strings.Contains(err.Error(), exSecretKey) {
		t.Fatalf("err = %v", err)
	}
	var ae *APIError
	if errors.As(err, &ae) {
		t.Errorf("a transport failure is not an APIError: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name  string
		creds Credentials
		opts  []Option
		want  string // substring of the error; "" = success
	}{
		{"ok", exCreds, nil, ""},
		{"no merchant", Credentials{AccessKeyID: "a", SecretKey: "SeCrEtVaLuE"}, nil, "merchantId is empty"},
		{"no access key", Credentials{MerchantID: "m", SecretKey: "SeCrEtVaLuE"}, nil, "accessKeyId is empty"},
		{"no secret", Credentials{MerchantID: "m", AccessKeyID: "a"}, nil, "secretKey is empty"},
		{"control char in secret", Credentials{MerchantID: "m", AccessKeyID: "a", SecretKey: "SeCrEtVaLuE\n"}, nil, "secretKey contains"},
		{"empty host", exCreds, []Option{WithHost("")}, "host"},
		{"URL as host", exCreds, []Option{WithHost("https://amazonpay.amazon.in")}, "host"},
		{"empty separator", exCreds, []Option{WithAuthSeparator("")}, "separator"},
		{"newline separator", exCreds, []Option{WithAuthSeparator("\n")}, "separator"},
		{"zero expiry", exCreds, []Option{WithExpires(0)}, "x-amz-expires"},
		{"empty source", exCreds, []Option{WithSource("")}, "x-amz-source"},
		{"empty user IP", exCreds, []Option{WithUserIP("")}, "x-amz-user-ip"},
		{"sandbox host", exCreds, []Option{WithHost(SandboxHost)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.creds, tt.opts...)
			if tt.want == "" {
				if err != nil || c == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			if tt.creds.SecretKey != "" && strings.Contains(err.Error(), tt.creds.SecretKey) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestWithExpiresAndSourceAreSentAndSigned(t *testing.T) {
	var got http.Header
	hc := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		got = r.Header.Clone()
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}}, nil
	})}
	c, err := New(exCreds, WithHTTPClient(hc), WithClock(exClock), WithUserIP(exUserIP), WithUserAgent(exUserAgent), WithExpires(5*time.Minute), WithSource("Web"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Safelist(t.Context(), exEndpoint); err != nil {
		t.Fatal(err)
	}
	if got.Get("X-Amz-Expires") != "300" || got.Get("X-Amz-Source") != "Web" {
		t.Errorf("headers = %v", got)
	}
	if got.Get("Authorization") == exAuthorization {
		t.Error("the signature did not change with x-amz-expires and x-amz-source")
	}
}
