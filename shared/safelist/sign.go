package safelist

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
)

// Algorithm is the x-amz-algorithm value and the first line of the string to sign.
const Algorithm = "AWS4-HMAC-SHA384"

// AmzDateLayout is the x-amz-date format (always UTC).
const AmzDateLayout = "20060102T150405Z"

// The credential scope. Amazon Pay India signs with eu-west-1 although it serves India: the scope
// is fixed by Amazon's signer, not by where the merchant is, so it is not configurable.
const (
	scopeRegion  = "eu-west-1"
	scopeService = "AmazonPay"
	scopeTerm    = "aws4_request"
)

// amzPrefix marks the headers that take part in the canonical request.
const amzPrefix = "x-amz-"

// CanonicalRequest is the text that is hashed and signed:
//
//	method \n host+path \n query \n x-amz-* headers \n body parameters
//
// where the last three are k=v pairs joined by "&", keys and values RFC 3986 encoded, sorted by
// encoded key then encoded value (byte order, as SigV4 does). Header names are lowercased first;
// entries of amzHeaders without the x-amz- prefix are ignored, so a caller may pass every header.
// There is no trailing newline; an empty section leaves an empty line.
func CanonicalRequest(method, host, path string, query url.Values, amzHeaders map[string]string, bodyParams map[string]string) string {
	var q []pair
	for k, vs := range query {
		for _, v := range vs {
			q = append(q, pair{encode(k), encode(v)})
		}
	}
	var h []pair
	for k, v := range amzHeaders {
		k = strings.ToLower(k)
		if strings.HasPrefix(k, amzPrefix) {
			h = append(h, pair{encode(k), encode(v)})
		}
	}
	var b []pair
	for k, v := range bodyParams {
		b = append(b, pair{encode(k), encode(v)})
	}

	var sb strings.Builder
	sb.WriteString(method)
	sb.WriteByte('\n')
	sb.WriteString(host)
	sb.WriteString(path)
	sb.WriteByte('\n')
	writePairs(&sb, q)
	sb.WriteByte('\n')
	writePairs(&sb, h)
	sb.WriteByte('\n')
	writePairs(&sb, b)
	return sb.String()
}

// StringToSign is "AWS4-HMAC-SHA384\n<x-amz-date>\n<YYYYMMDD>/eu-west-1/AmazonPay/aws4_request\n"
// followed by the lowercase hex SHA-384 of the canonical request, with no trailing newline.
// The date of the scope is the first eight characters of amzDate.
func StringToSign(amzDate string, canonicalRequest string) string {
	sum := sha512.Sum384([]byte(canonicalRequest))
	return Algorithm + "\n" + amzDate + "\n" + scope(amzDate) + "\n" + hex.EncodeToString(sum[:])
}

// SigningKey derives the day's key: HMAC-SHA384 keyed with "AWS4"+secretKey over the date, then
// each result keys the next step over "eu-west-1", "AmazonPay" and "aws4_request".
func SigningKey(secretKey, yyyymmdd string) []byte {
	k := mac([]byte("AWS4"+secretKey), yyyymmdd)
	k = mac(k, scopeRegion)
	k = mac(k, scopeService)
	return mac(k, scopeTerm)
}

// Signature is the unpadded base64url HMAC-SHA384 of the string to sign: URL-safe so that it can
// sit in a header unescaped.
func Signature(signingKey []byte, stringToSign string) string {
	return base64.RawURLEncoding.EncodeToString(mac(signingKey, stringToSign))
}

func scope(amzDate string) string {
	day := amzDate
	if len(day) > 8 {
		day = day[:8]
	}
	return day + "/" + scopeRegion + "/" + scopeService + "/" + scopeTerm
}

func mac(key []byte, msg string) []byte {
	m := hmac.New(sha512.New384, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

type pair struct{ k, v string }

func writePairs(sb *strings.Builder, ps []pair) {
	slices.SortFunc(ps, func(a, b pair) int {
		return cmp.Or(strings.Compare(a.k, b.k), strings.Compare(a.v, b.v))
	})
	for i, p := range ps {
		if i > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(p.k)
		sb.WriteByte('=')
		sb.WriteString(p.v)
	}
}

// encode is RFC 3986 percent-encoding: the unreserved A-Z a-z 0-9 - _ . ~ stay, every other byte
// (including each byte of a multi-byte UTF-8 character) becomes %XX in upper case. Not
// url.QueryEscape, which writes a space as "+", nor url.PathEscape, which keeps "/" and others.
func encode(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const upperHex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', upperHex[c>>4], upperHex[c&0x0f])
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}
