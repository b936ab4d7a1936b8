package snsverify

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tests/benchpair"
)

// BenchmarkVerifyAgainstGoCrypto: a message verified by Verify (certificate cached) against Go's
// own RSA check of the same string to sign (SHA1 for version 1, SHA256 for 2), so that the cost
// of verification is measured apart from the rest of the delivery.
func BenchmarkVerifyAgainstGoCrypto(b *testing.B) {
	s := newSNSServer(b)
	v := newVerifier(b, s, nil)
	for _, version := range []string{"1", "2"} {
		b.Run("SignatureVersion"+version, func(b *testing.B) {
			m := notification("ChargeNotification")
			m.SignatureVersion = version
			signed(b, m)
			ctx := context.Background()
			if err := v.Verify(ctx, m); err != nil {
				b.Fatal(err)
			}
			text, err := StringToSign(m)
			if err != nil {
				b.Fatal(err)
			}
			pub := &testKey().PublicKey
			benchpair.Run(b, "crypto", func() {
				if err := v.Verify(ctx, m); err != nil {
					b.Fatal(err)
				}
			}, func() {
				sig, err := base64.StdEncoding.DecodeString(m.Signature)
				if err != nil {
					b.Fatal(err)
				}
				var h crypto.Hash
				var sum []byte
				if version == "1" {
					d := sha1.Sum([]byte(text))
					h, sum = crypto.SHA1, d[:]
				} else {
					d := sha256.Sum256([]byte(text))
					h, sum = crypto.SHA256, d[:]
				}
				if err := rsa.VerifyPKCS1v15(pub, h, sum, sig); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
