package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The two answers keyfunc's default HTTP storage blurs: it swallows the first
// fetch's error and then reports every kid as not found. An unreachable JWKS
// with nothing cached must stay a 503 (Amazon retries); an unknown kid in a
// JWKS we could fetch is the token's fault, a 401.

func TestUnreachableJWKSIsUnavailable(t *testing.T) {
	testKeys(t)
	good := mustJWKS(t, PublicKey{KID: "rsa1", Key: &rsaKey1.PublicKey})
	tests := []struct {
		name   string
		config func(t *testing.T, c *Config)
	}{
		{"connection refused", func(t *testing.T, c *Config) {
			srv := httptest.NewServer(http.NotFoundHandler())
			c.JWKSURL = srv.URL + "/.well-known/jwks.json"
			srv.Close()
		}},
		{"HTTP 503", func(t *testing.T, c *Config) {
			srv := newJWKSServer(t, good)
			srv.set(good, http.StatusServiceUnavailable)
			c.JWKSURL, c.HTTPClient = srv.URL+"/.well-known/jwks.json", srv.Client()
		}},
		{"client timeout", func(t *testing.T, c *Config) {
			srv := newJWKSServer(t, good)
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			srv.mu.Lock()
			srv.delay = release
			srv.mu.Unlock()
			client := srv.Client()
			client.Timeout = 10 * time.Millisecond
			c.JWKSURL, c.HTTPClient = srv.URL+"/.well-known/jwks.json", client
		}},
		{"redirect not followed (default client)", func(t *testing.T, c *Config) {
			target := newJWKSServer(t, good)
			mux := http.NewServeMux()
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL+"/.well-known/jwks.json", http.StatusFound)
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			t.Cleanup(func() {
				if n := target.hits.Load(); n != 0 {
					t.Errorf("redirect followed: target fetched %d times", n)
				}
			})
			c.JWKSURL, c.HTTPClient = srv.URL+"/.well-known/jwks.json", nil
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			cfg := Config{Issuer: testIssuer, Audiences: []string{testClientID}, Now: func() time.Time { return now }}
			tc.config(t, &cfg)
			v, err := NewVerifier(cfg)
			if err != nil {
				t.Fatal(err)
			}
			// Both a known and an unknown kid: with no keys at all, neither is the token's fault.
			for _, kid := range []string{"rsa1", "nope"} {
				tok := mustSign(t, rsaKey1, "RS256", kid, claimsAt(now))
				_, err := v.Verify(context.Background(), tok)
				if !errors.Is(err, ErrKeysUnavailable) || errors.Is(err, ErrInvalidToken) {
					t.Fatalf("kid %s: err = %v, want ErrKeysUnavailable only", kid, err)
				}
				assertNoTokenLeak(t, err, tok)
			}
		})
	}
}

func TestUnknownKidIsInvalid(t *testing.T) {
	tests := []struct {
		name      string
		warm      bool // keys fetched before the unknown kids arrive
		advance   time.Duration
		wantFetch int64 // fetches caused by the unknown kids
	}{
		{name: "cold cache: the first fetch answers", wantFetch: 1},
		{name: "warm cache, within the refetch interval", warm: true, advance: refetchInterval - time.Second, wantFetch: 0},
		{name: "warm cache, refetch interval passed", warm: true, advance: refetchInterval, wantFetch: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			if tc.warm {
				if _, err := e.v.Verify(ctx, mustSign(t, rsaKey1, "RS256", "rsa1", claimsAt(e.clock.Now()))); err != nil {
					t.Fatal(err)
				}
			}
			e.clock.Advance(tc.advance)
			before := e.srv.hits.Load()
			// Many unknown kids at once still cost at most one fetch.
			var wg sync.WaitGroup
			errs := make([]error, 30)
			toks := make([]string, len(errs))
			for i := range errs {
				toks[i] = mustSign(t, rsaKey1, "RS256", fmt.Sprintf("unknown-%d", i), claimsAt(e.clock.Now()))
				wg.Go(func() { _, errs[i] = e.v.Verify(ctx, toks[i]) })
			}
			wg.Wait()
			for i, err := range errs {
				if !errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrKeysUnavailable) {
					t.Fatalf("err = %v, want ErrInvalidToken only", err)
				}
				if !strings.Contains(err.Error(), "unknown kid") || strings.Contains(err.Error(), "unknown-") {
					t.Fatalf("err = %v, want reason unknown kid without the kid", err)
				}
				assertNoTokenLeak(t, err, toks[i])
			}
			if got := e.srv.hits.Load() - before; got != tc.wantFetch {
				t.Fatalf("fetches = %d, want %d", got, tc.wantFetch)
			}
		})
	}
}
