package oauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestVerifyAccepts(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	tests := []struct {
		name   string
		key    crypto.Signer
		alg    string
		kid    string
		mutate func(map[string]any)
		check  func(*testing.T, *Claims)
	}{
		{name: "RS256", alg: "RS256", kid: "rsa1"},
		{name: "RS384", alg: "RS384", kid: "rsa1-384"},
		{name: "RS512", alg: "RS512", kid: "rsa1-512"},
		{name: "ES256", alg: "ES256", kid: "ec1"},
		{name: "client_id match, no aud", alg: "RS256", kid: "rsa1",
			check: func(t *testing.T, c *Claims) {
				if c.ClientID != testClientID || c.Audience != nil {
					t.Errorf("ClientID=%q Audience=%v", c.ClientID, c.Audience)
				}
			}},
		{name: "aud string match, no client_id", alg: "RS256", kid: "rsa1",
			mutate: func(c map[string]any) { delete(c, "client_id"); c["aud"] = testClientID },
			check: func(t *testing.T, c *Claims) {
				if !slices.Equal(c.Audience, []string{testClientID}) {
					t.Errorf("Audience=%v", c.Audience)
				}
			}},
		{name: "aud array match", alg: "ES256", kid: "ec1",
			mutate: func(c map[string]any) { c["client_id"] = "other"; c["aud"] = []string{"x", testClientID} }},
		{name: "required scope among several", alg: "RS256", kid: "rsa1",
			mutate: func(c map[string]any) { c["scope"] = "a b  " + testScope + " c" },
			check: func(t *testing.T, c *Claims) {
				if !slices.Equal(c.Scopes, []string{"a", "b", testScope, "c"}) {
					t.Errorf("Scopes=%q", c.Scopes)
				}
			}},
		{name: "no token_use (non-Cognito issuer)", alg: "RS256", kid: "rsa1",
			mutate: func(c map[string]any) { delete(c, "token_use") }},
		{name: "Cognito's longest lifetime, 24h", alg: "RS256", kid: "rsa1",
			mutate: func(c map[string]any) { c["exp"] = now.Add(24 * time.Hour).Unix() }},
		{name: "expired within leeway", alg: "RS256", kid: "rsa1",
			mutate: func(c map[string]any) { c["exp"] = now.Add(-30 * time.Second).Unix() }},
		{name: "nbf in future within leeway", alg: "RS256", kid: "rsa1",
			mutate: func(c map[string]any) { c["nbf"] = now.Add(30 * time.Second).Unix() }},
		{name: "iat in future within leeway", alg: "RS256", kid: "rsa1",
			mutate: func(c map[string]any) { c["iat"] = now.Add(30 * time.Second).Unix() }},
		{name: "fractional NumericDate", alg: "RS256", kid: "rsa1",
			mutate: func(c map[string]any) { c["exp"] = float64(now.Unix()) + 10.5 },
			check: func(t *testing.T, c *Claims) {
				if want := now.Add(10500 * time.Millisecond); !c.ExpiresAt.Equal(want) {
					t.Errorf("ExpiresAt=%v want %v", c.ExpiresAt, want)
				}
			}},
		{name: "azp names the client when client_id is absent", alg: "RS256", kid: "rsa1",
			mutate: func(c map[string]any) { delete(c, "client_id"); c["azp"] = testClientID; c["aud"] = testClientID },
			check: func(t *testing.T, c *Claims) {
				if c.Client() != testClientID || !c.ClientAccepted {
					t.Errorf("client %q accepted %v, want %q accepted", c.Client(), c.ClientAccepted, testClientID)
				}
			}},
		{name: "accepted by aud, its client is not an accepted audience", alg: "RS256", kid: "rsa1",
			mutate: func(c map[string]any) { c["client_id"] = "another-client"; c["aud"] = testClientID },
			check: func(t *testing.T, c *Claims) {
				if c.Client() != "another-client" || c.ClientAccepted {
					t.Errorf("client %q accepted %v, want another-client not accepted", c.Client(), c.ClientAccepted)
				}
			}},
		{name: "claims returned", alg: "RS256", kid: "rsa1",
			check: func(t *testing.T, c *Claims) {
				want := Claims{Issuer: testIssuer, Subject: testClientID, ClientID: testClientID, ClientAccepted: true,
					Scopes: []string{"shipping/read", testScope, "shipping/write"}, TokenUse: "access",
					ExpiresAt: now.Add(time.Hour), IssuedAt: now}
				if fmt.Sprint(*c) != fmt.Sprint(want) {
					t.Errorf("got %+v\nwant %+v", *c, want)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var key crypto.Signer = rsaKey1
			if tc.alg == "ES256" {
				key = ecKey1
			}
			claims := claimsAt(now)
			if tc.mutate != nil {
				tc.mutate(claims)
			}
			c, err := e.v.Verify(context.Background(), mustSign(t, key, tc.alg, tc.kid, claims))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	ctx := context.Background()
	// Warm the cache so "unknown kid" below measures the refresh, not the first fetch.
	if _, err := e.v.Verify(ctx, mustSign(t, rsaKey1, "RS256", "rsa1", claimsAt(now))); err != nil {
		t.Fatal(err)
	}

	signWith := func(mutate func(map[string]any)) string {
		c := claimsAt(now)
		mutate(c)
		return mustSign(t, rsaKey1, "RS256", "rsa1", c)
	}
	valid := mustSign(t, rsaKey1, "RS256", "rsa1", claimsAt(now))
	validEC := mustSign(t, ecKey1, "ES256", "ec1", claimsAt(now))
	parts := strings.Split(valid, ".")

	hs256 := func(secret []byte, kid string) string {
		h, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT", "kid": kid})
		p, _ := json.Marshal(claimsAt(now))
		in := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(in))
		return in + "." + b64.EncodeToString(m.Sum(nil))
	}
	pkix, err := x509.MarshalPKIXPublicKey(&rsaKey1.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	jwksBytes := mustJWKS(t, PublicKey{KID: "rsa1", Key: &rsaKey1.PublicKey})

	flipSig := func(tok string) string {
		p := strings.Split(tok, ".")
		sig, _ := b64.DecodeString(p[2])
		sig[len(sig)/2] ^= 0x01
		return p[0] + "." + p[1] + "." + b64.EncodeToString(sig)
	}
	tamperPayload := func(tok string) string {
		p := strings.Split(tok, ".")
		c := claimsAt(now)
		c["scope"] = testScope + " admin"
		pb, _ := json.Marshal(c)
		return p[0] + "." + b64.EncodeToString(pb) + "." + p[2]
	}
	ecSigForRSAKid := mustSign(t, ecKey1, "ES256", "rsa1", claimsAt(now))
	rsaSigUnderES256 := func() string {
		// RS256-signed bytes presented with an ES256 header naming the RSA kid.
		h, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": "rsa1"})
		return b64.EncodeToString(h) + "." + parts[1] + "." + parts[2]
	}()

	tests := []struct {
		name      string
		tok       string
		want      string // reason in the error text, so a case cannot pass by failing early for another cause
		wantFetch bool   // the case should trigger exactly one extra JWKS fetch
	}{
		{name: "expired beyond leeway", want: "token expired", tok: signWith(func(c map[string]any) { c["exp"] = now.Add(-61 * time.Second).Unix() })},
		{name: "exp exactly at leeway edge", want: "token expired", tok: signWith(func(c map[string]any) { c["exp"] = now.Add(-60 * time.Second).Unix() })},
		{name: "nbf in future", want: "token not yet valid", tok: signWith(func(c map[string]any) { c["nbf"] = now.Add(2 * time.Minute).Unix() })},
		{name: "iat in future", want: "token issued in the future", tok: signWith(func(c map[string]any) { c["iat"] = now.Add(2 * time.Minute).Unix() })},
		{name: "exp beyond max lifetime", want: "token lifetime too long", tok: signWith(func(c map[string]any) { c["exp"] = now.Add(24*time.Hour + 2*time.Minute).Unix(); delete(c, "iat") })},
		{name: "iat to exp beyond max lifetime", want: "token lifetime too long", tok: signWith(func(c map[string]any) {
			c["iat"] = now.Add(-24 * time.Hour).Unix()
			c["exp"] = now.Add(2 * time.Minute).Unix()
		})},
		{name: "missing exp", want: "missing exp", tok: signWith(func(c map[string]any) { delete(c, "exp") })},
		{name: "exp as string", want: "malformed exp claim", tok: signWith(func(c map[string]any) { c["exp"] = fmt.Sprint(now.Add(time.Hour).Unix()) })},
		{name: "exp absurdly large", want: "malformed exp claim", tok: signWith(func(c map[string]any) { c["exp"] = 1e300 })},
		{name: "wrong issuer", want: "wrong issuer", tok: signWith(func(c map[string]any) { c["iss"] = testIssuer + "x" })},
		{name: "issuer with trailing slash", want: "wrong issuer", tok: signWith(func(c map[string]any) { c["iss"] = testIssuer + "/" })},
		{name: "missing issuer", want: "wrong issuer", tok: signWith(func(c map[string]any) { delete(c, "iss") })},
		{name: "wrong client_id", want: "audience not accepted", tok: signWith(func(c map[string]any) { c["client_id"] = "other" })},
		{name: "wrong aud, no client_id", want: "audience not accepted", tok: signWith(func(c map[string]any) { delete(c, "client_id"); c["aud"] = []string{"a", "b"} })},
		{name: "no aud, no client_id", want: "audience not accepted", tok: signWith(func(c map[string]any) { delete(c, "client_id") })},
		{name: "aud of wrong type", want: "malformed aud claim", tok: signWith(func(c map[string]any) { c["aud"] = 7 })},
		{name: "aud array with non-string", want: "malformed aud claim", tok: signWith(func(c map[string]any) { c["aud"] = []any{testClientID, 1} })},
		{name: "client_id of wrong type", want: "malformed client_id claim", tok: signWith(func(c map[string]any) { c["client_id"] = []string{testClientID} })},
		{name: "missing scope", want: "required scope missing", tok: signWith(func(c map[string]any) { c["scope"] = "shipping/read shipping/write" })},
		{name: "scope prefix only", want: "required scope missing", tok: signWith(func(c map[string]any) { c["scope"] = testScope + "x" })},
		{name: "no scope claim", want: "required scope missing", tok: signWith(func(c map[string]any) { delete(c, "scope") })},
		{name: "token_use id", want: "token_use is not access", tok: signWith(func(c map[string]any) { c["token_use"] = "id" })},
		{name: "token_use null", want: "malformed token_use claim", tok: signWith(func(c map[string]any) { c["token_use"] = nil })},
		{name: "claims not an object", want: "malformed claims", tok: func() string {
			p := strings.Split(valid, ".")
			in := p[0] + "." + b64.EncodeToString([]byte(`["x"]`))
			h := sha256.Sum256([]byte(in))
			sig, _ := rsaKey1.Sign(rand.Reader, h[:], crypto.SHA256)
			return in + "." + b64.EncodeToString(sig)
		}()},
		{name: "alg none", want: "unsupported alg", tok: rawToken(t, map[string]any{"alg": "none", "typ": "JWT"}, claimsAt(now), nil)},
		{name: "alg none with kid", want: "unsupported alg", tok: rawToken(t, map[string]any{"alg": "none", "kid": "rsa1"}, claimsAt(now), nil)},
		{name: "alg NONE", want: "unsupported alg", tok: rawToken(t, map[string]any{"alg": "NONE", "kid": "rsa1"}, claimsAt(now), []byte("x"))},
		{name: "alg lowercase rs256", want: "unsupported alg", tok: rawToken(t, map[string]any{"alg": "rs256", "kid": "rsa1"}, claimsAt(now), []byte("x"))},
		{name: "alg PS256", want: "unsupported alg", tok: rawToken(t, map[string]any{"alg": "PS256", "kid": "rsa1"}, claimsAt(now), []byte("x"))},
		{name: "alg missing", want: "unsupported alg", tok: rawToken(t, map[string]any{"kid": "rsa1"}, claimsAt(now), []byte("x"))},
		{name: "HS256 keyed with RSA PEM", want: "unsupported alg", tok: hs256(pemBytes, "rsa1")},
		{name: "HS256 keyed with RSA DER", want: "unsupported alg", tok: hs256(pkix, "rsa1")},
		{name: "HS256 keyed with JWKS bytes", want: "unsupported alg", tok: hs256(jwksBytes, "rsa1")},
		{name: "HS256 keyed with modulus", want: "unsupported alg", tok: hs256(rsaKey1.N.Bytes(), "rsa1")},
		{name: "crit header", want: "unsupported crit header", tok: func() string {
			h, _ := json.Marshal(map[string]any{"alg": "RS256", "kid": "rsa1", "crit": []string{"exp"}})
			in := b64.EncodeToString(h) + "." + parts[1]
			d := sha256.Sum256([]byte(in))
			sig, _ := rsaKey1.Sign(rand.Reader, d[:], crypto.SHA256)
			return in + "." + b64.EncodeToString(sig)
		}()},
		{name: "missing kid", want: "missing kid", tok: mustSign(t, rsaKey1, "RS256", "", claimsAt(now))},
		{name: "unknown kid", want: "unknown kid", tok: mustSign(t, rsaKey1, "RS256", "nope", claimsAt(now)), wantFetch: true},
		{name: "RSA kid with ES256 header (EC signature)", want: "alg does not match key", tok: ecSigForRSAKid},
		{name: "RSA kid with ES256 header (RSA signature)", want: "alg does not match key", tok: rsaSigUnderES256},
		{name: "RS256 header on RS384-only kid", want: "alg does not match key", tok: mustSign(t, rsaKey1, "RS256", "rsa1-384", claimsAt(now))},
		{name: "tampered payload", want: "bad signature", tok: tamperPayload(valid)},
		{name: "tampered payload ES256", want: "bad signature", tok: tamperPayload(validEC)},
		{name: "tampered signature", want: "bad signature", tok: flipSig(valid)},
		{name: "tampered signature ES256", want: "bad signature", tok: flipSig(validEC)},
		{name: "truncated signature", want: "bad signature", tok: func() string {
			sig, _ := b64.DecodeString(parts[2])
			return parts[0] + "." + parts[1] + "." + b64.EncodeToString(sig[:len(sig)-1])
		}()},
		{name: "empty signature", want: "malformed signature", tok: parts[0] + "." + parts[1] + "."},
		{name: "ES256 ASN.1 signature", want: "bad signature", tok: func() string {
			p := strings.Split(validEC, ".")
			d := sha256.Sum256([]byte(p[0] + "." + p[1]))
			der, _ := ecdsa.SignASN1(rand.Reader, ecKey1, d[:])
			return p[0] + "." + p[1] + "." + b64.EncodeToString(der)
		}()},
		{name: "two segments", want: "token must have exactly 3 segments", tok: parts[0] + "." + parts[1]},
		{name: "four segments", want: "token must have exactly 3 segments", tok: valid + "." + parts[2]},
		{name: "five segments (JWE shape)", want: "token must have exactly 3 segments", tok: valid + ".."},
		{name: "one segment", want: "token must have exactly 3 segments", tok: parts[1]},
		{name: "empty", want: "token must have exactly 3 segments", tok: ""},
		{name: "padded segment", want: "malformed header", tok: parts[0] + "=." + parts[1] + "." + parts[2]},
		{name: "padded signature", want: "malformed signature", tok: valid + "=="},
		{name: "std base64 alphabet", want: "malformed signature", tok: strings.NewReplacer("-", "+", "_", "/").Replace(valid) + "+/"},
		{name: "non-canonical base64 (trailing bits set)", want: "malformed signature", tok: func() string {
			// A 256-byte signature leaves 4 unused bits in its last character;
			// setting one decodes to the same bytes under a lax decoder.
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			last := strings.IndexByte(alphabet, valid[len(valid)-1])
			return valid[:len(valid)-1] + string(alphabet[last|1])
		}()},
		{name: "newline inside signature", want: "malformed signature", tok: parts[0] + "." + parts[1] + "." + parts[2][:10] + "\n" + parts[2][10:]},
		{name: "whitespace around", want: "malformed header", tok: " " + valid},
		{name: "oversized (validly signed)", want: "token too large", tok: signWith(func(c map[string]any) { c["pad"] = strings.Repeat("a", 8<<10) })},
		{name: "header not JSON", want: "malformed header", tok: b64.EncodeToString([]byte("nope")) + "." + parts[1] + "." + parts[2]},
		{name: "alg key in upper case", want: "unsupported alg", tok: func() string {
			h, _ := json.Marshal(map[string]any{"ALG": "RS256", "KID": "rsa1"})
			in := b64.EncodeToString(h) + "." + parts[1]
			d := sha256.Sum256([]byte(in))
			sig, _ := rsaKey1.Sign(rand.Reader, d[:], crypto.SHA256)
			return in + "." + b64.EncodeToString(sig)
		}()},
		{name: "alg not a string", want: "malformed header", tok: rawToken(t, map[string]any{"alg": []string{"RS256"}, "kid": "rsa1"}, claimsAt(now), []byte("x"))},
		{name: "header null", want: "malformed header", tok: b64.EncodeToString([]byte("null")) + "." + parts[1] + "." + parts[2]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wantFetch {
				// Step past the refetch interval so the unknown kid is looked up again.
				e.clock.Advance(refetchInterval)
				defer e.clock.Advance(-refetchInterval)
			}
			before := e.srv.hits.Load()
			c, err := e.v.Verify(ctx, tc.tok)
			if err == nil {
				t.Fatalf("Verify accepted: %+v", c)
			}
			if !errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrKeysUnavailable) {
				t.Fatalf("err = %v, want ErrInvalidToken only", err)
			}
			if c != nil {
				t.Error("non-nil claims with error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want reason %q", err, tc.want)
			}
			assertNoTokenLeak(t, err, tc.tok)
			fetches := e.srv.hits.Load() - before
			if want := map[bool]int64{true: 1, false: 0}[tc.wantFetch]; fetches != want {
				t.Errorf("JWKS fetches = %d, want %d", fetches, want)
			}
		})
	}
}

// TestKeyTypeMismatchWithoutJWKAlg covers JWKs that omit "alg": the key type
// alone must then stop an RSA key being used under ES256 and vice versa.
func TestKeyTypeMismatchWithoutJWKAlg(t *testing.T) {
	e := newEnv(t)
	testKeys(t)
	n := b64.EncodeToString(rsaKey1.N.Bytes())
	pub, _ := ecKey1.PublicKey.Bytes()
	e.srv.set([]byte(fmt.Sprintf(`{"keys":[
		{"kty":"RSA","kid":"rsa1","n":%q,"e":"AQAB"},
		{"kty":"EC","kid":"ec1","crv":"P-256","x":%q,"y":%q}]}`,
		n, b64.EncodeToString(pub[1:33]), b64.EncodeToString(pub[33:]))), http.StatusOK)
	now := e.clock.Now()
	ok := []string{
		mustSign(t, rsaKey1, "RS256", "rsa1", claimsAt(now)),
		mustSign(t, rsaKey1, "RS512", "rsa1", claimsAt(now)), // no JWK alg: any RS* allowed
		mustSign(t, ecKey1, "ES256", "ec1", claimsAt(now)),
	}
	for _, tok := range ok {
		if _, err := e.v.Verify(context.Background(), tok); err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
	bad := []string{
		mustSign(t, ecKey1, "ES256", "rsa1", claimsAt(now)),
		mustSign(t, rsaKey1, "RS256", "ec1", claimsAt(now)),
	}
	for _, tok := range bad {
		_, err := e.v.Verify(context.Background(), tok)
		if !errors.Is(err, ErrInvalidToken) {
			t.Errorf("err = %v, want ErrInvalidToken", err)
		}
		if err != nil && !strings.Contains(err.Error(), "key type") {
			t.Errorf("err = %v, want key type mismatch", err)
		}
	}
}

func TestKeysUnavailable(t *testing.T) {
	// Where possible the server still sends the valid key set, so the
	// status or size is the only reason for the failure.
	withStatus := func(status int) func(*jwksServer) {
		return func(s *jwksServer) { s.set(s.body, status) }
	}
	tests := []struct {
		name  string
		setup func(*jwksServer)
	}{
		{"server down", func(s *jwksServer) { s.Close() }},
		{"HTTP 500", withStatus(http.StatusInternalServerError)},
		{"HTTP 404", withStatus(http.StatusNotFound)},
		{"HTTP 203", withStatus(http.StatusNonAuthoritativeInfo)},
		{"not JSON", func(s *jwksServer) { s.set([]byte("<html>"), http.StatusOK) }},
		{"no usable keys", func(s *jwksServer) {
			s.set([]byte(`{"keys":[{"kty":"oct","kid":"rsa1","k":"c2VjcmV0"}]}`), http.StatusOK)
		}},
		{"body one byte over 1 MiB", func(s *jwksServer) { s.set(padJWKS(s.body, maxJWKSBytes+1), http.StatusOK) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tc.setup(e.srv)
			tok := mustSign(t, rsaKey1, "RS256", "rsa1", claimsAt(e.clock.Now()))
			_, err := e.v.Verify(context.Background(), tok)
			if !errors.Is(err, ErrKeysUnavailable) || errors.Is(err, ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrKeysUnavailable only", err)
			}
			assertNoTokenLeak(t, err, tok)
		})
	}
}

// padJWKS grows a JWKS document to exactly size bytes with an ignored member.
func padJWKS(doc []byte, size int) []byte {
	prefix := `{"pad":"`
	n := size - len(prefix) - len(`",`) - (len(doc) - 1)
	return []byte(prefix + strings.Repeat("a", n) + `",` + string(doc[1:]))
}

func TestJWKSBodyAtLimitAccepted(t *testing.T) {
	e := newEnv(t)
	e.srv.set(padJWKS(e.srv.body, maxJWKSBytes), http.StatusOK)
	if _, err := e.v.Verify(context.Background(), mustSign(t, rsaKey1, "RS256", "rsa1", claimsAt(e.clock.Now()))); err != nil {
		t.Fatal(err)
	}
}

// TestSignVerifyIndependently checks both directions against the standard
// library directly, so Sign and Verify cannot agree on a wrong hash or
// signature encoding and still pass.
func TestSignVerifyIndependently(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		alg, kid string
		hash     crypto.Hash
	}{
		{"RS256", "rsa1", crypto.SHA256},
		{"RS384", "rsa1-384", crypto.SHA384},
		{"RS512", "rsa1-512", crypto.SHA512},
		{"ES256", "ec1", crypto.SHA256},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			digest := func(in string) []byte {
				h := tc.hash.New()
				h.Write([]byte(in))
				return h.Sum(nil)
			}
			// Sign -> stdlib verify.
			tok := mustSign(t, map[bool]crypto.Signer{true: ecKey1, false: rsaKey1}[tc.alg == "ES256"], tc.alg, tc.kid, claimsAt(e.clock.Now()))
			p := strings.Split(tok, ".")
			sig, _ := b64.DecodeString(p[2])
			if tc.alg == "ES256" {
				r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
				if len(sig) != 64 || !ecdsa.Verify(&ecKey1.PublicKey, digest(p[0]+"."+p[1]), r, s) {
					t.Fatal("Sign produced a signature the standard library rejects")
				}
			} else if err := rsa.VerifyPKCS1v15(&rsaKey1.PublicKey, tc.hash, digest(p[0]+"."+p[1]), sig); err != nil {
				t.Fatalf("Sign produced a signature the standard library rejects: %v", err)
			}
			// stdlib sign -> Verify.
			var err error
			in := strings.Join(strings.Split(rawToken(t, map[string]any{"alg": tc.alg, "kid": tc.kid}, claimsAt(e.clock.Now()), nil), ".")[:2], ".")
			if tc.alg == "ES256" {
				var r, s *big.Int
				r, s, err = ecdsa.Sign(rand.Reader, ecKey1, digest(in))
				if err != nil {
					t.Fatal(err)
				}
				sig = make([]byte, 64)
				r.FillBytes(sig[:32])
				s.FillBytes(sig[32:])
			} else if sig, err = rsa.SignPKCS1v15(nil, rsaKey1, tc.hash, digest(in)); err != nil {
				t.Fatal(err)
			}
			if _, err := e.v.Verify(context.Background(), in+"."+b64.EncodeToString(sig)); err != nil {
				t.Fatalf("Verify rejected an independently signed token: %v", err)
			}
		})
	}
}

func TestRecoversAfterInitialFetchFailure(t *testing.T) {
	e := newEnv(t)
	good := e.srv.body
	e.srv.set(nil, http.StatusServiceUnavailable)
	tok := mustSign(t, rsaKey1, "RS256", "rsa1", claimsAt(e.clock.Now()))
	ctx := context.Background()
	if _, err := e.v.Verify(ctx, tok); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("err = %v", err)
	}
	e.srv.set(good, http.StatusOK)
	// Within the failure backoff: no new request, still unavailable.
	if _, err := e.v.Verify(ctx, tok); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if got := e.srv.hits.Load(); got != 1 {
		t.Fatalf("fetches = %d, want 1 (backoff)", got)
	}
	e.clock.Advance(failureBackoff)
	if _, err := e.v.Verify(ctx, tok); err != nil {
		t.Fatalf("after backoff: %v", err)
	}
}

func TestStaleKeysUsedWhenRefreshFails(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.JWKSCacheTTL = 10 * time.Minute })
	ctx := context.Background()
	verify := func() error {
		_, err := e.v.Verify(ctx, mustSign(t, rsaKey1, "RS256", "rsa1", claimsAt(e.clock.Now())))
		return err
	}
	if err := verify(); err != nil {
		t.Fatal(err)
	}
	e.srv.set(nil, http.StatusInternalServerError)
	e.clock.Advance(11 * time.Minute) // past TTL: refresh attempted, fails, cached key used
	if err := verify(); err != nil {
		t.Fatalf("with failing refresh: %v", err)
	}
	if got := e.srv.hits.Load(); got != 2 {
		t.Fatalf("fetches = %d, want 2", got)
	}
	e.clock.Advance(10 * time.Second) // failed refresh is not retried on every request
	if err := verify(); err != nil {
		t.Fatal(err)
	}
	if got := e.srv.hits.Load(); got != 2 {
		t.Fatalf("fetches = %d, want 2", got)
	}
	e.clock.Advance(30 * time.Second)
	if err := verify(); err != nil {
		t.Fatal(err)
	}
	if got := e.srv.hits.Load(); got != 3 {
		t.Fatalf("fetches = %d, want 3", got)
	}
}

func TestTTLExpiryRefetches(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i, adv := range []time.Duration{0, 59 * time.Minute, 2 * time.Minute} {
		e.clock.Advance(adv)
		if _, err := e.v.Verify(ctx, mustSign(t, rsaKey1, "RS256", "rsa1", claimsAt(e.clock.Now()))); err != nil {
			t.Fatal(err)
		}
		if want := []int64{1, 1, 2}[i]; e.srv.hits.Load() != want {
			t.Fatalf("step %d: fetches = %d, want %d", i, e.srv.hits.Load(), want)
		}
	}
}

func TestKeyRotation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.v.Verify(ctx, mustSign(t, rsaKey1, "RS256", "rsa1", claimsAt(e.clock.Now()))); err != nil {
		t.Fatal(err)
	}
	// The issuer rotates: rsa2 is added, rsa1 removed.
	e.srv.set(mustJWKS(t, PublicKey{KID: "rsa2", Key: &rsaKey2.PublicKey}), http.StatusOK)
	tok2 := func() string { return mustSign(t, rsaKey2, "RS256", "rsa2", claimsAt(e.clock.Now())) }

	// Just after a fetch the unknown kid is rejected without asking the issuer.
	e.clock.Advance(10 * time.Second)
	if _, err := e.v.Verify(ctx, tok2()); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrInvalidToken (rate limited)", err)
	}
	if got := e.srv.hits.Load(); got != 1 {
		t.Fatalf("fetches = %d, want 1", got)
	}
	e.clock.Advance(refetchInterval)
	if _, err := e.v.Verify(ctx, tok2()); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if got := e.srv.hits.Load(); got != 2 {
		t.Fatalf("fetches = %d, want 2", got)
	}
	// rsa1 was removed by the refresh, so it no longer verifies.
	if _, err := e.v.Verify(ctx, mustSign(t, rsaKey1, "RS256", "rsa1", claimsAt(e.clock.Now()))); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("removed key: err = %v", err)
	}
}

func TestUnknownKidRateLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.v.Verify(ctx, mustSign(t, rsaKey1, "RS256", "rsa1", claimsAt(e.clock.Now()))); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour - time.Second) // refetch allowed, cache still fresh
	toks := make([]string, 20)
	for i := range toks {
		toks[i] = mustSign(t, rsaKey1, "RS256", fmt.Sprintf("garbage-%d", i), claimsAt(e.clock.Now()))
	}
	valid := mustSign(t, rsaKey1, "RS256", "rsa1", claimsAt(e.clock.Now()))
	var wg sync.WaitGroup
	errs := make([]error, len(toks))
	for i, tok := range toks {
		wg.Go(func() { _, errs[i] = e.v.Verify(ctx, tok) })
	}
	// Legitimate traffic keeps working during the burst.
	for range 5 {
		if _, err := e.v.Verify(ctx, valid); err != nil {
			t.Errorf("valid token during burst: %v", err)
		}
	}
	wg.Wait()
	for _, tok := range toks { // and a sequential burst afterwards
		if _, err := e.v.Verify(ctx, tok); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("err = %v", err)
		}
	}
	for _, err := range errs {
		if !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("err = %v, want ErrInvalidToken", err)
		}
	}
	if got := e.srv.hits.Load(); got > 2 {
		t.Fatalf("fetches = %d, want at most 2 (1 initial + 1 refresh)", got)
	}
}

func TestCacheReuse(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok := mustSign(t, rsaKey1, "RS256", "rsa1", claimsAt(e.clock.Now()))
	for range 100 {
		if _, err := e.v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.srv.hits.Load(); got != 1 {
		t.Fatalf("fetches = %d, want 1", got)
	}
}

func TestConcurrentFirstFetchSingleFlight(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	e.srv.mu.Lock()
	e.srv.delay = release
	e.srv.mu.Unlock()
	tok := mustSign(t, ecKey1, "ES256", "ec1", claimsAt(e.clock.Now()))
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			_, err := e.v.Verify(context.Background(), tok)
			errs <- err
		})
	}
	time.Sleep(50 * time.Millisecond) // let the callers pile up on the in-flight fetch
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := e.srv.hits.Load(); got != 1 {
		t.Fatalf("fetches = %d, want 1", got)
	}
}

func TestContextCancelWhileFetching(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	e.srv.mu.Lock()
	e.srv.delay = release
	e.srv.mu.Unlock()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := e.v.Verify(ctx, mustSign(t, rsaKey1, "RS256", "rsa1", claimsAt(e.clock.Now())))
	if !errors.Is(err, ErrKeysUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestNewVerifierConfig(t *testing.T) {
	base := func() Config { return Config{Issuer: testIssuer, Audiences: []string{testClientID}} }
	bad := map[string]func(*Config){
		"no issuer":          func(c *Config) { c.Issuer = "" },
		"no audiences":       func(c *Config) { c.Audiences = nil },
		"empty audience":     func(c *Config) { c.Audiences = []string{""} },
		"negative leeway":    func(c *Config) { c.Leeway = -time.Second },
		"negative lifetime":  func(c *Config) { c.MaxLifetime = -time.Second },
		"negative ttl":       func(c *Config) { c.JWKSCacheTTL = -time.Second },
		"plain http jwks":    func(c *Config) { c.JWKSURL = "http://example.com/jwks.json" },
		"relative jwks":      func(c *Config) { c.JWKSURL = "/jwks.json" },
		"http issuer":        func(c *Config) { c.Issuer = "http://issuer.example" },
		"multi-word scope":   func(c *Config) { c.RequiredScope = "a b" },
		"ftp jwks":           func(c *Config) { c.JWKSURL = "ftp://127.0.0.1/jwks.json" },
		"http look-alike ip": func(c *Config) { c.JWKSURL = "http://127.0.0.1.example.com/jwks.json" },
	}
	for name, m := range bad {
		t.Run(name, func(t *testing.T) {
			c := base()
			m(&c)
			if v, err := NewVerifier(c); err == nil {
				t.Fatalf("NewVerifier accepted %+v", v)
			}
		})
	}
	v, err := NewVerifier(base())
	if err != nil {
		t.Fatal(err)
	}
	if want := testIssuer + "/.well-known/jwks.json"; v.keys.url != want {
		t.Errorf("default JWKS URL = %q, want %q", v.keys.url, want)
	}
	if v.leeway != 60*time.Second || v.keys.ttl != time.Hour || v.keys.client.Timeout != 2*time.Second {
		t.Errorf("defaults: leeway=%v ttl=%v timeout=%v", v.leeway, v.keys.ttl, v.keys.client.Timeout)
	}
	for _, u := range []string{"http://127.0.0.1:8080/jwks", "http://[::1]/jwks", "http://localhost/jwks"} {
		c := base()
		c.JWKSURL = u
		if _, err := NewVerifier(c); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

func TestLeewayConfig(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Leeway = 5 * time.Second })
	c := claimsAt(e.clock.Now())
	c["exp"] = e.clock.Now().Add(-10 * time.Second).Unix()
	_, err := e.v.Verify(context.Background(), mustSign(t, rsaKey1, "RS256", "rsa1", c))
	if !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("err = %v, want expiry with 5s leeway", err)
	}
}

func TestSignErrors(t *testing.T) {
	testKeys(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  crypto.Signer
		alg  string
	}{
		{"ES256 with RSA key", rsaKey1, "ES256"},
		{"RS256 with EC key", ecKey1, "RS256"},
		{"ES256 with P-384 key", p384, "ES256"},
		{"HS256", rsaKey1, "HS256"},
		{"none", rsaKey1, "none"},
		{"nil key", nil, "RS256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tok, err := Sign(tc.key, tc.alg, "k", map[string]any{}); err == nil {
				t.Fatalf("Sign succeeded: %s", tok)
			}
		})
	}
	if _, err := Sign(rsaKey1, "RS256", "k", map[string]any{"bad": func() {}}); err == nil {
		t.Fatal("Sign accepted unencodable claims")
	}
	// The header is exactly what the doc promises.
	tok := mustSign(t, ecKey1, "ES256", "k1", map[string]any{})
	h, _ := b64.DecodeString(strings.Split(tok, ".")[0])
	if string(h) != `{"alg":"ES256","typ":"JWT","kid":"k1"}` {
		t.Fatalf("header = %s", h)
	}
}

func TestJWKSRoundTrip(t *testing.T) {
	testKeys(t)
	doc := mustJWKS(t,
		PublicKey{KID: "r", Key: &rsaKey1.PublicKey},
		PublicKey{KID: "r5", Alg: "RS512", Key: &rsaKey2.PublicKey},
		PublicKey{KID: "e", Key: &ecKey1.PublicKey},
	)
	var raw struct{ Keys []map[string]string }
	if err := json.Unmarshal(doc, &raw); err != nil {
		t.Fatal(err)
	}
	wantFields := [][]string{
		{"alg", "e", "kid", "kty", "n", "use"},
		{"alg", "e", "kid", "kty", "n", "use"},
		{"alg", "crv", "kid", "kty", "use", "x", "y"},
	}
	for i, k := range raw.Keys {
		got := slices.Sorted(func(yield func(string) bool) {
			for f := range k {
				if !yield(f) {
					return
				}
			}
		})
		if !slices.Equal(got, wantFields[i]) {
			t.Errorf("key %d fields = %v, want %v", i, got, wantFields[i])
		}
	}
	if raw.Keys[0]["alg"] != "RS256" || raw.Keys[1]["alg"] != "RS512" || raw.Keys[2]["alg"] != "ES256" || raw.Keys[0]["e"] != "AQAB" {
		t.Errorf("unexpected JWKS: %s", doc)
	}
	keys, err := parseJWKS(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !rsaKey1.PublicKey.Equal(keys["r"].Key()) || !rsaKey2.PublicKey.Equal(keys["r5"].Key()) || !ecKey1.PublicKey.Equal(keys["e"].Key()) {
		t.Error("round-tripped keys differ")
	}

	if b, _ := JWKS(); string(b) != `{"keys":[]}` {
		t.Errorf("empty JWKS = %s", b)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for name, k := range map[string]PublicKey{
		"no kid":        {Key: &rsaKey1.PublicKey},
		"ES256 on RSA":  {KID: "k", Alg: "ES256", Key: &rsaKey1.PublicKey},
		"RS256 on EC":   {KID: "k", Alg: "RS256", Key: &ecKey1.PublicKey},
		"P-384":         {KID: "k", Key: &p384.PublicKey},
		"private key":   {KID: "k", Key: rsaKey1},
		"HS256 on RSA":  {KID: "k", Alg: "HS256", Key: &rsaKey1.PublicKey},
		"nil key value": {KID: "k"},
	} {
		if _, err := JWKS(k); err == nil {
			t.Errorf("%s: JWKS accepted", name)
		}
	}
}

func TestParseJWKSSkipsUnusableKeys(t *testing.T) {
	testKeys(t)
	n := b64.EncodeToString(rsaKey1.N.Bytes())
	pub, _ := ecKey1.PublicKey.Bytes()
	x, y := b64.EncodeToString(pub[1:33]), b64.EncodeToString(pub[33:])
	badY := append([]byte(nil), pub[33:]...)
	badY[31] ^= 1
	small := new(big.Int).Lsh(big.NewInt(1), 1023)
	doc := fmt.Sprintf(`{"keys":[
		{"kty":"RSA","kid":"enc","use":"enc","n":%[1]q,"e":"AQAB"},
		{"kty":"RSA","kid":"small","n":%[2]q,"e":"AQAB"},
		{"kty":"RSA","kid":"even-e","n":%[1]q,"e":"AQAA"},
		{"kty":"RSA","kid":"rsa-es","alg":"ES256","n":%[1]q,"e":"AQAB"},
		{"kty":"RSA","kid":"padded","n":%[1]q,"e":"AQAB=="},
		{"kty":"EC","kid":"off-curve","crv":"P-256","x":%[3]q,"y":%[5]q},
		{"kty":"EC","kid":"p384","crv":"P-384","x":%[3]q,"y":%[4]q},
		{"kty":"oct","kid":"hmac","k":"c2VjcmV0"},
		{"kty":"RSA","n":%[1]q,"e":"AQAB"},
		"not an object",
		{"kty":"RSA","kid":"good","n":%[1]q,"e":"AQAB"},
		{"kty":"EC","kid":"good","crv":"P-256","x":%[3]q,"y":%[4]q},
		{"kty":"EC","kid":"ec","crv":"P-256","x":%[3]q,"y":%[4]q}
	]}`, n, b64.EncodeToString(small.Bytes()), x, y, b64.EncodeToString(badY))
	keys, err := parseJWKS([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(func(yield func(string) bool) {
		for k := range keys {
			if !yield(k) {
				return
			}
		}
	})
	if !slices.Equal(got, []string{"ec", "good"}) {
		t.Fatalf("usable kids = %v", got)
	}
	if _, isRSA := keys["good"].Key().(interface{ Size() int }); !isRSA {
		t.Error("duplicate kid: first key should win")
	}
}

func TestErrorsNeverContainToken(t *testing.T) {
	// Claim values are attacker-controlled too; messages must not echo them.
	e := newEnv(t)
	marker := "LEAKMARKER"
	c := claimsAt(e.clock.Now())
	c["iss"], c["client_id"], c["scope"] = marker, marker, marker
	tok := mustSign(t, rsaKey1, "RS256", marker, c)
	e.clock.Advance(time.Minute)
	_, err := e.v.Verify(context.Background(), tok)
	if err == nil || strings.Contains(err.Error(), marker) {
		t.Fatalf("err = %v", err)
	}
	tok = mustSign(t, rsaKey1, "RS256", "rsa1", c)
	_, err = e.v.Verify(context.Background(), tok)
	if err == nil || strings.Contains(err.Error(), marker) {
		t.Fatalf("err = %v", err)
	}
	assertNoTokenLeak(t, err, tok)
}

func BenchmarkVerifyRS256(b *testing.B) {
	e := newEnv(b)
	tok := mustSign(b, rsaKey1, "RS256", "rsa1", claimsAt(e.clock.Now()))
	ctx := context.Background()
	if _, err := e.v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
