package oauth

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tests/benchpair"
)

// BenchmarkRS256AgainstGoCrypto: a token verified by Verify (keys cached) against Go's own RS256
// check of the same token's signature, so that verification is measured apart from the rest of
// the delivery.
func BenchmarkRS256AgainstGoCrypto(b *testing.B) {
	e := newEnv(b)
	tok := mustSign(b, rsaKey1, "RS256", "rsa1", claimsAt(e.clock.Now()))
	ctx := context.Background()
	if _, err := e.v.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	i := strings.LastIndexByte(tok, '.')
	benchpair.Run(b, "crypto", func() {
		if _, err := e.v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}, func() {
		sig, err := b64.DecodeString(tok[i+1:])
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.Sum256([]byte(tok[:i]))
		if err := rsa.VerifyPKCS1v15(&rsaKey1.PublicKey, crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
	})
}
