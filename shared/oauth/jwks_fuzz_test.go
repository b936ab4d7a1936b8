package oauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"testing"
)

// FuzzParseJWKS feeds arbitrary documents through jwkset's parsing and our
// key policy: nothing may panic, and every key kept must be one Verify is
// allowed to use.
func FuzzParseJWKS(f *testing.F) {
	rk, ek := fuzzKeys()
	doc, err := JWKS(PublicKey{KID: "rsa", Key: &rk.PublicKey}, PublicKey{KID: "ec", Key: &ek.PublicKey})
	if err != nil {
		f.Fatal(err)
	}
	n := b64.EncodeToString(rk.N.Bytes())
	f.Add(doc)
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":["x",1,null,{}]}`))
	f.Add([]byte(fmt.Sprintf(`{"keys":[{"kty":"RSA","kid":"p","n":%q,"e":"AQAB=="}]}`, n)))
	f.Add([]byte(fmt.Sprintf(`{"keys":[{"kty":"RSA","kid":"d","n":%q,"e":"AQAB","d":"AQAB"}]}`, n)))
	f.Add([]byte(fmt.Sprintf(`{"keys":[{"kty":"RSA","kid":"x","n":%q,"e":"AQAB","x5c":["AAAA"]}]}`, n)))
	f.Add([]byte(`{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"},{"kty":"OKP","kid":"o","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		keys, err := parseJWKS(body)
		if err != nil {
			if keys != nil {
				t.Fatal("keys returned with an error")
			}
			return
		}
		if len(keys) == 0 {
			t.Fatal("no keys and no error")
		}
		for kid, k := range keys {
			if kid == "" || kid != k.Marshal().KID {
				t.Fatalf("kid %q filed under %q", k.Marshal().KID, kid)
			}
			if err := usableKey(k); err != nil {
				t.Fatalf("kept an unusable key: %v", err)
			}
			switch pub := k.Key().(type) {
			case *rsa.PublicKey:
				if bits := pub.N.BitLen(); bits < minRSABits || bits > maxRSABits || pub.E < 3 || pub.E%2 == 0 {
					t.Fatalf("kept RSA key of %d bits, e=%d", bits, pub.E)
				}
			case *ecdsa.PublicKey:
				if _, err := pub.ECDH(); pub.Curve != elliptic.P256() || err != nil {
					t.Fatal("kept an EC key off P-256")
				}
			default:
				t.Fatalf("kept a %T", pub)
			}
		}
	})
}
