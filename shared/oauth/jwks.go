package oauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

const (
	maxJWKSBytes = 1 << 20
	// refetchInterval is the minimum gap between JWKS refreshes while keys
	// are cached, so tokens with made-up kids cannot hammer the issuer.
	refetchInterval = 30 * time.Second
	// failureBackoff is the minimum gap between attempts while no keys have
	// ever been fetched: short, because every request fails until one works.
	failureBackoff = 5 * time.Second
	// fetchTimeout bounds a fetch even if a caller-supplied HTTPClient has
	// no timeout; otherwise a hung fetch would block all refreshes forever.
	fetchTimeout = 30 * time.Second
	minRSABits   = 2048
	maxRSABits   = 8192 // bounds verification cost of hostile-but-published keys
)

// keyCache fetches and caches the JWKS, with at most one fetch in flight.
//
// It is ours rather than keyfunc's HTTP storage (jwkset.NewStorageFromHTTP
// behind keyfunc.NewDefault*), which refreshes on a wall-clock ticker in a
// background goroutine (a frozen Lambda cannot run it, tests cannot step it),
// makes a request with an unknown kid wait up to a minute for a wall-clock
// rate limiter, and by default swallows fetch errors, so an unreachable JWKS
// reads as "key not found": a 401 Amazon does not retry instead of a 503.
// Here each successful fetch becomes an in-memory jwkset storage behind a
// keyfunc; keyfunc itself never touches the network.
type keyCache struct {
	url    string
	client *http.Client
	ttl    time.Duration
	now    func() time.Time

	mu          sync.Mutex
	keys        map[string]jwkset.JWK // nil until the first successful fetch
	kf          keyfunc.Keyfunc       // over keys
	fetchedAt   time.Time             // of the current keys
	lastAttempt time.Time             // end of the most recent fetch, successful or not
	lastErr     error                 // of the most recent fetch, nil if it succeeded
	inflight    *fetchCall
}

type fetchCall struct {
	done chan struct{}
	err  error // written before done is closed
}

func newKeyCache(url string, client *http.Client, ttl time.Duration, now func() time.Time) *keyCache {
	return &keyCache{url: url, client: client, ttl: ttl, now: now}
}

// lookup returns a keyfunc over key set that holds kid, fetching or refreshing
// the JWKS if needed. An unknown kid is ErrInvalidToken; no keys at all is
// ErrKeysUnavailable.
func (c *keyCache) lookup(ctx context.Context, kid string) (keyfunc.Keyfunc, error) {
	c.mu.Lock()
	now := c.now()
	_, found := c.keys[kid]
	// Fast path first, so legitimate traffic never waits behind a refresh
	// triggered by someone else's unknown kid.
	if found && now.Sub(c.fetchedAt) < c.ttl {
		kf := c.kf
		c.mu.Unlock()
		return kf, nil
	}
	if call := c.inflight; call != nil {
		c.mu.Unlock()
		return c.await(ctx, call, kid)
	}
	if c.keys != nil {
		interval := refetchInterval
		if found {
			// Stale but known key: a failed refresh is retried sooner
			// if the TTL is shorter than the refetch interval.
			interval = min(refetchInterval, c.ttl)
		}
		if now.Sub(c.lastAttempt) < interval {
			kf := c.kf
			c.mu.Unlock()
			if found {
				return kf, nil // refresh failed recently; keep using cached keys
			}
			return nil, invalid("unknown kid")
		}
	} else if c.lastErr != nil && now.Sub(c.lastAttempt) < failureBackoff {
		err := c.lastErr
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	call := &fetchCall{done: make(chan struct{})}
	c.inflight = call
	c.mu.Unlock()
	// The fetch is shared, so it must not die with the first caller's
	// context; each caller stops waiting on its own context instead.
	go c.fetch(context.WithoutCancel(ctx), call)
	return c.await(ctx, call, kid)
}

func (c *keyCache) await(ctx context.Context, call *fetchCall, kid string) (keyfunc.Keyfunc, error) {
	select {
	case <-call.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, ctx.Err())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil {
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, call.err)
	}
	// If the refresh failed, c.keys are the previous (still trusted) keys.
	if _, ok := c.keys[kid]; !ok {
		return nil, invalid("unknown kid")
	}
	return c.kf, nil
}

func (c *keyCache) fetch(ctx context.Context, call *fetchCall) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	keys, err := c.download(ctx)
	var kf keyfunc.Keyfunc
	if err == nil {
		kf, err = newKeyfunc(keys)
	}

	c.mu.Lock()
	c.lastAttempt = c.now()
	if err == nil {
		c.keys, c.kf, c.fetchedAt, c.lastErr = keys, kf, c.lastAttempt, nil
	} else {
		c.lastErr = err
	}
	c.inflight = nil
	call.err = err
	c.mu.Unlock()
	close(call.done)
}

func (c *keyCache) download(ctx context.Context) (map[string]jwkset.JWK, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching JWKS from %s: HTTP status %d", c.url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading JWKS from %s: %w", c.url, err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("JWKS from %s exceeds %d bytes", c.url, maxJWKSBytes)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("parsing JWKS from %s: %w", c.url, err)
	}
	return keys, nil
}

// newKeyfunc puts keys in an in-memory jwkset storage behind a keyfunc.
func newKeyfunc(keys map[string]jwkset.JWK) (keyfunc.Keyfunc, error) {
	store := jwkset.NewMemoryStorage()
	if err := store.KeyReplaceAll(context.Background(), slices.Collect(maps.Values(keys))); err != nil {
		return nil, err
	}
	return keyfunc.New(keyfunc.Options{Storage: store})
}

// parseJWKS keeps the usable signing keys and skips the rest, so one
// unfamiliar key (say an encryption key) does not take down verification.
// A document with no usable keys is an error rather than an empty set:
// that is almost certainly a misconfiguration, and 503 beats rejecting
// every token.
func parseJWKS(body []byte) (map[string]jwkset.JWK, error) {
	// Key by key rather than jwkset.JWKSMarshal, which fails the whole
	// document on one member that is not a JWK object.
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	keys := make(map[string]jwkset.JWK, len(doc.Keys))
	for _, raw := range doc.Keys {
		// Public parts only: a JWKS that leaks "d" still yields public keys.
		k, err := jwkset.NewJWKFromRawJSON(raw, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil || usableKey(k) != nil {
			continue
		}
		kid := k.Marshal().KID
		if _, dup := keys[kid]; dup {
			continue // first wins; a kid must identify one key
		}
		keys[kid] = k
	}
	if len(keys) == 0 {
		return nil, errors.New("no usable signing keys")
	}
	return keys, nil
}

// usableKey is the key policy on top of jwkset's parsing, which accepts
// padded or non-canonical base64url, any RSA size or exponent and other
// curves: a signing key with a kid, RSA of 2048 to 8192 bits with a sane
// exponent, or EC on P-256, each only under an alg we accept.
func usableKey(k jwkset.JWK) error {
	m := k.Marshal()
	if m.KID == "" {
		return errors.New("missing kid")
	}
	if m.USE != "" && m.USE != jwkset.UseSig {
		return errors.New("not a signing key")
	}
	alg := string(m.ALG)
	if _, ok := algorithms[alg]; alg != "" && !ok {
		return errors.New("unsupported alg")
	}
	switch pub := k.Key().(type) {
	case *rsa.PublicKey:
		if _, ec := algorithms[alg].(*jwt.SigningMethodECDSA); ec {
			return errors.New("alg does not match kty")
		}
		n, err1 := decodeSegment(m.N)
		e, err2 := decodeSegment(m.E)
		if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return errors.New("malformed RSA key")
		}
		if bits := pub.N.BitLen(); bits < minRSABits || bits > maxRSABits || pub.E < 3 || pub.E > 1<<31-1 || pub.E%2 == 0 {
			return errors.New("unacceptable RSA key")
		}
		return nil
	case *ecdsa.PublicKey:
		// jwkset has already checked that the point is on the curve.
		if m.CRV != jwkset.CrvP256 || (alg != "" && alg != "ES256") {
			return errors.New("unsupported EC key")
		}
		x, err1 := decodeSegment(m.X)
		y, err2 := decodeSegment(m.Y)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return errors.New("malformed EC key")
		}
		return nil
	}
	return errors.New("unsupported kty")
}

// PublicKey is a key to publish with [JWKS]. Key is *rsa.PublicKey or
// *ecdsa.PublicKey on P-256. Alg defaults to RS256 or ES256 by key type.
type PublicKey struct {
	KID string
	Alg string
	Key crypto.PublicKey
}

// JWKS returns a JSON Web Key Set document ({"keys":[...]}) publishing keys
// as signing keys, in the form Verifier consumes.
func JWKS(keys ...PublicKey) ([]byte, error) {
	out := make([]jwkset.JWKMarshal, 0, len(keys))
	for i, k := range keys {
		if k.KID == "" {
			return nil, fmt.Errorf("oauth: JWKS key %d: KID is required", i)
		}
		alg := k.Alg
		// The checks jwkset leaves to us: public keys only, and only what
		// Verifier accepts, so a published key is a usable one.
		switch pub := k.Key.(type) {
		case *rsa.PublicKey:
			if alg == "" {
				alg = "RS256"
			}
			if _, rsa := algorithms[alg].(*jwt.SigningMethodRSA); !rsa {
				return nil, fmt.Errorf("oauth: JWKS key %d: alg %q is not usable with an RSA key", i, alg)
			}
			if pub.N == nil || pub.E <= 0 {
				return nil, fmt.Errorf("oauth: JWKS key %d: invalid RSA key", i)
			}
		case *ecdsa.PublicKey:
			if alg == "" {
				alg = "ES256"
			}
			if alg != "ES256" || pub.Curve != elliptic.P256() {
				return nil, fmt.Errorf("oauth: JWKS key %d: only ES256 on P-256 is supported for EC keys", i)
			}
		default:
			return nil, fmt.Errorf("oauth: JWKS key %d: unsupported key type %T", i, k.Key)
		}
		j, err := jwkset.NewJWKFromKey(k.Key, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
			KID: k.KID, ALG: jwkset.ALG(alg), USE: jwkset.UseSig,
		}})
		if err != nil {
			return nil, fmt.Errorf("oauth: JWKS key %d: %w", i, err)
		}
		out = append(out, j.Marshal())
	}
	return json.Marshal(jwkset.JWKSMarshal{Keys: out})
}
