// Package apssignature signs and verifies Amazon Payment Services (APS, formerly PayFort) messages
// with the merchant's SHA phrase: every parameter but `signature`, sorted by name, concatenated as
// name=value, wrapped in the phrase on both sides, hashed (SHA-256/512) or HMAC-keyed with the phrase.
package apssignature

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// Algorithm is the hash the merchant account is set to.
type Algorithm string

const (
	SHA256     Algorithm = "SHA-256"
	SHA512     Algorithm = "SHA-512"
	HMACSHA256 Algorithm = "HMAC-SHA256"
	HMACSHA512 Algorithm = "HMAC-SHA512"
)

// SignatureParam is the parameter that carries the signature and is left out of the signed string.
const SignatureParam = "signature"

var (
	// ErrMissing: the message has no signature.
	ErrMissing = errors.New("apssignature: no signature")
	// ErrMismatch: the signature matches no configured phrase.
	ErrMismatch = errors.New("apssignature: signature mismatch")
)

// ParseAlgorithm reads an algorithm name as APS's portal writes it, or a close spelling
// ("sha256", "HMAC_SHA512").
func ParseAlgorithm(s string) (Algorithm, error) {
	n := strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToUpper(s))
	switch n {
	case "SHA256":
		return SHA256, nil
	case "SHA512":
		return SHA512, nil
	case "HMACSHA256":
		return HMACSHA256, nil
	case "HMACSHA512":
		return HMACSHA512, nil
	}
	return "", fmt.Errorf("apssignature: unknown algorithm %q (want SHA-256, SHA-512, HMAC-SHA256 or HMAC-SHA512)", s)
}

func (a Algorithm) hasher(phrase string) (hash.Hash, error) {
	switch a {
	case SHA256:
		return sha256.New(), nil
	case SHA512:
		return sha512.New(), nil
	case HMACSHA256:
		return hmac.New(sha256.New, []byte(phrase)), nil
	case HMACSHA512:
		return hmac.New(sha512.New, []byte(phrase)), nil
	}
	return nil, fmt.Errorf("apssignature: unknown algorithm %q", string(a))
}

// Canonical is the parameters as signed, without the phrase: sorted by name in byte order,
// name=value with no separator, `signature` left out.
func Canonical(params map[string]string) string {
	names, size := signedNames(params)
	var b strings.Builder
	b.Grow(size)
	for _, k := range names {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
	}
	return b.String()
}

// Signer makes signatures with one phrase, as APS does; tests and sample events use it.
type Signer struct {
	alg    Algorithm
	phrase string
}

// NewSigner returns a signer; the phrase must not be empty.
func NewSigner(alg Algorithm, phrase string) (*Signer, error) {
	if _, err := alg.hasher(phrase); err != nil {
		return nil, err
	}
	if phrase == "" {
		return nil, errors.New("apssignature: empty phrase")
	}
	return &Signer{alg: alg, phrase: phrase}, nil
}

// Sign returns the lowercase hex signature of params.
func (s *Signer) Sign(params map[string]string) string {
	return hex.EncodeToString(s.sum(Canonical(params)))
}

func (s *Signer) sum(canonical string) []byte {
	h, _ := s.alg.hasher(s.phrase)
	h.Write([]byte(s.phrase))
	h.Write([]byte(canonical))
	h.Write([]byte(s.phrase))
	return h.Sum(nil)
}

// Verifier checks signatures against one or more phrases: during a rotation the previous phrase
// stays valid until APS signs with the new one.
type Verifier struct {
	signers []*Signer
}

// NewVerifier returns a verifier; empty phrases are ignored, and at least one is needed.
func NewVerifier(alg Algorithm, phrases ...string) (*Verifier, error) {
	v := &Verifier{}
	for _, p := range phrases {
		if p == "" {
			continue
		}
		s, err := NewSigner(alg, p)
		if err != nil {
			return nil, err
		}
		v.signers = append(v.signers, s)
	}
	if len(v.signers) == 0 {
		return nil, errors.New("apssignature: no phrase configured")
	}
	return v, nil
}

// Verify checks params["signature"]. Hex case is ignored; the comparison is constant-time and
// tries every phrase, so timing says nothing about which one, if any, matched.
func (v *Verifier) Verify(params map[string]string) error {
	return v.VerifyText(params, Canonical(params))
}

// VerifyText is Verify for a caller that has laid out params' signed text already
// (TextOf(params).Canonical), so that one delivery sorts and joins its parameters once.
func (v *Verifier) VerifyText(params map[string]string, canonical string) error {
	sig, ok := params[SignatureParam]
	if !ok || sig == "" {
		return ErrMissing
	}
	got, err := hex.DecodeString(strings.ToLower(strings.TrimSpace(sig)))
	if err != nil {
		return ErrMismatch
	}
	match := 0
	for _, s := range v.signers {
		match |= subtle.ConstantTimeCompare(got, s.sum(canonical))
	}
	if match != 1 {
		return ErrMismatch
	}
	return nil
}
