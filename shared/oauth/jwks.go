package oauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"
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

type jwk struct {
	pub crypto.PublicKey // *rsa.PublicKey or *ecdsa.PublicKey (P-256)
	alg string           // "" if the JWK does not declare one
}

// keyCache fetches and caches the JWKS, with at most one fetch in flight.
type keyCache struct {
	url    string
	client *http.Client
	ttl    time.Duration
	now    func() time.Time

	mu          sync.Mutex
	keys        map[string]jwk // nil until the first successful fetch
	fetchedAt   time.Time      // of the current keys
	lastAttempt time.Time      // end of the most recent fetch, successful or not
	lastErr     error          // of the most recent fetch, nil if it succeeded
	inflight    *fetchCall
}

type fetchCall struct {
	done chan struct{}
	err  error // written before done is closed
}

func newKeyCache(url string, client *http.Client, ttl time.Duration, now func() time.Time) *keyCache {
	return &keyCache{url: url, client: client, ttl: ttl, now: now}
}

// lookup returns the key for kid, fetching or refreshing the JWKS if needed.
func (c *keyCache) lookup(ctx context.Context, kid string) (jwk, error) {
	c.mu.Lock()
	now := c.now()
	k, found := c.keys[kid]
	// Fast path first, so legitimate traffic never waits behind a refresh
	// triggered by someone else's unknown kid.
	if found && now.Sub(c.fetchedAt) < c.ttl {
		c.mu.Unlock()
		return k, nil
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
			c.mu.Unlock()
			if found {
				return k, nil // refresh failed recently; keep using cached keys
			}
			return jwk{}, invalid("unknown kid")
		}
	} else if c.lastErr != nil && now.Sub(c.lastAttempt) < failureBackoff {
		err := c.lastErr
		c.mu.Unlock()
		return jwk{}, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	call := &fetchCall{done: make(chan struct{})}
	c.inflight = call
	c.mu.Unlock()
	// The fetch is shared, so it must not die with the first caller's
	// context; each caller stops waiting on its own context instead.
	go c.fetch(context.WithoutCancel(ctx), call)
	return c.await(ctx, call, kid)
}

func (c *keyCache) await(ctx context.Context, call *fetchCall, kid string) (jwk, error) {
	select {
	case <-call.done:
	case <-ctx.Done():
		return jwk{}, fmt.Errorf("%w: %w", ErrKeysUnavailable, ctx.Err())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil {
		return jwk{}, fmt.Errorf("%w: %w", ErrKeysUnavailable, call.err)
	}
	// If the refresh failed, c.keys are the previous (still trusted) keys.
	k, ok := c.keys[kid]
	if !ok {
		return jwk{}, invalid("unknown kid")
	}
	return k, nil
}

func (c *keyCache) fetch(ctx context.Context, call *fetchCall) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	keys, err := c.download(ctx)

	c.mu.Lock()
	c.lastAttempt = c.now()
	if err == nil {
		c.keys, c.fetchedAt, c.lastErr = keys, c.lastAttempt, nil
	} else {
		c.lastErr = err
	}
	c.inflight = nil
	call.err = err
	c.mu.Unlock()
	close(call.done)
}

func (c *keyCache) download(ctx context.Context) (map[string]jwk, error) {
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

// jwkJSON is the wire form of a JSON Web Key (RFC 7517, RFC 7518 §6).
type jwkJSON struct {
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// parseJWKS keeps the usable signing keys and skips the rest, so one
// unfamiliar key (say an encryption key) does not take down verification.
// A document with no usable keys is an error rather than an empty set:
// that is almost certainly a misconfiguration, and 503 beats rejecting
// every token.
func parseJWKS(body []byte) (map[string]jwk, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	keys := make(map[string]jwk, len(doc.Keys))
	for _, raw := range doc.Keys {
		var j jwkJSON
		if json.Unmarshal(raw, &j) != nil {
			continue
		}
		k, err := parseKey(j)
		if err != nil {
			continue
		}
		if _, dup := keys[j.Kid]; dup {
			continue // first wins; a kid must identify one key
		}
		keys[j.Kid] = k
	}
	if len(keys) == 0 {
		return nil, errors.New("no usable signing keys")
	}
	return keys, nil
}

func parseKey(j jwkJSON) (jwk, error) {
	if j.Kid == "" {
		return jwk{}, errors.New("missing kid")
	}
	if j.Use != "" && j.Use != "sig" {
		return jwk{}, errors.New("not a signing key")
	}
	if j.Alg != "" {
		if _, ok := algorithms[j.Alg]; !ok {
			return jwk{}, errors.New("unsupported alg")
		}
	}
	switch j.Kty {
	case "RSA":
		if j.Alg != "" && algorithms[j.Alg].ec {
			return jwk{}, errors.New("alg does not match kty")
		}
		n, err1 := decodeSegment(j.N)
		e, err2 := decodeSegment(j.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return jwk{}, errors.New("malformed RSA key")
		}
		var eInt int64
		for _, b := range e {
			eInt = eInt<<8 | int64(b)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(eInt)}
		if bits := pub.N.BitLen(); bits < minRSABits || bits > maxRSABits || eInt < 3 || eInt > 1<<31-1 || eInt%2 == 0 {
			return jwk{}, errors.New("unacceptable RSA key")
		}
		return jwk{pub: pub, alg: j.Alg}, nil
	case "EC":
		if j.Crv != "P-256" || (j.Alg != "" && j.Alg != "ES256") {
			return jwk{}, errors.New("unsupported EC key")
		}
		x, err1 := decodeSegment(j.X)
		y, err2 := decodeSegment(j.Y)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return jwk{}, errors.New("malformed EC key")
		}
		// ParseUncompressedPublicKey rejects points not on the curve.
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return jwk{}, err
		}
		return jwk{pub: pub, alg: j.Alg}, nil
	}
	return jwk{}, errors.New("unsupported kty")
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
	out := make([]jwkJSON, 0, len(keys))
	b64 := base64.RawURLEncoding.EncodeToString
	for i, k := range keys {
		if k.KID == "" {
			return nil, fmt.Errorf("oauth: JWKS key %d: KID is required", i)
		}
		j := jwkJSON{Kid: k.KID, Use: "sig", Alg: k.Alg}
		switch pub := k.Key.(type) {
		case *rsa.PublicKey:
			if j.Alg == "" {
				j.Alg = "RS256"
			}
			if a, ok := algorithms[j.Alg]; !ok || a.ec {
				return nil, fmt.Errorf("oauth: JWKS key %d: alg %q is not usable with an RSA key", i, j.Alg)
			}
			if pub.N == nil || pub.E <= 0 {
				return nil, fmt.Errorf("oauth: JWKS key %d: invalid RSA key", i)
			}
			j.Kty, j.N, j.E = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
		case *ecdsa.PublicKey:
			if j.Alg == "" {
				j.Alg = "ES256"
			}
			if j.Alg != "ES256" || pub.Curve != elliptic.P256() {
				return nil, fmt.Errorf("oauth: JWKS key %d: only ES256 on P-256 is supported for EC keys", i)
			}
			raw, err := pub.Bytes() // 0x04 || X || Y, fixed width
			if err != nil {
				return nil, fmt.Errorf("oauth: JWKS key %d: %w", i, err)
			}
			j.Kty, j.Crv, j.X, j.Y = "EC", "P-256", b64(raw[1:33]), b64(raw[33:65])
		default:
			return nil, fmt.Errorf("oauth: JWKS key %d: unsupported key type %T", i, k.Key)
		}
		out = append(out, j)
	}
	return json.Marshal(struct {
		Keys []jwkJSON `json:"keys"`
	}{out})
}
