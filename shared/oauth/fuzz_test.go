package oauth

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fuzz target uses keys derived from fixed seeds (not stored as PEM) so
// that the committed seed corpus can contain tokens that really verify.
var fuzzNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var fuzzKeys = sync.OnceValues(func() (*rsa.PrivateKey, *ecdsa.PrivateKey) {
	rng := rand.New(rand.NewChaCha8([32]byte([]byte("oauth-fuzz-rsa-key-seed-01234567"))))
	e := big.NewInt(65537)
	prime := func() *big.Int {
		buf := make([]byte, 128)
		for i := range buf {
			buf[i] = byte(rng.Uint32())
		}
		buf[0] |= 0xc0 // two top bits: the product is exactly 2048 bits
		buf[127] |= 1
		p := new(big.Int).SetBytes(buf)
		one := big.NewInt(1)
		for !p.ProbablyPrime(20) || new(big.Int).GCD(nil, nil, e, new(big.Int).Sub(p, one)).Cmp(one) != 0 {
			p.Add(p, big.NewInt(2))
		}
		return p
	}
	p, q := prime(), prime()
	one := big.NewInt(1)
	phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
	rk := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: 65537},
		D:         new(big.Int).ModInverse(e, phi),
		Primes:    []*big.Int{p, q},
	}
	rk.Precompute()
	if err := rk.Validate(); err != nil {
		panic(err)
	}
	scalar := make([]byte, 32)
	copy(scalar, "oauth-fuzz-ec-key-seed")
	ek, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar)
	if err != nil {
		panic(err)
	}
	return rk, ek
})

// fuzzLegitTokens are the only tokens the fuzz verifier may accept.
func fuzzLegitTokens(t testing.TB) []string {
	rk, ek := fuzzKeys()
	withAud := claimsAt(fuzzNow)
	withAud["aud"] = []string{"x", testClientID}
	return []string{
		mustSign(t, rk, "RS256", "rsa", claimsAt(fuzzNow)),
		mustSign(t, rk, "RS384", "rsa", claimsAt(fuzzNow)),
		mustSign(t, rk, "RS512", "rsa", withAud),
		mustSign(t, ek, "ES256", "ec", claimsAt(fuzzNow)),
	}
}

func newFuzzVerifier(t testing.TB) *Verifier {
	rk, ek := fuzzKeys()
	// Hand-built so the RSA key has no "alg" (any RS* may use it), the
	// most permissive shape the verifier accepts.
	ecPub, err := ek.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	doc := fmt.Sprintf(`{"keys":[{"kty":"RSA","kid":"rsa","use":"sig","n":%q,"e":"AQAB"},
		{"kty":"EC","kid":"ec","crv":"P-256","x":%q,"y":%q}]}`,
		b64.EncodeToString(rk.N.Bytes()), b64.EncodeToString(ecPub[1:33]), b64.EncodeToString(ecPub[33:]))
	srv := newJWKSServer(t, []byte(doc))
	v, err := NewVerifier(Config{
		Issuer:        testIssuer,
		JWKSURL:       srv.URL + "/.well-known/jwks.json",
		Audiences:     []string{testClientID},
		RequiredScope: testScope,
		HTTPClient:    srv.Client(),
		Now:           func() time.Time { return fuzzNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func FuzzVerify(f *testing.F) {
	v := newFuzzVerifier(f)
	legit := map[string]bool{}
	for _, tok := range fuzzLegitTokens(f) {
		f.Add(tok)
		legit[tok[:strings.LastIndexByte(tok, '.')]] = true
	}
	// Warm the cache; with the clock frozen no later input can trigger a
	// fetch, so ErrKeysUnavailable is impossible below.
	if _, err := v.Verify(context.Background(), fuzzLegitTokens(f)[0]); err != nil {
		f.Fatal(err)
	}
	f.Add("")
	f.Add("..")
	f.Add("eyJhbGciOiJub25lIn0.e30.")

	f.Fuzz(func(t *testing.T, tok string) {
		c, err := v.Verify(context.Background(), tok)
		if err == nil {
			// Signing input must be byte-identical to something we signed
			// (ECDSA signatures vary, so the signature part may differ).
			if !legit[tok[:strings.LastIndexByte(tok, '.')]] {
				t.Fatalf("accepted a token that was never signed: %q", tok)
			}
			if c == nil || c.Issuer != testIssuer || c.ClientID != testClientID {
				t.Fatalf("bad claims: %+v", c)
			}
			return
		}
		if c != nil {
			t.Fatal("claims returned with an error")
		}
		if !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("err = %v, want ErrInvalidToken", err)
		}
		// No rejection message is over 64 bytes, so only a longer token
		// appearing in one would be a real leak rather than a coincidence.
		if msg := err.Error(); len(msg) > 64 || (len(tok) > 64 && strings.Contains(msg, tok)) {
			t.Fatalf("unexpected error text: %q", msg)
		}
	})
}

// TestFuzzSeedCorpus keeps the committed seeds meaningful: the "valid_*"
// files must still verify under the derived fuzz keys, the rest must not.
func TestFuzzSeedCorpus(t *testing.T) {
	v := newFuzzVerifier(t)
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzVerify", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed corpus: %v", err)
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		var lines []string
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		f.Close()
		if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "string(") {
			t.Fatalf("%s: not a go test fuzz v1 string file", name)
		}
		tok, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, err = v.Verify(context.Background(), tok)
		if valid := strings.HasPrefix(filepath.Base(name), "valid_"); valid != (err == nil) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
