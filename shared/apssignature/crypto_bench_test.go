package apssignature

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tests/benchpair"
)

// BenchmarkVerifyAgainstGoCrypto: Verify against Go's own SHA-256 of the same phrase-wrapped text
// and a constant-time compare of the hex digest, so that verification is measured apart from the
// rest of the delivery.
func BenchmarkVerifyAgainstGoCrypto(b *testing.B) {
	ver, _ := NewVerifier(SHA256, "PASS")
	p := with(purchase, "signature", vectors[0].want)
	want := []byte(p[SignatureParam])
	benchpair.Run(b, "crypto", func() {
		if err := ver.Verify(p); err != nil {
			b.Fatal(err)
		}
	}, func() {
		sum := sha256.Sum256([]byte("PASS" + Canonical(p) + "PASS"))
		if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), want) != 1 {
			b.Fatal("digest differs")
		}
	})
}
