package badinput

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/snstest"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// The functions, as Case.Fn names them (the quarantine's webhook names).
const (
	fnShipping  = "shipping"
	fnAPS       = "aps"
	fnAmazonPay = "amazon-pay"
)

// The routes.
const (
	shippingPath     = "/shipping/notifications"
	apsTransaction   = "/aps/transaction-feedback"
	apsNotification  = "/aps/notification-feedback"
	amazonPayIPNPath = "/amazon-pay/ipn"
)

// Per-route body caps (shipping.DefaultMaxBodyBytes, aps.DefaultMaxBodyBytes,
// amazonpay.DefaultMaxBodyBytes), written out: the corpus pins the contract, not the constants.
const (
	shippingCap  = 256 << 10
	apsCap       = 64 << 10
	amazonPayCap = 320 << 10
)

// Case is one bad (or borderline) delivery and the one answer the contract gives it.
type Case struct {
	Name string
	Fn   string // fnShipping, fnAPS or fnAmazonPay
	Req  events.APIGatewayV2HTTPRequest
	// Status is the expected HTTP status.
	Status int
	// Code is the expected "error" of the body (every status but 200; for 202 the quarantine
	// reason), or its "status" for 200 ("accepted", "duplicate").
	Code string
	// Field, when set, is the expected "field" of the body.
	Field string
	// Before are deliveries made first, in order, each answered 200 (the original of a replay).
	Before []events.APIGatewayV2HTTPRequest
	// Deviation, when set, records that the code answers otherwise than the contract (Status,
	// Code, Field). The case is skipped while the code answers exactly the deviation, and fails
	// once it answers the contract: then delete the Deviation.
	Deviation *Deviation
}

// Deviation is what the code answers instead of the contract, and why that is wrong.
type Deviation struct {
	Status int
	Code   string
	Why    string
}

// env is what building the corpus needs: the key the Shipping function's OAuth verifier trusts,
// and the SNS look-alike whose certificate the Amazon Pay function fetches.
type env struct {
	oauthKey *rsa.PrivateKey
	sns      *snstest.Server
}

// gatewayEnv is the env of a started gateway.
func gatewayEnv(g *harness.Gateway) env { return env{oauthKey: g.OAuthKey, sns: g.SNS} }

// offlineEnv builds the corpus without a gateway (to count and check it): the dev OAuth key and
// an SNS look-alike of its own.
func offlineEnv(t testing.TB) env {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(localaws.RepoRoot(), "events", "dev", "oauth-private-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("oauth-private-key.pem: no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return env{oauthKey: k.(*rsa.PrivateKey), sns: snstest.NewServer(t)}
}

// otherKey is an RSA key nobody trusts: tokens and SNS messages re-signed with it must fail.
var otherKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// corpus collects the cases as they are built, with the credentials and OTP codes they carry
// (none may reach the logs).
type corpus struct {
	t      testing.TB
	env    env
	n      int
	cases  []Case
	names  map[string]bool
	otps   []string
	tokens []string
}

// build makes the whole corpus. Adding a case: append it in the function's builder
// (shippingCases, apsCases, amazonPayCases) with c.add.
func build(t testing.TB, e env) *corpus {
	t.Helper()
	c := &corpus{t: t, env: e, names: map[string]bool{}}
	shippingCases(c)
	trackingCases(c)
	lookupCases(c)
	apsCases(c)
	amazonPayCases(c)
	return c
}

// add appends a case; a repeated name is a corpus bug.
func (c *corpus) add(k Case) {
	c.t.Helper()
	key := k.Fn + "/" + k.Name
	if c.names[key] {
		c.t.Fatalf("corpus: case %q is defined twice", key)
	}
	c.names[key] = true
	// A Lambda event is JSON, so a string body cannot carry bytes that are not UTF-8 (encoding
	// the event would turn them into U+FFFD): API Gateway base64-encodes such a body, and so
	// does the corpus.
	if !k.Req.IsBase64Encoded && !utf8.ValidString(k.Req.Body) {
		k.Req = withBody(k.Req, b64(k.Req.Body), true)
	}
	c.cases = append(c.cases, k)
}

// seq returns a number unique in the corpus, for ids that must not collide (envelope ids,
// merchant references, SNS MessageIds: a collision would answer "duplicate").
func (c *corpus) seq() int {
	c.n++
	return c.n
}

// q is s as a JSON string, without HTML escaping (invalid UTF-8 becomes U+FFFD: build raw
// strings by hand to send invalid bytes).
func q(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// unq reads a JSON string; ok is false when raw is not one.
func unq(raw string) (string, bool) {
	var s string
	if !strings.HasPrefix(raw, `"`) || json.Unmarshal([]byte(raw), &s) != nil {
		return "", false
	}
	return s, true
}

// member is one member of a JSON object: the key and the value as raw JSON text (which may be
// anything, valid or not).
type member struct{ key, raw string }

// object is a JSON object kept in order, so a body can be built byte by byte.
type object []member

func (o object) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(q(m.key))
		b.WriteByte(':')
		b.WriteString(m.raw)
	}
	b.WriteByte('}')
	return b.String()
}

func (o object) get(key string) (string, bool) {
	for _, m := range o {
		if m.key == key {
			return m.raw, true
		}
	}
	return "", false
}

// set replaces key's value, or appends the member.
func (o object) set(key, raw string) object {
	out := append(object(nil), o...)
	for i := range out {
		if out[i].key == key {
			out[i].raw = raw
			return out
		}
	}
	return append(out, member{key, raw})
}

func (o object) del(key string) object {
	var out object
	for _, m := range o {
		if m.key != key {
			out = append(out, m)
		}
	}
	return out
}

func (o object) rename(key, to string) object {
	out := append(object(nil), o...)
	for i := range out {
		if out[i].key == key {
			out[i].key = to
		}
	}
	return out
}

// homoglyphs are Cyrillic letters that render like Latin ones.
var homoglyphs = map[rune]rune{
	'a': 'а', 'c': 'с', 'e': 'е', 'i': 'і', 'o': 'о', 'p': 'р', 'x': 'х', 'y': 'у',
	'A': 'А', 'B': 'В', 'C': 'С', 'E': 'Е', 'H': 'Н', 'K': 'К', 'M': 'М', 'O': 'О', 'P': 'Р', 'T': 'Т', 'X': 'Х',
}

// homoglyph replaces the first letter of s that has a Cyrillic look-alike; ok is false when
// none has.
func homoglyph(s string) (string, bool) {
	for i, r := range s {
		if h, ok := homoglyphs[r]; ok {
			return s[:i] + string(h) + s[i+len(string(r)):], true
		}
	}
	return s, false
}

// b64 is s in standard base64, as API Gateway encodes binary bodies.
func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// clone copies r with its own header and query maps, so a variant never changes another case.
func clone(r events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
	h := make(map[string]string, len(r.Headers))
	for k, v := range r.Headers {
		h[k] = v
	}
	r.Headers = h
	if r.QueryStringParameters != nil {
		qs := make(map[string]string, len(r.QueryStringParameters))
		for k, v := range r.QueryStringParameters {
			qs[k] = v
		}
		r.QueryStringParameters = qs
	}
	return r
}

func withMethod(r events.APIGatewayV2HTTPRequest, method string) events.APIGatewayV2HTTPRequest {
	r = clone(r)
	r.RequestContext.HTTP.Method = method
	r.RouteKey = method + " " + r.RawPath
	return r
}

func withHeader(r events.APIGatewayV2HTTPRequest, name, value string) events.APIGatewayV2HTTPRequest {
	r = clone(r)
	r.Headers[name] = value
	return r
}

func withoutHeader(r events.APIGatewayV2HTTPRequest, name string) events.APIGatewayV2HTTPRequest {
	r = clone(r)
	delete(r.Headers, name)
	return r
}

func withQuery(r events.APIGatewayV2HTTPRequest, name, value string) events.APIGatewayV2HTTPRequest {
	r = clone(r)
	if r.QueryStringParameters == nil {
		r.QueryStringParameters = map[string]string{}
	}
	r.QueryStringParameters[name] = value
	if r.RawQueryString != "" {
		r.RawQueryString += "&"
	}
	r.RawQueryString += name + "=" + value
	return r
}

// withBody replaces the body (and its base64 flag) and nothing else.
func withBody(r events.APIGatewayV2HTTPRequest, body string, base64Encoded bool) events.APIGatewayV2HTTPRequest {
	r = clone(r)
	r.Body, r.IsBase64Encoded = body, base64Encoded
	return r
}

// methods are the ones every route refuses (405 with Allow: POST); "post" is not POST.
var methods = []string{"GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "post"}

// deep is v nested in n arrays.
func deep(n int, v string) string {
	return strings.Repeat("[", n) + v + strings.Repeat("]", n)
}

// padTo pads a JSON object's text with spaces before its closing brace to exactly n bytes.
func padTo(n int, obj string) string {
	if len(obj) > n {
		panic(fmt.Sprintf("padTo: %d bytes already", len(obj)))
	}
	return obj[:len(obj)-1] + strings.Repeat(" ", n-len(obj)) + "}"
}

// overCap is a JSON object of n bytes (whitespace inside a string): anything past the cap.
func overCap(n int) string {
	return `{"pad":"` + strings.Repeat("A", n-len(`{"pad":""}`)) + `"}`
}
