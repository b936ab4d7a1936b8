// Package oauth validates the bearer JWTs that Amazon EventBridge API
// destinations send when a webhook connection uses the "OAuth client
// credentials" authorization type.
//
// The sender obtains an access token from the receiver's token endpoint
// (typically an Amazon Cognito user pool with a client-credentials app client)
// and presents it as "Authorization: Bearer <JWT>". A [Verifier] checks the
// token's signature against the issuer's JSON Web Key Set (fetched lazily and
// cached), then its issuer, lifetime, audience / client_id, scope and Cognito's
// token_use claim.
//
// The cryptography is left to maintained libraries, so that fixes reach us
// with a version bump: github.com/golang-jwt/jwt/v5's signing methods verify
// signatures (and give [Sign] its hashes), github.com/MicahParks/keyfunc/v3
// picks the key for the token's kid and alg, and github.com/MicahParks/jwkset
// turns JWKs into keys and keys into [JWKS].
//
// What this package still adds is policy those libraries leave open: a strict
// token shape (size bound, canonical base64url only, a case-sensitive alg
// allow-list without none or HMAC, no crit, a required kid); a key policy (RSA
// of 2048 to 8192 bits, EC only on P-256, signing keys only); Cognito's claim
// rules with a lifetime bound; and its own JWKS cache. The cache fetches with
// this package's HTTP client (timeout, no redirects) under a context it
// controls, only in a request that needs keys and never in a background
// goroutine, and keeps apart the two failures that keyfunc's default HTTP
// storage reports alike: no keys at all (503) and an unknown kid (401).
//
// Errors that describe a bad token wrap [ErrInvalidToken] (answer 401);
// failures to obtain signing keys wrap [ErrKeysUnavailable] (answer 503 so the
// sender retries). Error messages never contain the token or claim values,
// because both are attacker-controlled and the token is a credential.
//
// [Sign] and [JWKS] are the producing side, for tests and local token
// endpoints.
package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrInvalidToken is wrapped by every rejection of the token itself.
var ErrInvalidToken = errors.New("oauth: invalid token")

// ErrKeysUnavailable means the JWKS could not be fetched or parsed and no
// cached keys exist. It is transient: callers should answer 503.
var ErrKeysUnavailable = errors.New("oauth: signing keys unavailable")

const (
	maxTokenLen   = 8 << 10
	defaultLeeway = 60 * time.Second
	// Cognito access tokens live at most one day; a longer-lived token is a leaked credential's
	// best friend, so none is accepted unless the issuer is configured otherwise.
	defaultMaxLifetime  = 24 * time.Hour
	defaultJWKSCacheTTL = time.Hour
	defaultHTTPTimeout  = 2 * time.Second
)

// Config configures a [Verifier].
type Config struct {
	// Issuer must exactly equal the token's iss claim. Required.
	Issuer string
	// JWKSURL is where signing keys are published. Defaults to
	// Issuer+"/.well-known/jwks.json" (Cognito's layout). Must be https,
	// or http only for a loopback host, since whoever can alter this
	// document can mint tokens.
	JWKSURL string
	// Audiences lists accepted values; a token is accepted if any aud entry
	// or its client_id claim matches one (Cognito access tokens carry
	// client_id, not aud). Required: an empty list is a configuration error,
	// never "accept everything".
	Audiences []string
	// RequiredScope, if set, must be one of the space-separated scope values.
	RequiredScope string
	// Leeway is the clock-skew allowance for exp, nbf and iat. Zero means 60s.
	Leeway time.Duration
	// MaxLifetime bounds how far exp may lie beyond now, and beyond iat when the token has one.
	// Zero means 24h, the longest access-token validity Cognito allows.
	MaxLifetime time.Duration
	// JWKSCacheTTL is how long fetched keys are trusted before a refresh.
	// Zero means 1h.
	JWKSCacheTTL time.Duration
	// HTTPClient fetches the JWKS. Defaults to a client with a 2s timeout
	// that does not follow redirects.
	HTTPClient *http.Client
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

// Claims are the validated claims of an access token.
type Claims struct {
	Issuer   string
	Subject  string
	ClientID string
	// AuthorizedParty is the azp claim: the client a token was issued to, where client_id is absent.
	AuthorizedParty string
	// ClientAccepted says the token's client (Client) is itself one of the accepted audiences.
	ClientAccepted bool
	Audience       []string
	Scopes         []string
	ExpiresAt      time.Time
	IssuedAt       time.Time // zero if the token has no iat
	TokenUse       string
}

// Client is the client the token was issued to: client_id, else azp ("" when neither).
func (c *Claims) Client() string {
	if c.ClientID != "" {
		return c.ClientID
	}
	return c.AuthorizedParty
}

// Verifier validates bearer JWTs. It is safe for concurrent use.
type Verifier struct {
	issuer        string
	audiences     map[string]struct{}
	requiredScope string
	leeway        time.Duration
	maxLifetime   time.Duration
	now           func() time.Time
	keys          *keyCache
}

// NewVerifier validates cfg and returns a Verifier. It does not fetch keys;
// that happens on the first Verify so start-up does not depend on the issuer.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("oauth: Config.Issuer is required")
	}
	if len(cfg.Audiences) == 0 {
		return nil, errors.New("oauth: Config.Audiences is required")
	}
	auds := make(map[string]struct{}, len(cfg.Audiences))
	for _, a := range cfg.Audiences {
		if a == "" {
			return nil, errors.New("oauth: Config.Audiences contains an empty value")
		}
		auds[a] = struct{}{}
	}
	if cfg.Leeway < 0 || cfg.JWKSCacheTTL < 0 || cfg.MaxLifetime < 0 {
		return nil, errors.New("oauth: Config.Leeway, Config.MaxLifetime and Config.JWKSCacheTTL must not be negative")
	}
	if strings.ContainsAny(cfg.RequiredScope, " \t\r\n") {
		return nil, errors.New("oauth: Config.RequiredScope must be a single scope")
	}
	jwksURL := cfg.JWKSURL
	if jwksURL == "" {
		jwksURL = strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/jwks.json"
	}
	if err := checkJWKSURL(jwksURL); err != nil {
		return nil, err
	}
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = defaultLeeway
	}
	maxLifetime := cfg.MaxLifetime
	if maxLifetime == 0 {
		maxLifetime = defaultMaxLifetime
	}
	ttl := cfg.JWKSCacheTTL
	if ttl == 0 {
		ttl = defaultJWKSCacheTTL
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{
			Timeout: defaultHTTPTimeout,
			// A redirect could downgrade to plain http; JWKS endpoints
			// do not redirect, so treat one as a failed fetch.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Verifier{
		issuer:        cfg.Issuer,
		audiences:     auds,
		requiredScope: cfg.RequiredScope,
		leeway:        leeway,
		maxLifetime:   maxLifetime,
		now:           now,
		keys:          newKeyCache(jwksURL, client, ttl, now),
	}, nil
}

func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("oauth: JWKS URL must be an absolute URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return errors.New("oauth: JWKS URL must use https (http is allowed only for loopback hosts)")
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidToken}, args...)...)
}

// Verify validates token (the text after "Bearer ") and returns its claims.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	// Size check first: nothing attacker-sized is decoded or allocated.
	if len(token) > maxTokenLen {
		return nil, invalid("token too large")
	}
	if strings.Count(token, ".") != 2 {
		return nil, invalid("token must have exactly 3 segments")
	}
	dot1 := strings.IndexByte(token, '.')
	dot2 := dot1 + 1 + strings.IndexByte(token[dot1+1:], '.')
	headerSeg, payloadSeg, sigSeg := token[:dot1], token[dot1+1:dot2], token[dot2+1:]

	// The compact JWS is parsed here, not by golang-jwt's Parser: its
	// base64url decoding skips \r and \n, it lets crit through, does not
	// require a kid and decodes the claims before checking the signature.
	// Parsing first and letting it parse again cost 6-10% per verify.
	headerJSON, err := decodeSegment(headerSeg)
	if err != nil {
		return nil, invalid("malformed header")
	}
	// A map rather than a struct: encoding/json matches struct fields
	// case-insensitively, and "ALG" is not "alg".
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(headerJSON, &hdr); err != nil || hdr == nil {
		return nil, invalid("malformed header")
	}
	var algName, kid string
	if err := claimString(hdr, "alg", &algName); err != nil {
		return nil, invalid("malformed header")
	}
	method, ok := algorithms[algName]
	if !ok {
		// Covers "none", HS* (key-confusion attacks) and anything unknown.
		return nil, invalid("unsupported alg")
	}
	if _, ok := hdr["crit"]; ok {
		// RFC 7515 §4.1.11: we understand no extensions, so must reject.
		return nil, invalid("unsupported crit header")
	}
	if err := claimString(hdr, "kid", &kid); err != nil || kid == "" {
		return nil, invalid("missing kid")
	}
	sig, err := decodeSegment(sigSeg)
	if err != nil || len(sig) == 0 {
		return nil, invalid("malformed signature")
	}
	payload, err := decodeSegment(payloadSeg)
	if err != nil {
		return nil, invalid("malformed payload")
	}

	kf, err := v.keys.lookup(ctx, kid) // decides 401 (unknown kid) or 503
	if err != nil {
		return nil, err
	}
	// keyfunc returns the kid's key, refusing one whose JWK "alg" differs
	// from the token's.
	key, err := kf.KeyfuncCtx(ctx)(&jwt.Token{Header: map[string]any{"alg": algName, "kid": kid}, Method: method})
	if err != nil {
		return nil, invalid("alg does not match key") // never the library's text: it quotes the header
	}
	// golang-jwt's RSA and ECDSA methods take only *rsa.PublicKey and
	// *ecdsa.PublicKey, so a key is never used under another family.
	if err := method.Verify(token[:dot2], sig, key); err != nil {
		if errors.Is(err, jwt.ErrInvalidKeyType) {
			return nil, invalid("alg does not match key type")
		}
		return nil, invalid("bad signature")
	}

	// Only now, with the signature checked, interpret the payload.
	return v.checkClaims(payload)
}

// decodeSegment decodes unpadded base64url. The explicit alphabet check
// matters: encoding/base64 silently skips \r and \n, which would let many
// distinct strings verify as the same token.
func decodeSegment(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, errors.New("invalid base64url character")
		}
	}
	// Strict rejects non-zero trailing bits, another source of malleability.
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

// algorithms are the JWS algorithms accepted, case-sensitively: RSASSA-PKCS1-v1_5
// and ES256, what Cognito and common issuers sign with.
var algorithms = map[string]jwt.SigningMethod{
	"RS256": jwt.SigningMethodRS256,
	"RS384": jwt.SigningMethodRS384,
	"RS512": jwt.SigningMethodRS512,
	"ES256": jwt.SigningMethodES256,
}

// claimSet is a token's payload while its claims are checked: the raw claims, the Claims read
// from them so far, and the time of the check (one reading of the clock for every claim).
type claimSet struct {
	raw    map[string]json.RawMessage
	claims *Claims
	now    time.Time
}

// claimChecks are run in this order and the first failure is the token's error, so a token with
// several faults always gets the same one. A check may rely on what an earlier one read (the
// issued-at check on ExpiresAt, the client check on the audience).
var claimChecks = []func(*Verifier, *claimSet) error{
	(*Verifier).checkIssuer,
	(*Verifier).readStringClaims,
	(*Verifier).checkExpiry,
	(*Verifier).checkNotBefore,
	(*Verifier).checkIssuedAt,
	(*Verifier).checkTokenUse,
	(*Verifier).checkAudience,
	(*Verifier).checkClient,
	(*Verifier).checkScope,
}

func (v *Verifier) checkClaims(payload []byte) (*Claims, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(payload, &raw); err != nil || raw == nil {
		return nil, invalid("malformed claims")
	}
	s := &claimSet{raw: raw, claims: &Claims{}, now: v.now()}
	for _, check := range claimChecks {
		if err := check(v, s); err != nil {
			return nil, err
		}
	}
	return s.claims, nil
}

// checkIssuer: iss must equal the configured issuer exactly.
func (v *Verifier) checkIssuer(s *claimSet) error {
	if err := claimString(s.raw, "iss", &s.claims.Issuer); err != nil {
		return err
	}
	if s.claims.Issuer != v.issuer {
		return invalid("wrong issuer")
	}
	return nil
}

// readStringClaims reads sub, client_id, azp and token_use, each optional but a string when
// present.
func (v *Verifier) readStringClaims(s *claimSet) error {
	c := s.claims
	for _, f := range []struct {
		name string
		dst  *string
	}{{"sub", &c.Subject}, {"client_id", &c.ClientID}, {"azp", &c.AuthorizedParty}, {"token_use", &c.TokenUse}} {
		if err := claimString(s.raw, f.name, f.dst); err != nil {
			return err
		}
	}
	return nil
}

// checkExpiry: exp is required, not past (within the leeway), and at most the maximum lifetime
// away.
func (v *Verifier) checkExpiry(s *claimSet) error {
	exp, ok, err := claimTime(s.raw, "exp")
	if err != nil {
		return err
	}
	if !ok {
		return invalid("missing exp")
	}
	if !s.now.Before(exp.Add(v.leeway)) {
		return invalid("token expired")
	}
	if exp.Sub(s.now) > v.maxLifetime+v.leeway {
		return invalid("token lifetime too long")
	}
	s.claims.ExpiresAt = exp
	return nil
}

// checkNotBefore: nbf, when present, has been reached (within the leeway).
func (v *Verifier) checkNotBefore(s *claimSet) error {
	nbf, ok, err := claimTime(s.raw, "nbf")
	if err != nil {
		return err
	}
	if ok && nbf.After(s.now.Add(v.leeway)) {
		return invalid("token not yet valid")
	}
	return nil
}

// checkIssuedAt: iat, when present, is not in the future (within the leeway), and iat to exp is
// at most the maximum lifetime.
func (v *Verifier) checkIssuedAt(s *claimSet) error {
	iat, ok, err := claimTime(s.raw, "iat")
	if err != nil || !ok {
		return err
	}
	if iat.After(s.now.Add(v.leeway)) {
		return invalid("token issued in the future")
	}
	if s.claims.ExpiresAt.Sub(iat) > v.maxLifetime+v.leeway {
		return invalid("token lifetime too long")
	}
	s.claims.IssuedAt = iat
	return nil
}

// checkTokenUse: a token_use claim must say "access". Cognito ID tokens are signed by the same
// keys; only access tokens authorize API calls.
func (v *Verifier) checkTokenUse(s *claimSet) error {
	if _, present := s.raw["token_use"]; present && s.claims.TokenUse != "access" {
		return invalid("token_use is not access")
	}
	return nil
}

// checkAudience reads aud and requires an accepted audience: client_id or one of aud.
func (v *Verifier) checkAudience(s *claimSet) error {
	if aud, ok := s.raw["aud"]; ok {
		// RFC 7519 §4.1.3: a single string or an array of strings.
		var list []json.RawMessage
		if len(aud) > 0 && aud[0] == '"' {
			list = []json.RawMessage{aud}
		} else if len(aud) == 0 || aud[0] != '[' || json.Unmarshal(aud, &list) != nil {
			return invalid("malformed aud claim")
		}
		for _, item := range list {
			var a string
			if len(item) == 0 || item[0] != '"' || json.Unmarshal(item, &a) != nil {
				return invalid("malformed aud claim")
			}
			s.claims.Audience = append(s.claims.Audience, a)
		}
	}
	if !v.audienceOK(s.claims) {
		return invalid("audience not accepted")
	}
	return nil
}

// checkClient records whether the token's client is itself an accepted audience; it never fails.
func (v *Verifier) checkClient(s *claimSet) error {
	c := s.claims
	_, c.ClientAccepted = v.audiences[c.Client()]
	c.ClientAccepted = c.ClientAccepted && c.Client() != ""
	return nil
}

// checkScope reads scope (space-separated) and requires the configured scope, if any.
func (v *Verifier) checkScope(s *claimSet) error {
	var scope string
	if err := claimString(s.raw, "scope", &scope); err != nil {
		return err
	}
	s.claims.Scopes = strings.Fields(scope)
	if v.requiredScope != "" && !slices.Contains(s.claims.Scopes, v.requiredScope) {
		return invalid("required scope missing")
	}
	return nil
}

func (v *Verifier) audienceOK(c *Claims) bool {
	if _, ok := v.audiences[c.ClientID]; ok && c.ClientID != "" {
		return true
	}
	for _, a := range c.Audience {
		if _, ok := v.audiences[a]; ok {
			return true
		}
	}
	return false
}

// claimString reads an optional string claim; a present claim of another
// type (including null) is malformed.
func claimString(raw map[string]json.RawMessage, name string, dst *string) error {
	m, ok := raw[name]
	if !ok {
		return nil
	}
	if len(m) == 0 || m[0] != '"' || json.Unmarshal(m, dst) != nil {
		return invalid("malformed %s claim", name)
	}
	return nil
}

// maxNumericDate bounds NumericDate values (~year 5138) so conversion to
// time.Time cannot overflow.
const maxNumericDate = 1 << 37

// claimTime reads an optional NumericDate claim (RFC 7519 §2: seconds since
// the epoch, fractions allowed).
func claimTime(raw map[string]json.RawMessage, name string) (time.Time, bool, error) {
	m, ok := raw[name]
	if !ok {
		return time.Time{}, false, nil
	}
	var n json.Number
	if json.Unmarshal(m, &n) != nil || len(m) == 0 || m[0] == '"' {
		return time.Time{}, false, invalid("malformed %s claim", name)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, false, invalid("malformed %s claim", name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}
