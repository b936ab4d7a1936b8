// Package amazonpayapi calls the Amazon Pay API v2 ("CV2"): requests signed
// AMZN-PAY-RSASSA-PSS-V2 with the merchant's private key, and the GETs of a Charge, a Refund and a
// Charge Permission that an IPN names.
package amazonpayapi

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Algorithm is the signing scheme's name, the first line of the string to sign. (The older
// AMZN-PAY-RSASSA-PSS differs only by a 20-byte salt.)
const Algorithm = "AMZN-PAY-RSASSA-PSS-V2"

// saltLength is V2's PSS salt length.
const saltLength = 32

// Signed header names. accept and content-type are signed on every request, GET included, as the
// SDKs do.
const (
	headerAccept      = "accept"
	headerContentType = "content-type"
	HeaderDate        = "x-amz-pay-date"
	HeaderHost        = "x-amz-pay-host"
	HeaderRegion      = "x-amz-pay-region"
)

// DateFormat is x-amz-pay-date's layout (UTC).
const DateFormat = "20060102T150405Z"

// CanonicalURI is path percent-encoded per segment (RFC 3986 unreserved characters and "/" kept,
// UTF-8 bytes as upper-case %XX) with repeated slashes collapsed, "/" when empty — as the Java and
// .NET SDKs build it.
func CanonicalURI(path string) string {
	enc := encode(path, true)
	var b strings.Builder
	for i := 0; i < len(enc); i++ {
		if enc[i] == '/' && b.Len() > 0 && b.String()[b.Len()-1] == '/' {
			continue
		}
		b.WriteByte(enc[i])
	}
	if b.Len() == 0 || b.String()[0] != '/' {
		return "/" + b.String()
	}
	return b.String()
}

// CanonicalQuery is query as key=value pairs, both RFC 3986-encoded, sorted by encoded key and
// then by encoded value, joined by "&"; "" without a query.
func CanonicalQuery(query url.Values) string {
	var pairs [][2]string
	for k, vs := range query {
		for _, v := range vs {
			pairs = append(pairs, [2]string{encode(k, false), encode(v, false)})
		}
	}
	slices.SortFunc(pairs, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p[0] + "=" + p[1]
	}
	return strings.Join(parts, "&")
}

// encode percent-encodes every byte but RFC 3986's unreserved characters (and "/" when keepSlash).
func encode(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' || keepSlash && c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// CanonicalRequest is the text whose hash is signed, and the signed headers' list: method, URI,
// query, each header of headers (lower-cased names, sorted; values trimmed, whitespace made
// spaces) on its own line, an empty line, the signed header names joined by ";", and the hex
// SHA-256 of payload.
func CanonicalRequest(method, path string, query url.Values, headers map[string]string, payload []byte) (canonical, signedHeaders string) {
	lower := make(map[string]string, len(headers))
	for k, v := range headers {
		lower[strings.ToLower(k)] = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v' {
				return ' '
			}
			return r
		}, strings.TrimSpace(v))
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range lower {
			if !yield(k) {
				return
			}
		}
	})
	var b strings.Builder
	b.WriteString(strings.ToUpper(method) + "\n" + CanonicalURI(path) + "\n" + CanonicalQuery(query) + "\n")
	for _, n := range names {
		b.WriteString(n + ":" + lower[n] + "\n")
	}
	signedHeaders = strings.Join(names, ";")
	sum := sha256.Sum256(payload)
	b.WriteString("\n" + signedHeaders + "\n" + hex.EncodeToString(sum[:]))
	return b.String(), signedHeaders
}

// StringToSign is the algorithm's name and the hex SHA-256 of the canonical request, on two lines.
func StringToSign(canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return Algorithm + "\n" + hex.EncodeToString(sum[:])
}

// Sign is the standard Base64 of the RSASSA-PSS signature (SHA-256, MGF1 with SHA-256, 32-byte
// salt) of stringToSign. PSS is randomised: two signatures of one text differ.
func Sign(key *rsa.PrivateKey, stringToSign string) (string, error) {
	sum := sha256.Sum256([]byte(stringToSign))
	sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: saltLength, Hash: crypto.SHA256})
	if err != nil {
		return "", fmt.Errorf("amazonpayapi: signing: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// Authorization is the authorization header's value.
func Authorization(publicKeyID, signedHeaders, signature string) string {
	return Algorithm + " PublicKeyId=" + publicKeyID + ", SignedHeaders=" + signedHeaders + ", Signature=" + signature
}
