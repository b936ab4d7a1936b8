package oauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testIssuer   = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TEST"
	testClientID = "client-abc"
	testScope    = "shipping/webhook"
)

// Keys are generated once per test binary: RSA generation is slow.
var (
	keysOnce sync.Once
	rsaKey1  *rsa.PrivateKey
	rsaKey2  *rsa.PrivateKey
	ecKey1   *ecdsa.PrivateKey
)

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if rsaKey1, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if rsaKey2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if ecKey1, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	})
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// jwksServer serves a JWKS document that tests can swap, and counts fetches.
type jwksServer struct {
	*httptest.Server
	hits   atomic.Int64
	mu     sync.Mutex
	body   []byte
	status int
	delay  chan struct{} // if non-nil, each request waits for it to close
}

func newJWKSServer(t testing.TB, body []byte) *jwksServer {
	t.Helper()
	s := &jwksServer{body: body, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		body, status, delay := s.body, s.status, s.delay
		s.mu.Unlock()
		if delay != nil {
			<-delay
		}
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(body []byte, status int) {
	s.mu.Lock()
	s.body, s.status = body, status
	s.mu.Unlock()
}

func mustJWKS(t testing.TB, keys ...PublicKey) []byte {
	t.Helper()
	b, err := JWKS(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type env struct {
	srv   *jwksServer
	clock *fakeClock
	v     *Verifier
}

// newEnv serves rsa1 (RS256), ec1 (ES256), rsa1-384 and rsa1-512 (the same
// RSA key under other algs) and returns a verifier wired to it.
func newEnv(t testing.TB, mutate ...func(*Config)) *env {
	t.Helper()
	testKeys(t)
	srv := newJWKSServer(t, mustJWKS(t,
		PublicKey{KID: "rsa1", Alg: "RS256", Key: &rsaKey1.PublicKey},
		PublicKey{KID: "rsa1-384", Alg: "RS384", Key: &rsaKey1.PublicKey},
		PublicKey{KID: "rsa1-512", Alg: "RS512", Key: &rsaKey1.PublicKey},
		PublicKey{KID: "ec1", Alg: "ES256", Key: &ecKey1.PublicKey},
	))
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg := Config{
		Issuer:        testIssuer,
		JWKSURL:       srv.URL + "/.well-known/jwks.json",
		Audiences:     []string{testClientID},
		RequiredScope: testScope,
		HTTPClient:    srv.Client(),
		Now:           clock.Now,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, clock: clock, v: v}
}

// claims returns a valid Cognito-style access token claim set at time now.
func claimsAt(now time.Time) map[string]any {
	return map[string]any{
		"iss":       testIssuer,
		"sub":       testClientID,
		"client_id": testClientID,
		"token_use": "access",
		"scope":     "shipping/read " + testScope + " shipping/write",
		"iat":       now.Unix(),
		"exp":       now.Add(time.Hour).Unix(),
		"jti":       "6f1f7d2e",
	}
}

func mustSign(t testing.TB, key crypto.Signer, alg, kid string, claims map[string]any) string {
	t.Helper()
	tok, err := Sign(key, alg, kid, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var b64 = base64.RawURLEncoding

// rawToken assembles a token from arbitrary header/claims and signature bytes.
func rawToken(t testing.TB, header map[string]any, claims map[string]any, sig []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return b64.EncodeToString(h) + "." + b64.EncodeToString(p) + "." + b64.EncodeToString(sig)
}

// assertNoTokenLeak fails if err's text contains the token or any
// meaningful piece of it.
func assertNoTokenLeak(t testing.TB, err error, tok string) {
	t.Helper()
	if err == nil || tok == "" {
		return
	}
	msg := err.Error()
	if strings.Contains(msg, tok) {
		t.Fatalf("error message contains the token: %q", msg)
	}
	for _, seg := range strings.Split(tok, ".") {
		if len(seg) >= 8 && strings.Contains(msg, seg) {
			t.Fatalf("error message contains a token segment: %q", msg)
		}
	}
}
