package oauth

import (
	"context"
	"testing"
	"time"
)

// A token with several bad claims is refused for the first one in the order the claims are
// checked (issuer, the string claims' types, expiry, not-before, issued-at, token_use, audience,
// scope), so the same token always gets the same error. The expected texts were taken from the
// verifier before its claim checks were split into one function per claim.
func TestATokenWithSeveralBadClaimsGetsTheErrorOfTheFirstChecked(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	expired := now.Add(-2 * time.Minute).Unix()
	future := now.Add(2 * time.Minute).Unix()
	tests := []struct {
		name   string
		mutate func(c map[string]any)
		want   string // the whole error text
	}{
		{"wrong issuer, expired, no scope", func(c map[string]any) {
			c["iss"] = testIssuer + "x"
			c["exp"] = expired
			delete(c, "scope")
		}, "oauth: invalid token: wrong issuer"},
		{"issuer not a string, sub not a string", func(c map[string]any) { c["iss"] = 7; c["sub"] = 7 }, "oauth: invalid token: malformed iss claim"},
		{"every claim bad", func(c map[string]any) {
			c["iss"] = "https://attacker.example"
			c["sub"], c["client_id"], c["azp"], c["token_use"] = 1, 2, 3, 4
			c["exp"], c["nbf"], c["iat"] = "x", "y", "z"
			c["aud"], c["scope"] = 5, 6
		}, "oauth: invalid token: wrong issuer"},
		{"every claim but the issuer bad", func(c map[string]any) {
			c["sub"], c["client_id"], c["azp"], c["token_use"] = 1, 2, 3, 4
			c["exp"], c["nbf"], c["iat"] = "x", "y", "z"
			c["aud"], c["scope"] = 5, 6
		}, "oauth: invalid token: malformed sub claim"},
		{"sub and client_id not strings", func(c map[string]any) { c["sub"] = []string{"x"}; c["client_id"] = 1 }, "oauth: invalid token: malformed sub claim"},
		{"client_id not a string, aud malformed", func(c map[string]any) { c["client_id"] = 1; c["aud"] = 7 }, "oauth: invalid token: malformed client_id claim"},
		{"azp not a string, no exp", func(c map[string]any) { c["azp"] = true; delete(c, "exp") }, "oauth: invalid token: malformed azp claim"},
		{"token_use null, expired", func(c map[string]any) { c["token_use"] = nil; c["exp"] = expired }, "oauth: invalid token: malformed token_use claim"},
		{"token_use id, expired", func(c map[string]any) { c["token_use"] = "id"; c["exp"] = expired }, "oauth: invalid token: token expired"},
		{"exp a string, sub not a string", func(c map[string]any) { c["exp"] = "soon"; c["sub"] = 1 }, "oauth: invalid token: malformed sub claim"},
		{"no exp, nbf in the future", func(c map[string]any) { delete(c, "exp"); c["nbf"] = future }, "oauth: invalid token: missing exp"},
		{"expired, nbf malformed", func(c map[string]any) { c["exp"] = expired; c["nbf"] = "x" }, "oauth: invalid token: token expired"},
		{"exp beyond the lifetime, nbf in the future", func(c map[string]any) {
			c["exp"] = now.Add(48 * time.Hour).Unix()
			c["nbf"] = future
		}, "oauth: invalid token: token lifetime too long"},
		{"nbf in the future, iat in the future", func(c map[string]any) { c["nbf"] = future; c["iat"] = future }, "oauth: invalid token: token not yet valid"},
		{"nbf malformed, iat malformed", func(c map[string]any) { c["nbf"] = "x"; c["iat"] = "y" }, "oauth: invalid token: malformed nbf claim"},
		{"iat in the future, token_use id", func(c map[string]any) { c["iat"] = future; c["token_use"] = "id" }, "oauth: invalid token: token issued in the future"},
		{"iat to exp beyond the lifetime, token_use id", func(c map[string]any) {
			c["iat"] = now.Add(-24 * time.Hour).Unix()
			c["token_use"] = "id"
		}, "oauth: invalid token: token lifetime too long"},
		{"token_use id, wrong client_id", func(c map[string]any) { c["token_use"] = "id"; c["client_id"] = "other" }, "oauth: invalid token: token_use is not access"},
		{"aud malformed, wrong client_id, no scope", func(c map[string]any) {
			c["aud"] = []any{1}
			c["client_id"] = "other"
			delete(c, "scope")
		}, "oauth: invalid token: malformed aud claim"},
		{"audience not accepted, scope not a string", func(c map[string]any) { c["client_id"] = "other"; c["scope"] = 7 }, "oauth: invalid token: audience not accepted"},
		{"scope not a string", func(c map[string]any) { c["scope"] = []string{testScope} }, "oauth: invalid token: malformed scope claim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := claimsAt(now)
			tt.mutate(c)
			_, err := e.v.Verify(context.Background(), mustSign(t, rsaKey1, "RS256", "rsa1", c))
			if err == nil || err.Error() != tt.want {
				t.Errorf("Verify: %v\nwant %s", err, tt.want)
			}
		})
	}
}
