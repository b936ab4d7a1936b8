package oauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/golang-jwt/jwt/v5"
)

// Sign returns a compact JWS over claims with header {"alg","typ":"JWT","kid"}.
// alg is RS256, RS384 or RS512 with an *rsa.PrivateKey, or ES256 with an
// *ecdsa.PrivateKey on P-256 (any crypto.Signer with such a public key works,
// e.g. a KMS-backed signer).
func Sign(key crypto.Signer, alg, kid string, claims map[string]any) (string, error) {
	// golang-jwt's methods sign only *rsa.PrivateKey and *ecdsa.PrivateKey;
	// a crypto.Signer is signed here with their hash.
	var hash crypto.Hash
	var ec bool
	switch m := algorithms[alg].(type) {
	case *jwt.SigningMethodRSA:
		hash = m.Hash
	case *jwt.SigningMethodECDSA:
		hash, ec = m.Hash, true
	}
	if hash == 0 {
		return "", fmt.Errorf("oauth: unsupported alg %q", alg)
	}
	if key == nil {
		return "", errors.New("oauth: nil signing key")
	}
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		if ec {
			return "", fmt.Errorf("oauth: alg %s needs an ECDSA key", alg)
		}
	case *ecdsa.PublicKey:
		if !ec || pub.Curve != elliptic.P256() {
			return "", fmt.Errorf("oauth: alg %s cannot be used with an ECDSA %s key", alg, pub.Curve.Params().Name)
		}
	default:
		return "", fmt.Errorf("oauth: unsupported key type %T", pub)
	}
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid,omitempty"`
	}{alg, "JWT", kid})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("oauth: encoding claims: %w", err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	signingInput := b64(header) + "." + b64(payload)
	h := hash.New()
	h.Write([]byte(signingInput))
	// For RSA keys, crypto.Signer with a crypto.Hash opts means PKCS #1 v1.5.
	sig, err := key.Sign(rand.Reader, h.Sum(nil), hash)
	if err != nil {
		return "", fmt.Errorf("oauth: signing: %w", err)
	}
	if ec {
		if sig, err = asn1ToRaw(sig); err != nil {
			return "", err
		}
	}
	return signingInput + "." + b64(sig), nil
}

// asn1ToRaw converts an ASN.1 ECDSA signature (what crypto.Signer returns)
// to the fixed-width r||s form JWS requires (RFC 7518 §3.4).
func asn1ToRaw(der []byte) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	if err != nil || len(rest) != 0 || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.BitLen() > 256 || rs.S.BitLen() > 256 {
		return nil, errors.New("oauth: signer returned a malformed ECDSA signature")
	}
	out := make([]byte, 64)
	rs.R.FillBytes(out[:32])
	rs.S.FillBytes(out[32:])
	return out, nil
}
