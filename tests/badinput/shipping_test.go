package badinput

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/oauth"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
)

// Shipping: authentication comes first (after 405 and 413), so every unauthenticated request is
// the same 401 whatever else is wrong with it; an authenticated delivery that cannot be processed
// is quarantined (202) with the reason and field it would have been refused for.

// shipMsg is an Amazon Shipping OTP notification, envelope and detail kept as ordered members.
type shipMsg struct{ env, detail object }

// detailSlot marks where the envelope holds the detail object.
const detailSlot = "\x00detail\x00"

// shipMsg returns an authentic notification with an envelope id, tracking ID and OTP code no
// other case has.
func (c *corpus) shipMsg() shipMsg {
	n := c.seq()
	code := fmt.Sprintf("otp%05d", n)
	c.otps = append(c.otps, code)
	return shipMsg{
		env: object{
			{"version", q("0")}, {"id", q(fmt.Sprintf("env-badinput-%05d", n))}, {"detail-type", q("PN Event")},
			{"source", q("AmazonShipping")}, {"account", q("474668380910")},
			{"time", q(time.Now().UTC().Format(time.RFC3339))}, {"region", q("eu-west-1")}, {"resources", "[]"},
			{"detail", detailSlot},
		},
		detail: object{
			{"verificationCode", q(code)}, {"verificationCodeTTL", strconv.FormatInt(time.Now().Add(24*time.Hour).UnixMilli(), 10)},
			{"trackingId", q(fmt.Sprintf("TBA%09d", n))}, {"alternateLegTrackingId", q(fmt.Sprintf("alt-TBA%09d", n))},
			{"shipmentType", q("REVERSE")}, {"eventCode", q("PIN_GENERATED")}, {"appId", q("amzn1.aaa.app.test")},
		},
	}
}

func (m shipMsg) String() string {
	out := make(object, 0, len(m.env))
	for _, x := range m.env {
		if x.raw == detailSlot {
			x.raw = m.detail.String()
		}
		out = append(out, x)
	}
	return out.String()
}

// otp remembers a verification code sent as raw JSON (none may reach the logs); codes too short
// to tell from other text are left out.
func (c *corpus) otp(raw string) {
	if s, ok := unq(raw); ok && len(strings.TrimSpace(s)) >= 6 {
		c.otps = append(c.otps, strings.TrimSpace(s))
	}
}

// shipBody is an authentic notification's body.
func (c *corpus) shipBody() string { return c.shipMsg().String() }

// shipAuthed is body delivered with the API key, as Amazon sends it.
func shipAuthed(body string) events.APIGatewayV2HTTPRequest { return harness.Shipping(body) }

// shipAnon is body delivered without any credential.
func shipAnon(body string) events.APIGatewayV2HTTPRequest {
	return withoutHeader(harness.Shipping(body), "x-api-key")
}

func (c *corpus) ship(name string, req events.APIGatewayV2HTTPRequest, status int, code, field string) {
	c.t.Helper()
	c.add(Case{Name: name, Fn: fnShipping, Req: req, Status: status, Code: code, Field: field})
}

// shipOK, shipQuarantined and shipUnauthorized are the three answers most Shipping cases get.
func (c *corpus) shipOK(name string, req events.APIGatewayV2HTTPRequest) {
	c.t.Helper()
	c.ship(name, req, 200, "accepted", "")
}

func (c *corpus) shipQuarantined(name string, req events.APIGatewayV2HTTPRequest, code, field string) {
	c.t.Helper()
	c.ship(name, req, 202, code, field)
}

func (c *corpus) shipUnauthorized(name string, req events.APIGatewayV2HTTPRequest) {
	c.t.Helper()
	c.ship(name, req, 401, "unauthorized", "")
}

func shippingCases(c *corpus) {
	shippingEarly(c)
	shippingAPIKeys(c)
	shippingQueryAndBasic(c)
	shippingOAuth(c)
	shippingAuthBeforeBody(c)
	shippingContentTypes(c)
	shippingBase64(c)
	shippingBrokenJSON(c)
	shippingFields(c)
	shippingShapes(c)
}

// shippingEarly: 405 and 413 come before authentication.
func shippingEarly(c *corpus) {
	for _, m := range methods {
		c.ship("method "+m+" authenticated", withMethod(shipAuthed(c.shipBody()), m), 405, "method_not_allowed", "")
		c.ship("method "+m+" unauthenticated", withMethod(shipAnon(c.shipBody()), m), 405, "method_not_allowed", "")
	}
	c.ship("method GET with a body over the cap", withMethod(shipAnon(overCap(shippingCap+1)), "GET"), 405, "method_not_allowed", "")

	tooBig := func(name string, req events.APIGatewayV2HTTPRequest) {
		c.ship(name, req, 413, "payload_too_large", "")
	}
	tooBig("body one byte over the cap, unauthenticated", shipAnon(overCap(shippingCap+1)))
	tooBig("body one byte over the cap, wrong API key", withHeader(shipAnon(overCap(shippingCap+1)), "x-api-key", "wrong"))
	tooBig("body one byte over the cap, authenticated", shipAuthed(overCap(shippingCap+1)))
	tooBig("body 6 MB, unauthenticated", shipAnon(overCap(6<<20)))
	tooBig("body over the cap, wrong content type, unauthenticated", withHeader(shipAnon(overCap(shippingCap+1)), "content-type", "text/plain"))
	tooBig("base64 body decoding past the cap, unauthenticated", withBody(shipAnon(""), b64(overCap(shippingCap+3)), true))
	tooBig("base64 body of broken base64 past the cap", withBody(shipAnon(""), strings.Repeat("!", shippingCap*2), true))
	// Deep nesting is refused on size before anything parses it.
	tooBig("deeply nested body over the cap, authenticated", shipAuthed(deep(shippingCap/2+1, "1")))

	// At the cap exactly, the body is processed.
	c.shipOK("body exactly at the cap, authenticated", shipAuthed(padTo(shippingCap, c.shipBody())))
	c.shipUnauthorized("body exactly at the cap, unauthenticated", shipAnon(padTo(shippingCap, c.shipBody())))
	c.shipOK("base64 body decoding to the cap minus one, authenticated",
		withBody(shipAuthed(""), b64(padTo(shippingCap-1, c.shipBody())), true))
	c.add(Case{
		Name: "base64 body decoding to exactly the cap, authenticated", Fn: fnShipping,
		Req:    withBody(shipAuthed(""), b64(padTo(shippingCap, c.shipBody())), true),
		Status: 200, Code: "accepted",
	})
}

// shippingAPIKeys: the API key wrong, empty, with whitespace, or in the wrong place.
func shippingAPIKeys(c *corpus) {
	key := harness.APIKey
	homo, _ := homoglyph(key)
	for _, v := range []struct{ name, value string }{
		{"wrong", "dev-api-key-wrong-0123456789abcdefgh"},
		{"empty", ""},
		{"a space", " "},
		{"leading space", " " + key},
		{"trailing space", key + " "},
		{"trailing newline", key + "\n"},
		{"trailing CRLF", key + "\r\n"},
		{"trailing tab", key + "\t"},
		{"inner space", key[:10] + " " + key[10:]},
		{"NUL appended", key + "\x00"},
		{"NUL prefixed", "\x00" + key},
		{"RTL override prefixed", "\u202e" + key},
		{"zero-width space appended", key + "\u200b"},
		{"BOM prefixed", "\ufeff" + key},
		{"homoglyph", homo},
		{"upper case", strings.ToUpper(key)},
		{"truncated", key[:len(key)-1]},
		{"one character more", key + "x"},
		{"twice, comma-joined (a repeated header)", key + "," + key},
		{"twice, space-joined", key + " " + key},
		{"the query key", "dev-query-key-0123456789abcdefghijk"},
		{"the Basic password", "dev-password-0123456789abcdefghij"},
		{"the APS response phrase", harness.APSPhrase},
		{"Bearer-prefixed", "Bearer " + key},
		{"base64-encoded", b64(key)},
		{"quoted", `"` + key + `"`},
	} {
		c.shipUnauthorized("API key "+v.name, withHeader(shipAnon(c.shipBody()), "x-api-key", v.value))
	}
	for _, h := range []struct{ name, header, value string }{
		{"in Authorization, bare", "authorization", key},
		{"in Authorization as a Bearer token", "authorization", "Bearer " + key},
		{"in Authorization as ApiKey", "authorization", "ApiKey " + key},
		{"in Authorization as Basic base64(key)", "authorization", "Basic " + b64(key)},
		{"in Authorization as Basic base64(key:)", "authorization", "Basic " + b64(key+":")},
		{"in x-api-token", "x-api-token", key},
		{"in api-key", "api-key", key},
		{"in apikey", "apikey", key},
		{"in x-apikey", "x-apikey", key},
		{"in x_api_key", "x_api_key", key},
		{"in x-amz-api-key", "x-amz-api-key", key},
		{"in x-api-key-id", "x-api-key-id", key},
		{"in a header named 'x-api-key ' (trailing space)", "x-api-key ", key},
		{"in a Cookie", "cookie", "x-api-key=" + key},
	} {
		c.shipUnauthorized("API key "+h.name, withHeader(shipAnon(c.shipBody()), h.header, h.value))
	}
	for _, p := range []string{"x-api-key", "api_key", "apikey", "key"} {
		c.shipUnauthorized("API key in the query parameter "+p, withQuery(shipAnon(c.shipBody()), p, key))
	}
	c.shipUnauthorized("no credential at all", shipAnon(c.shipBody()))
	c.shipUnauthorized("no headers at all", withBody(events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST " + shippingPath, RawPath: shippingPath,
		RequestContext: shipAnon("").RequestContext,
	}, c.shipBody(), false))
	// The header name is matched whatever its case (hand-written events keep it): a control.
	c.shipOK("control: API key header name in capitals", withHeader(shipAnon(c.shipBody()), "X-API-KEY", key))
}

// shippingQueryAndBasic: the query-parameter and HTTP Basic modes given wrong or malformed.
func shippingQueryAndBasic(c *corpus) {
	qk := "dev-query-key-0123456789abcdefghijk"
	for _, v := range []struct{ name, param, value string }{
		{"wrong", "api_key", "dev-query-key-wrong"},
		{"empty", "api_key", ""},
		{"trailing space", "api_key", qk + " "},
		{"upper-case name", "API_KEY", qk},
		{"the header API key as query key", "api_key", harness.APIKey},
		{"percent-encoded, not decoded", "api_key", strings.ReplaceAll(qk, "-", "%2D")},
	} {
		c.shipUnauthorized("query key "+v.name, withQuery(shipAnon(c.shipBody()), v.param, v.value))
	}
	onlyRaw := clone(shipAnon(c.shipBody()))
	onlyRaw.RawQueryString = "api_key=" + qk
	c.shipUnauthorized("query key only in the raw query string", onlyRaw)
	c.shipOK("control: query key", withQuery(shipAnon(c.shipBody()), "api_key", qk))

	user, pass := "amazon-shipping", "dev-password-0123456789abcdefghij"
	good := b64(user + ":" + pass)
	for _, v := range []struct{ name, value string }{
		{"scheme only", "Basic"},
		{"scheme and a space", "Basic "},
		{"not base64", "Basic !!!not-base64!!!"},
		{"base64 without a colon", "Basic " + b64(user+pass)},
		{"wrong password", "Basic " + b64(user+":wrong")},
		{"wrong user", "Basic " + b64("someone:"+pass)},
		{"empty password", "Basic " + b64(user+":")},
		{"empty user", "Basic " + b64(":"+pass)},
		{"colon only", "Basic " + b64(":")},
		{"password with a trailing space", "Basic " + b64(user+":"+pass+" ")},
		{"password with a trailing newline", "Basic " + b64(user+":"+pass+"\n")},
		{"user in upper case", "Basic " + b64(strings.ToUpper(user)+":"+pass)},
		{"user and password swapped", "Basic " + b64(pass+":"+user)},
		{"extra colon field", "Basic " + b64(user+":"+pass+":x")},
		{"unpadded base64", "Basic " + strings.TrimRight(good, "=")},
		{"URL-safe base64 with padding removed", "Basic " + base64.RawURLEncoding.EncodeToString([]byte(user+":"+pass))},
		{"base64 twice", "Basic " + b64(good)},
		{"not base64-encoded at all", "Basic " + user + ":" + pass},
		{"no space after the scheme", "Basic" + good},
		{"Bearer scheme", "Bearer " + good},
		{"Digest scheme", "Digest " + good},
		{"NUL in the password", "Basic " + b64(user+":"+pass+"\x00")},
		{"homoglyph user", "Basic " + b64("аmazon-shipping:"+pass)},
		{"the API key as password", "Basic " + b64(user+":"+harness.APIKey)},
		{"two credentials", "Basic " + good + ", Basic " + good},
	} {
		c.shipUnauthorized("Basic "+v.name, withHeader(shipAnon(c.shipBody()), "authorization", v.value))
	}
	c.shipOK("control: Basic", withHeader(shipAnon(c.shipBody()), "authorization", "Basic "+good))
	c.shipOK("control: Basic, lower-case scheme", withHeader(shipAnon(c.shipBody()), "authorization", "basic "+good))
}

// token signs claims with key as alg/kid and remembers the token (none may reach the logs).
func (c *corpus) token(key *rsa.PrivateKey, alg, kid string, claims map[string]any) string {
	c.t.Helper()
	tok, err := oauth.Sign(key, alg, kid, claims)
	if err != nil {
		c.t.Fatal(err)
	}
	c.tokens = append(c.tokens, tok)
	return tok
}

// rawToken assembles a token from any header, claims and signature; sign, when set, computes
// the signature over the signing input.
func (c *corpus) rawToken(header, claims any, sign func(input string) []byte) string {
	c.t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(claims)
	input := enc(h) + "." + enc(p)
	var sig []byte
	if sign != nil {
		sig = sign(input)
	}
	tok := input + "." + enc(sig)
	c.tokens = append(c.tokens, tok)
	return tok
}

// claims are harness.Claims with changes; a nil value deletes the claim.
func claims(changes map[string]any) map[string]any {
	cl := harness.Claims()
	for k, v := range changes {
		if v == nil {
			delete(cl, k)
		} else {
			cl[k] = v
		}
	}
	return cl
}

func bearer(tok string) string { return "Bearer " + tok }

// shippingOAuth: expired, forged and misdirected bearer tokens.
func shippingOAuth(c *corpus) {
	key := c.env.oauthKey
	now := time.Now()
	rs256 := func(cl map[string]any) string { return c.token(key, "RS256", "dev-1", cl) }
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		c.t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	hs256 := func(secret []byte) func(string) []byte {
		return func(input string) []byte {
			m := hmac.New(sha256.New, secret)
			m.Write([]byte(input))
			return m.Sum(nil)
		}
	}
	rsaSig := func(input string) []byte {
		// A valid RS256 signature by the trusted key, under whatever header the token has.
		d := sha256.Sum256([]byte(input))
		s, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
		if err != nil {
			c.t.Fatal(err)
		}
		return s
	}
	valid := rs256(harness.Claims())
	parts := strings.Split(valid, ".")
	tampered, _ := json.Marshal(claims(map[string]any{"exp": now.Add(30 * 24 * time.Hour).Unix()}))
	otherKid, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "dev-2"})
	flipped := []byte(parts[2])
	if flipped[10] == 'A' {
		flipped[10] = 'B'
	} else {
		flipped[10] = 'A'
	}
	big := map[string]any{"pad": strings.Repeat("x", 9<<10)}

	for _, v := range []struct{ name, auth string }{
		{"expired two hours ago", bearer(rs256(claims(map[string]any{"exp": now.Add(-2 * time.Hour).Unix(), "iat": now.Add(-3 * time.Hour).Unix()})))},
		{"expired past the leeway", bearer(rs256(claims(map[string]any{"exp": now.Add(-2 * time.Minute).Unix()})))},
		{"not valid for an hour yet (nbf)", bearer(rs256(claims(map[string]any{"nbf": now.Add(time.Hour).Unix()})))},
		{"issued in an hour (iat)", bearer(rs256(claims(map[string]any{"iat": now.Add(time.Hour).Unix()})))},
		{"without exp", bearer(rs256(claims(map[string]any{"exp": nil})))},
		{"exp as a string", bearer(rs256(claims(map[string]any{"exp": strconv.FormatInt(now.Add(time.Hour).Unix(), 10)})))},
		{"exp in milliseconds far in the future", bearer(rs256(claims(map[string]any{"exp": now.Add(time.Hour).UnixMilli() * 1000})))},
		{"alg none, no signature", bearer(c.rawToken(map[string]string{"alg": "none", "typ": "JWT", "kid": "dev-1"}, harness.Claims(), nil))},
		{"alg none with an RS256 signature", bearer(c.rawToken(map[string]string{"alg": "none", "kid": "dev-1"}, harness.Claims(), rsaSig))},
		{"alg NONE", bearer(c.rawToken(map[string]string{"alg": "NONE", "kid": "dev-1"}, harness.Claims(), nil))},
		{"alg missing", bearer(c.rawToken(map[string]string{"kid": "dev-1"}, harness.Claims(), rsaSig))},
		{"HS256 keyed with the public key PEM", bearer(c.rawToken(map[string]string{"alg": "HS256", "typ": "JWT", "kid": "dev-1"}, harness.Claims(), hs256(pubPEM)))},
		{"HS256 keyed with the public key modulus", bearer(c.rawToken(map[string]string{"alg": "HS256", "typ": "JWT", "kid": "dev-1"}, harness.Claims(), hs256(key.N.Bytes())))},
		{"HS256 keyed with the API key", bearer(c.rawToken(map[string]string{"alg": "HS256", "typ": "JWT", "kid": "dev-1"}, harness.Claims(), hs256([]byte(harness.APIKey))))},
		{"RS512 where RS256 is published", bearer(c.token(key, "RS512", "dev-1", harness.Claims()))},
		{"RS384 where RS256 is published", bearer(c.token(key, "RS384", "dev-1", harness.Claims()))},
		{"ES256 header over an RS256 signature", bearer(c.rawToken(map[string]string{"alg": "ES256", "kid": "dev-1"}, harness.Claims(), rsaSig))},
		{"PS256 header", bearer(c.rawToken(map[string]string{"alg": "PS256", "kid": "dev-1"}, harness.Claims(), rsaSig))},
		{"kid unknown", bearer(c.token(key, "RS256", "dev-2", harness.Claims()))},
		{"kid missing", bearer(c.rawToken(map[string]string{"alg": "RS256", "typ": "JWT"}, harness.Claims(), rsaSig))},
		{"kid empty", bearer(c.rawToken(map[string]string{"alg": "RS256", "kid": ""}, harness.Claims(), rsaSig))},
		{"kid a path", bearer(c.rawToken(map[string]string{"alg": "RS256", "kid": "../dev-1"}, harness.Claims(), rsaSig))},
		{"kid a number", bearer(c.rawToken(map[string]any{"alg": "RS256", "kid": 1}, harness.Claims(), rsaSig))},
		{"crit header", bearer(c.rawToken(map[string]any{"alg": "RS256", "kid": "dev-1", "crit": []string{"exp"}}, harness.Claims(), rsaSig))},
		{"signed with another key under kid dev-1", bearer(c.token(otherKey(), "RS256", "dev-1", harness.Claims()))},
		{"wrong issuer", bearer(rs256(claims(map[string]any{"iss": "https://evil.invalid/amazon-webhook-gateway"})))},
		{"issuer with a trailing slash", bearer(rs256(claims(map[string]any{"iss": harness.Issuer + "/"})))},
		{"issuer in upper case", bearer(rs256(claims(map[string]any{"iss": strings.ToUpper(harness.Issuer)})))},
		{"issuer missing", bearer(rs256(claims(map[string]any{"iss": nil})))},
		{"issuer an array", bearer(rs256(claims(map[string]any{"iss": []string{harness.Issuer}})))},
		{"wrong client_id", bearer(rs256(claims(map[string]any{"client_id": "someone-else"})))},
		{"client_id missing", bearer(rs256(claims(map[string]any{"client_id": nil})))},
		{"wrong aud, no client_id", bearer(rs256(claims(map[string]any{"client_id": nil, "aud": "someone-else"})))},
		{"aud a number", bearer(rs256(claims(map[string]any{"client_id": nil, "aud": 1})))},
		{"scope missing", bearer(rs256(claims(map[string]any{"scope": nil})))},
		{"wrong scope", bearer(rs256(claims(map[string]any{"scope": "amazon-shipping-webhook/otp.read"})))},
		{"scope extended", bearer(rs256(claims(map[string]any{"scope": harness.Scope + ".all"})))},
		{"scope prefix", bearer(rs256(claims(map[string]any{"scope": "amazon-shipping-webhook/otp"})))},
		{"scope in upper case", bearer(rs256(claims(map[string]any{"scope": strings.ToUpper(harness.Scope)})))},
		{"scope an array", bearer(rs256(claims(map[string]any{"scope": []string{harness.Scope}})))},
		{"id token (token_use id)", bearer(rs256(claims(map[string]any{"token_use": "id"})))},
		{"claims an array", bearer(c.rawToken(map[string]string{"alg": "RS256", "kid": "dev-1"}, []string{"x"}, rsaSig))},
		{"claims changed after signing", bearer(parts[0] + "." + base64.RawURLEncoding.EncodeToString(tampered) + "." + parts[2])},
		{"header changed after signing", bearer(base64.RawURLEncoding.EncodeToString(otherKid) + "." + parts[1] + "." + parts[2])},
		{"signature flipped", bearer(parts[0] + "." + parts[1] + "." + string(flipped))},
		{"signature removed", bearer(parts[0] + "." + parts[1] + ".")},
		{"two segments", bearer(parts[0] + "." + parts[1])},
		{"four segments", bearer(valid + ".x")},
		{"padded base64", bearer(parts[0] + "==." + parts[1] + "." + parts[2])},
		{"standard base64 alphabet", bearer(strings.NewReplacer("-", "+", "_", "/").Replace(valid) + "+/")},
		{"whitespace inside", bearer(parts[0] + ". " + parts[1] + "." + parts[2])},
		{"newline inside", bearer(parts[0] + "\n." + parts[1] + "." + parts[2])},
		{"over 8 KiB", bearer(rs256(claims(big)))},
		{"Bearer without a token", "Bearer"},
		{"Bearer and spaces", "Bearer    "},
		{"garbage", "Bearer not-a-jwt"},
		{"lower-case scheme, expired", "bearer " + rs256(claims(map[string]any{"exp": now.Add(-time.Hour).Unix()}))},
		{"valid token under the Token scheme", "Token " + valid},
		{"valid token under the JWT scheme", "JWT " + valid},
		{"valid token under the Basic scheme", "Basic " + valid},
		{"valid token without a scheme", valid},
		{"valid token twice", bearer(valid + " " + valid)},
	} {
		c.shipUnauthorized("OAuth "+v.name, withHeader(shipAnon(c.shipBody()), "authorization", v.auth))
	}
	c.shipUnauthorized("OAuth valid token in x-api-key", withHeader(shipAnon(c.shipBody()), "x-api-key", valid))
	c.shipUnauthorized("OAuth valid token in the query", withQuery(shipAnon(c.shipBody()), "access_token", valid))
	c.shipOK("control: OAuth", withHeader(shipAnon(c.shipBody()), "authorization", bearer(valid)))
}

// shippingAuthBeforeBody: whatever is wrong with the body, no credential means 401, and the body
// is not kept.
func shippingAuthBeforeBody(c *corpus) {
	expired := bearer(c.token(c.env.oauthKey, "RS256", "dev-1", claims(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})))
	creds := []struct {
		name          string
		header, value string
	}{
		{"no credential", "", ""},
		{"wrong API key", "x-api-key", "wrong"},
		{"expired token", "authorization", expired},
		{"malformed Basic", "authorization", "Basic !!!"},
	}
	for _, cr := range creds {
		with := func(r events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
			if cr.header != "" {
				r = withHeader(r, cr.header, cr.value)
			}
			return r
		}
		for _, b := range []struct {
			name string
			req  events.APIGatewayV2HTTPRequest
		}{
			{"broken JSON", shipAnon(`{"version":"0","id":`)},
			{"empty body", shipAnon("")},
			{"wrong content type", withHeader(shipAnon(c.shipBody()), "content-type", "text/plain")},
			{"form body", withHeader(withBody(shipAnon(""), b64("a=1&b=2"), true), "content-type", "application/x-www-form-urlencoded")},
			{"broken base64", withBody(shipAnon(""), "!!!!", true)},
			{"invalid UTF-8", shipAnon("{\"id\":\"\xff\xfe\"}")},
			{"body just under the cap", shipAnon(overCap(shippingCap))},
			{"deeply nested body", shipAnon(deep(20000, "1"))},
			{"invalid payload", shipAnon(`{"source":"Evil"}`)},
		} {
			c.shipUnauthorized(cr.name+" with "+b.name, with(b.req))
		}
	}
}

// shippingContentTypes: an authenticated delivery of a type other than JSON is quarantined.
func shippingContentTypes(c *corpus) {
	for _, ct := range []string{
		"text/plain", "text/plain; charset=utf-8", "text/html", "application/xml", "text/xml",
		"application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz", "application/octet-stream",
		"application/jsonp", "text/json", "application/json-seq", "application/x-amz-json-1.1", "json", "*/*",
		"garbage", "application/json, text/plain", "application/json; charset", ";;", "image/png",
		"application/json\u202e", "аpplication/json",
	} {
		c.shipQuarantined("content type "+strconv.Quote(ct), withHeader(shipAuthed(c.shipBody()), "content-type", ct), "unsupported_media_type", "")
	}
	for _, ct := range []string{"application/json", "APPLICATION/JSON", "application/json;charset=UTF-8", "application/json;", "application/cloudevents+json"} {
		c.shipOK("control: content type "+strconv.Quote(ct), withHeader(shipAuthed(c.shipBody()), "content-type", ct))
	}
	c.shipOK("control: no content type", withoutHeader(shipAuthed(c.shipBody()), "content-type"))
	// The content type is checked before the body is decoded.
	c.shipQuarantined("wrong content type and broken base64", withBody(withHeader(shipAuthed(""), "content-type", "text/plain"), "!!"+b64(c.shipBody()), true),
		"unsupported_media_type", "")
}

// shippingBase64: bodies flagged isBase64Encoded that do not decode.
func shippingBase64(c *corpus) {
	enc := func(name, body string, code, field string) {
		req := withBody(shipAuthed(""), body, true)
		c.shipQuarantined("base64 "+name, req, code, field)
		c.shipUnauthorized("base64 "+name+", unauthenticated", withoutHeader(req, "x-api-key"))
	}
	enc("not base64 at all", "!!!!"+c.shipBody(), "invalid_encoding", "")
	enc("plain JSON flagged as base64", c.shipBody(), "invalid_encoding", "")
	withURLChars := func() string {
		m := c.shipMsg()
		m.env = m.env.set("x", q("~~~~~~~~~?????????"))
		return m.String()
	}
	enc("URL-safe alphabet", base64.URLEncoding.EncodeToString([]byte(withURLChars())), "invalid_encoding", "")
	unpadded := c.shipBody()
	for len(unpadded)%3 == 0 {
		unpadded += " "
	}
	enc("without padding", base64.RawStdEncoding.EncodeToString([]byte(unpadded)), "invalid_encoding", "")
	b := b64(c.shipBody())
	enc("with a space inside", b[:8]+" "+b[8:], "invalid_encoding", "")
	enc("truncated mid-quantum", b[:len(b)-1], "invalid_encoding", "")
	padded := c.shipBody()
	for len(padded)%3 == 0 {
		padded += " "
	}
	enc("with data after the padding", b64(padded)+"AAAA", "invalid_encoding", "")
	enc("of a broken JSON body", b64(`{"version":"0",`+fmt.Sprint(c.seq())), "invalid_payload", "body")
	enc("twice", b64(b64(c.shipBody())), "invalid_payload", "body")
	enc("of UTF-16", b64(utf16LE(c.shipBody())), "invalid_payload", "body")
	c.shipOK("control: base64 body", withBody(shipAuthed(""), b64(c.shipBody()), true))
	withNewlines := b64(c.shipBody())
	c.shipOK("control: base64 with line breaks (ignored by the decoder)", withBody(shipAuthed(""), withNewlines[:40]+"\r\n"+withNewlines[40:], true))
}

func utf16LE(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}

// shippingBrokenJSON: authenticated bodies that are not a JSON object.
func shippingBrokenJSON(c *corpus) {
	body := func(name string, mk func(valid string) string) {
		c.t.Helper()
		c.shipQuarantined("JSON "+name, shipAuthed(mk(c.shipBody())), "invalid_payload", "body")
	}
	body("empty", func(string) string { return "" })
	body("whitespace only", func(string) string { return " \r\n\t " })
	body("null", func(string) string { return "null" })
	body("an array", func(string) string { return "[]" })
	body("an array of the envelope", func(v string) string { return "[" + v + "]" })
	body("a string", func(string) string { return `"x"` })
	body("a number", func(string) string { return "1" })
	body("true", func(string) string { return "true" })
	body("truncated", func(v string) string { return v[:len(v)/2] })
	body("trailing comma", func(v string) string { return v[:len(v)-1] + ",}" })
	body("single quotes", func(v string) string { return strings.ReplaceAll(v, `"`, `'`) })
	body("a comment", func(v string) string { return "/* c */" + v })
	body("unquoted keys", func(v string) string { return strings.Replace(v, `"version"`, "version", 1) })
	body("NaN value", func(v string) string { return strings.Replace(v, `"version":"0"`, `"version":NaN`, 1) })
	body("data after the object", func(v string) string { return v + "x" })
	body("two objects", func(v string) string { return v + v })
	body("a BOM before the object", func(v string) string { return "\xef\xbb\xbf" + v })
	body("a NUL before the object", func(v string) string { return "\x00" + v })
	body("UTF-16LE", utf16LE)
	body("a raw tab inside a string", func(v string) string { return strings.Replace(v, `"PN Event"`, "\"PN\tEvent\"", 1) })
	body("a bad escape", func(v string) string { return strings.Replace(v, `"PN Event"`, `"PN\qEvent"`, 1) })
	body("a Latin-1 byte", func(v string) string { return strings.Replace(v, `"eu-west-1"`, "\"eu-w\xe9st-1\"", 1) })
	body("an overlong '/' (C0 AF)", func(v string) string { return strings.Replace(v, `"eu-west-1"`, "\"eu\xc0\xafwest-1\"", 1) })
	body("an overlong NUL (C0 80)", func(v string) string { return strings.Replace(v, `"eu-west-1"`, "\"eu\xc0\x80west-1\"", 1) })
	body("a UTF-16 surrogate encoded in UTF-8 (CESU)", func(v string) string { return strings.Replace(v, `"eu-west-1"`, "\"eu\xed\xa0\x80west-1\"", 1) })
	body("nested 10001 deep", func(v string) string { return v[:len(v)-1] + `,"x":` + deep(10001, "1") + "}" })
	body("an array 20000 deep", func(string) string { return deep(20000, "") })
}

// The field classes of a notification, by how the contract treats them.
const (
	fReq = "required string"
	fOpt = "optional string"
	// Tracking IDs name items: one that cannot be Amazon's (a control character) is refused.
	fReqID     = "required tracking ID"
	fOptID     = "optional tracking ID"
	fSource    = "source"
	fTime      = "time"
	fCode      = "verification code"
	fTTL       = "verification code TTL"
	fShipType  = "shipment type"
	fEventCode = "event code"
	fResources = "resources"
	fDetail    = "detail"
)

// shipField is one field of a notification: the envelope's, or (inDetail) the OTP detail's.
type shipField struct {
	key      string
	inDetail bool
	class    string
	max      int // bytes, for "too long"
}

var shipFields = []shipField{
	{"version", false, fReq, 256}, {"id", false, fReq, 256}, {"detail-type", false, fReq, 256},
	{"source", false, fSource, 256}, {"account", false, fReq, 256}, {"time", false, fTime, 64},
	{"region", false, fOpt, 256}, {"resources", false, fResources, 300}, {"detail", false, fDetail, 300},
	{"trackingId", true, fReqID, 256}, {"verificationCode", true, fCode, 64}, {"verificationCodeTTL", true, fTTL, 300},
	{"alternateLegTrackingId", true, fOptID, 256}, {"shipmentType", true, fShipType, 32},
	{"eventCode", true, fEventCode, 256}, {"appId", true, fOpt, 256},
}

// mutation breaks one field: drops it, renames its key, or replaces its raw JSON value (ok is
// false when the mutation does not apply to the field's value).
type mutation struct {
	name  string
	drop  bool
	key   func(k string) (string, bool)
	value func(cur string, max int) (string, bool)
}

func constant(raw string) func(string, int) (string, bool) {
	return func(string, int) (string, bool) { return raw, true }
}

// onString applies f to the field's string value.
func onString(f func(s string) (string, bool)) func(string, int) (string, bool) {
	return func(cur string, _ int) (string, bool) {
		s, ok := unq(cur)
		if !ok {
			return "", false
		}
		v, ok := f(s)
		return q(v), ok
	}
}

// onRawString puts bytes into the field's string value as they are (invalid JSON or UTF-8).
func onRawString(suffix string) func(string, int) (string, bool) {
	return func(cur string, _ int) (string, bool) {
		s, ok := unq(cur)
		if !ok {
			return "", false
		}
		return `"` + s + suffix + `"`, true
	}
}

var mutations = []mutation{
	{name: "missing", drop: true},
	{name: "null", value: constant("null")},
	{name: "a number", value: constant("12345")},
	{name: "a boolean", value: constant("true")},
	{name: "an object", value: constant(`{"value":"x"}`)},
	{name: "an array", value: constant(`["x"]`)},
	{name: "empty", value: constant(`""`)},
	{name: "blank", value: constant(`"   "`)},
	{name: "too long", value: func(_ string, max int) (string, bool) { return q(strings.Repeat("x", max+1)), true }},
	{name: "with a NUL", value: onString(func(s string) (string, bool) { return s + "\x00", true })},
	{name: "with an RTL override", value: onString(func(s string) (string, bool) { return "\u202e" + s, true })},
	{name: "with a BOM", value: onString(func(s string) (string, bool) { return "\ufeff" + s, true })},
	{name: "with a homoglyph", value: onString(homoglyph)},
	{name: "key with a homoglyph", key: homoglyph},
	{name: "key in upper case", key: func(k string) (string, bool) { return strings.ToUpper(k), true }},
}

// bodyMutations make the whole body unreadable; tried on a few fields only.
var bodyMutations = []mutation{
	{name: "with a raw NUL byte", value: onRawString("\x00")},
	{name: "with invalid UTF-8", value: onRawString("\xff\xfe")},
	{name: "with an overlong encoding", value: onRawString("\xc0\xaf")},
}

// Outcomes of a mutation: processed (200), quarantined naming the field, quarantined naming the
// body.
const (
	ok      = 'O'
	atField = 'F'
	atBody  = 'B'
)

// shipExpect gives, per field class, the outcome of each mutation in the order of mutations.
// Unknown fields are tolerated, so a renamed optional field is merely missing.
var shipExpect = map[string]string{
	//           missing null num bool obj arr empty blank long NUL RTL BOM homo key-homo key-upper
	fReq:       "FFFFFFFFFOOOOFF",
	fOpt:       "OOFFFFOOFOOOOOO",
	fReqID:     "FFFFFFFFFFOOOFF",
	fOptID:     "OOFFFFOOFFOOOOO",
	fSource:    "FFFFFFFFFFFFFFF",
	fTime:      "FFFFFFFFFFFFFFF",
	fCode:      "FFFFFFFFFFFFOFF",
	fTTL:       "FFFFFFFFF----FF",
	fShipType:  "OOFFFFOOFFFFFOO",
	fEventCode: "OOOOOOOOOOOOOOO",
	fResources: "OOFFFOFFF----OO",
	fDetail:    "FFFFOFFFF----FF",
}

// shippingFields: every field of a notification × every mutation.
func shippingFields(c *corpus) {
	apply := func(f shipField, mu mutation, want byte, field string) {
		m := c.shipMsg()
		o := &m.env
		if f.inDetail {
			o = &m.detail
		}
		cur, _ := o.get(f.key)
		switch {
		case mu.drop:
			*o = o.del(f.key)
		case mu.key != nil:
			k, changed := mu.key(f.key)
			if !changed {
				return
			}
			*o = o.rename(f.key, k)
		default:
			v, applies := mu.value(cur, f.max)
			if !applies || v == cur {
				return
			}
			if f.key == "verificationCode" {
				c.otp(v)
			}
			*o = o.set(f.key, v)
		}
		name := "field " + f.key + " " + mu.name
		switch want {
		case ok:
			c.shipOK(name, shipAuthed(m.String()))
		case atField, atBody:
			c.shipQuarantined(name, shipAuthed(m.String()), "invalid_payload", field)
		default:
			c.t.Fatalf("%s: no expectation", name)
		}
	}
	for _, f := range shipFields {
		path := f.key
		if f.inDetail {
			path = "detail." + f.key
		}
		for i, mu := range mutations {
			want := shipExpect[f.class][i]
			if want == '-' {
				continue
			}
			field := path
			if f.class == fDetail && mu.name == "an array" {
				field = "detail[0]" // the array's entry is not an object
			}
			apply(f, mu, want, field)
		}
		switch f.key {
		case "id", "source", "trackingId", "verificationCode":
			for _, mu := range bodyMutations {
				apply(f, mu, atBody, "body")
			}
		}
	}

	// Values particular to one field.
	ttl := time.Now().Add(24 * time.Hour).UnixMilli()
	code := func() string { return fmt.Sprintf("vc%05dq", c.seq()) }
	for _, v := range []struct {
		name, field, raw string
		want             byte
	}{
		{"source padded with spaces", "source", q(" AmazonShipping "), ok},
		{"source in lower case", "source", q("amazonshipping"), atField},
		{"source of another service", "source", q("AmazonPay"), atField},
		{"source with a zero-width space", "source", q("Amazon\u200bShipping"), atField},
		{"source with a NUL escape", "source", q("AmazonShipping\x00"), atField},
		{"time without a zone", "time", q("2025-01-28T11:14:36"), atField},
		{"time with a space", "time", q("2025-01-28 11:14:36Z"), atField},
		{"time a date", "time", q("2025-01-28"), atField},
		{"time month 13", "time", q("2025-13-28T11:14:36Z"), atField},
		{"time epoch seconds", "time", "1738062876", atField},
		{"time with an offset", "time", q(time.Now().In(time.FixedZone("IST", 5*3600+1800)).Format(time.RFC3339)), ok},
		{"time with nanoseconds", "time", q(time.Now().UTC().Format(time.RFC3339Nano)), ok},
		{"resources an array of numbers", "resources", "[1,2]", atField},
		{"resources nested arrays", "resources", `[["x"]]`, atField},
		{"resources a string", "resources", q("arn"), atField},
		{"detail-type Tracking Detail", "detail-type", q("Tracking Detail"), ok},
	} {
		m := c.shipMsg()
		m.env = m.env.set(v.field, v.raw)
		if v.want == ok {
			c.shipOK("field "+v.name, shipAuthed(m.String()))
		} else {
			c.shipQuarantined("field "+v.name, shipAuthed(m.String()), "invalid_payload", v.field)
		}
	}
	for _, v := range []struct {
		name, field, raw string
		want             byte
	}{
		{"verificationCodeTTL a string of digits", "verificationCodeTTL", q(strconv.FormatInt(ttl, 10)), ok},
		{"verificationCodeTTL in seconds", "verificationCodeTTL", strconv.FormatInt(ttl/1000, 10), atField},
		{"verificationCodeTTL negative", "verificationCodeTTL", "-" + strconv.FormatInt(ttl, 10), atField},
		{"verificationCodeTTL a fraction", "verificationCodeTTL", strconv.FormatInt(ttl, 10) + ".5", atField},
		{"verificationCodeTTL an exponent", "verificationCodeTTL", "1.7e12", atField},
		{"verificationCodeTTL with a leading zero", "verificationCodeTTL", q("0" + strconv.FormatInt(ttl, 10)), atField},
		{"verificationCodeTTL overflowing int64", "verificationCodeTTL", "99999999999999999999", atField},
		{"verificationCodeTTL 15 digits", "verificationCodeTTL", "100000000000000", atField},
		{"verificationCodeTTL zero", "verificationCodeTTL", "0", atField},
		{"verificationCodeTTL hexadecimal", "verificationCodeTTL", q("0x18d0a3c5e78"), atField},
		{"verificationCodeTTL a string with a space", "verificationCodeTTL", q(" " + strconv.FormatInt(ttl, 10)), atField},
		{"verificationCodeTTL with an RTL override", "verificationCodeTTL", q("\u202e" + strconv.FormatInt(ttl, 10)), atField},
		{"verificationCodeTTL with Arabic-Indic digits", "verificationCodeTTL", q("١٧٠٥١٩٠٣٩٩٠٠٠"), atField},
		{"verificationCode with a space", "verificationCode", q(code()[:4] + " " + code()), atField},
		{"verificationCode with a tab", "verificationCode", q(code() + "\t1"), atField},
		{"verificationCode with a zero-width space", "verificationCode", q(code()[:4] + "\u200b" + code()), atField},
		{"verificationCode with a newline inside", "verificationCode", q(code()[:4] + "\n" + code()), atField},
		{"verificationCode with a trailing newline (trimmed)", "verificationCode", q(code() + "\n"), ok},
		{"verificationCode of 64 bytes", "verificationCode", q(code() + strings.Repeat("7", 64-len(code()))), ok},
		{"verificationCode of 65 bytes", "verificationCode", q(code() + strings.Repeat("7", 65-len(code()))), atField},
		{"verificationCode in Arabic-Indic digits", "verificationCode", q("٩٣٨٤٩٢"), ok},
		{"verificationCode in full-width letters", "verificationCode", q("ｏｔｐ９３８"), ok},
		{"shipmentType in lower case", "shipmentType", q("reverse"), atField},
		{"shipmentType FORWARD", "shipmentType", q("FORWARD"), ok},
		{"shipmentType padded", "shipmentType", q(" REVERSE "), ok},
		{"shipmentType unknown", "shipmentType", q("SIDEWAYS"), atField},
		{"trackingId of 256 bytes", "trackingId", q(strings.Repeat("T", 255) + fmt.Sprint(c.seq()%10)), ok},
		{"trackingId of 257 bytes", "trackingId", q(strings.Repeat("T", 257)), atField},
		{"trackingId of 86 three-byte characters (258 bytes)", "trackingId", q(strings.Repeat("€", 86)), atField},
		{"eventCode in lower case (not an OTP)", "eventCode", q("pin_generated"), ok},
		{"eventCode padded", "eventCode", q(" PIN_GENERATED "), ok},
	} {
		m := c.shipMsg()
		m.detail = m.detail.set(v.field, v.raw)
		if v.field == "verificationCode" {
			c.otp(v.raw)
		}
		if v.want == ok {
			c.shipOK("field "+v.name, shipAuthed(m.String()))
		} else {
			c.shipQuarantined("field "+v.name, shipAuthed(m.String()), "invalid_payload", "detail."+v.field)
		}
	}
}

// shippingShapes: the detail's shape, extra and repeated fields, and each authentication mode
// stripped from what the quarantine keeps.
func shippingShapes(c *corpus) {
	detailCase := func(name string, mk func(m shipMsg) string, want byte, field string) {
		c.t.Helper()
		body := mk(c.shipMsg())
		if want == ok {
			c.shipOK("shape "+name, shipAuthed(body))
		} else {
			c.shipQuarantined("shape "+name, shipAuthed(body), "invalid_payload", field)
		}
	}
	setDetail := func(m shipMsg, raw string) string {
		m.env = m.env.set("detail", raw)
		return m.String()
	}
	detailCase("detail an empty array", func(m shipMsg) string { return setDetail(m, "[]") }, atField, "detail")
	detailCase("detail an empty object", func(m shipMsg) string { return setDetail(m, "{}") }, ok, "")
	detailCase("detail an array of one OTP", func(m shipMsg) string { return setDetail(m, "["+m.detail.String()+"]") }, ok, "")
	detailCase("detail an array whose second OTP has no code", func(m shipMsg) string {
		second := m.detail.del("verificationCode").set("trackingId", q(fmt.Sprintf("TBB%09d", c.seq())))
		return setDetail(m, "["+m.detail.String()+","+second.String()+"]")
	}, atField, "detail[1].verificationCode")
	detailCase("detail an array holding null", func(m shipMsg) string { return setDetail(m, "["+m.detail.String()+",null]") }, atField, "detail[1]")
	detailCase("detail nested arrays", func(m shipMsg) string { return setDetail(m, "[["+m.detail.String()+"]]") }, atField, "detail[0]")
	detailCase("detail an array of 1001 entries", func(m shipMsg) string {
		return setDetail(m, "["+strings.TrimSuffix(strings.Repeat("{},", 1001), ",")+"]")
	}, atField, "detail")
	detailCase("detail nested 100 deep in an extra member", func(m shipMsg) string {
		m.detail = m.detail.set("extra", deep(100, `"x"`))
		return m.String()
	}, ok, "")
	detailCase("extra envelope member", func(m shipMsg) string { m.env = m.env.set("extra", q("x")); return m.String() }, ok, "")
	detailCase("extra envelope object", func(m shipMsg) string { m.env = m.env.set("extra", `{"a":{"b":[1,2,{}]}}`); return m.String() }, ok, "")
	detailCase("extra member with an empty key", func(m shipMsg) string { m.env = m.env.set("", q("x")); return m.String() }, ok, "")
	detailCase("extra member with an RTL override key", func(m shipMsg) string { m.env = m.env.set("\u202eid", q("evil")); return m.String() }, ok, "")
	detailCase("extra detail member", func(m shipMsg) string { m.detail = m.detail.set("note", q("x")); return m.String() }, ok, "")
	detailCase("homoglyph source key beside the real one", func(m shipMsg) string {
		m.env = m.env.set("sоurce", q("Evil"))
		return m.String()
	}, ok, "")
	dup := func(m shipMsg, key, raw string) string {
		m.env = append(m.env, member{key, raw})
		return m.String()
	}
	detailCase("source repeated, the last one wrong", func(m shipMsg) string { return dup(m, "source", q("Evil")) }, atField, "source")
	detailCase("source repeated, the last one right", func(m shipMsg) string {
		m.env = m.env.set("source", q("Evil"))
		return dup(m, "source", q("AmazonShipping"))
	}, ok, "")
	detailCase("id with an invalid surrogate escape", func(m shipMsg) string {
		id, _ := m.env.get("id")
		m.env = m.env.set("id", strings.TrimSuffix(id, `"`)+`\ud800"`)
		return m.String()
	}, ok, "")

	// Every mode's credential is stripped from the quarantined delivery.
	qk := "dev-query-key-0123456789abcdefghijk"
	basic := "Basic " + b64("amazon-shipping:dev-password-0123456789abcdefghij")
	tok := bearer(c.token(c.env.oauthKey, "RS256", "dev-1", harness.Claims()))
	broken := func() string { return fmt.Sprintf(`{"version":"0","id":"broken-%d",`, c.seq()) }
	c.shipQuarantined("broken JSON by API key", shipAuthed(broken()), "invalid_payload", "body")
	c.shipQuarantined("broken JSON by query key", withQuery(shipAnon(broken()), "api_key", qk), "invalid_payload", "body")
	c.shipQuarantined("broken JSON by Basic", withHeader(shipAnon(broken()), "authorization", basic), "invalid_payload", "body")
	c.shipQuarantined("broken JSON by OAuth", withHeader(shipAnon(broken()), "authorization", tok), "invalid_payload", "body")
	c.shipQuarantined("broken JSON by all modes at once",
		withHeader(withQuery(shipAuthed(broken()), "api_key", qk), "authorization", tok), "invalid_payload", "body")
	c.shipQuarantined("broken JSON, API key header in capitals", withHeader(shipAnon(broken()), "X-Api-Key", harness.APIKey), "invalid_payload", "body")

	// A redelivery of a processed notification is a duplicate.
	orig := shipAuthed(c.shipBody())
	c.add(Case{Name: "replay of a processed notification", Fn: fnShipping, Req: clone(orig), Status: 200, Code: "duplicate",
		Before: []events.APIGatewayV2HTTPRequest{orig}})
}
