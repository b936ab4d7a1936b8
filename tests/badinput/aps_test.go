package badinput

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
)

// APS: the signature is inside the body, so the body is parsed first. An unsupported type is 415,
// an unreadable body 400 (never quarantined: nothing is authenticated yet), a bad signature or
// another merchant 401, and a correctly signed message that fails validation is quarantined (202).

// apsParams is an authentic, unsigned purchase success with a merchant reference and fort id no
// other case has.
func (c *corpus) apsParams() map[string]string {
	n := c.seq()
	return harness.APSParams(fmt.Sprintf("ORDER-BI-%05d", n), fmt.Sprintf("1700%011d", n))
}

// apsSign is the signature of p (without its own signature) by alg and phrase.
func apsSign(alg apssignature.Algorithm, phrase string, p map[string]string) string {
	s, err := apssignature.NewSigner(alg, phrase)
	if err != nil {
		panic(err)
	}
	return s.Sign(p)
}

// signed is p with the merchant's SHA-256 signature.
func signed(p map[string]string) map[string]string { return harness.SignAPS(p) }

// apsObject is p as a JSON object in name order, every value a string.
func apsObject(p map[string]string) object {
	var o object
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range p {
			if !yield(k) {
				return
			}
		}
	}) {
		o = append(o, member{k, q(p[k])})
	}
	return o
}

// parsedValue is what APS signed for a raw JSON value: a string's text, "" for null, and the
// JSON text of anything else (APS's serialiser signs 1000, not "1000").
func parsedValue(raw string) string {
	raw = strings.TrimSpace(raw)
	if s, ok := unq(raw); ok {
		return s
	}
	if raw == "null" {
		return ""
	}
	return raw
}

// signObject sets o's signature to the one APS computes over its values as sent.
func signObject(o object) object {
	p := map[string]string{}
	for _, m := range o {
		if m.key != apssignature.SignatureParam {
			p[m.key] = parsedValue(m.raw)
		}
	}
	return o.set(apssignature.SignatureParam, q(apsSign(apssignature.SHA256, harness.APSPhrase, p)))
}

// formOf is p form-encoded in name order.
func formOf(p map[string]string) string {
	var parts []string
	for _, m := range apsObject(p) {
		v, _ := unq(m.raw)
		parts = append(parts, url.QueryEscape(m.key)+"="+url.QueryEscape(v))
	}
	return strings.Join(parts, "&")
}

func apsJSON(route, body string) events.APIGatewayV2HTTPRequest {
	return harness.Request(route, "application/json", body, false)
}

// apsForm is a form body as API Gateway passes it: base64-encoded.
func apsForm(route, form string) events.APIGatewayV2HTTPRequest {
	return harness.Request(route, "application/x-www-form-urlencoded", b64(form), true)
}

// apsEncoding is one way APS posts a message: JSON or a form, each to one of the two routes.
type apsEncoding struct {
	name string
	req  func(p map[string]string) events.APIGatewayV2HTTPRequest
}

var apsEncodings = []apsEncoding{
	{"JSON", func(p map[string]string) events.APIGatewayV2HTTPRequest {
		return apsJSON(apsTransaction, apsObject(p).String())
	}},
	{"form", func(p map[string]string) events.APIGatewayV2HTTPRequest { return apsForm(apsNotification, formOf(p)) }},
}

func (c *corpus) aps(name string, req events.APIGatewayV2HTTPRequest, status int, code, field string) {
	c.t.Helper()
	c.add(Case{Name: name, Fn: fnAPS, Req: req, Status: status, Code: code, Field: field})
}

func (c *corpus) apsOK(name string, req events.APIGatewayV2HTTPRequest) {
	c.t.Helper()
	c.aps(name, req, 200, "accepted", "")
}

func (c *corpus) apsBad(name string, req events.APIGatewayV2HTTPRequest, field string) {
	c.t.Helper()
	c.aps(name, req, 400, "invalid_payload", field)
}

func (c *corpus) apsUnauthorized(name string, req events.APIGatewayV2HTTPRequest) {
	c.t.Helper()
	c.aps(name, req, 401, "unauthorized", "")
}

func (c *corpus) apsQuarantined(name string, req events.APIGatewayV2HTTPRequest, field string) {
	c.t.Helper()
	c.aps(name, req, 202, "invalid_payload", field)
}

// validJSON is the body of an authentic, signed JSON message.
func (c *corpus) validJSON() string { return apsObject(signed(c.apsParams())).String() }

func apsCases(c *corpus) {
	apsEarly(c)
	apsRoutes(c)
	apsContentTypes(c)
	apsBrokenJSON(c)
	apsBrokenForms(c)
	apsBase64(c)
	apsSignatures(c)
	apsMerchants(c)
	apsValidation(c)
	apsTypes(c)
	apsUnicode(c)
	apsControls(c)
	apsResplitCases(c)
	apsPhraseSetCases(c)
}

// apsEarly: 405 and 413 come before the route, the type and the signature.
func apsEarly(c *corpus) {
	for _, route := range []string{apsTransaction, apsNotification} {
		for _, m := range methods {
			c.aps("method "+m+" "+route, withMethod(apsJSON(route, c.validJSON()), m), 405, "method_not_allowed", "")
		}
	}
	c.aps("method GET on an unknown route", withMethod(apsJSON("/aps/unknown", c.validJSON()), "GET"), 405, "method_not_allowed", "")
	c.aps("method PUT with a body over the cap", withMethod(apsJSON(apsTransaction, overCap(apsCap+1)), "PUT"), 405, "method_not_allowed", "")

	tooBig := func(name string, req events.APIGatewayV2HTTPRequest) { c.aps(name, req, 413, "payload_too_large", "") }
	tooBig("JSON one byte over the cap", apsJSON(apsTransaction, overCap(apsCap+1)))
	tooBig("form over the cap", apsForm(apsNotification, "a="+strings.Repeat("b", apsCap)))
	tooBig("signed JSON padded past the cap", apsJSON(apsTransaction, padTo(apsCap+1, c.validJSON())))
	tooBig("text/plain over the cap (before 415)", harness.Request(apsTransaction, "text/plain", overCap(apsCap+1), false))
	tooBig("over the cap on an unknown route (before 404)", apsJSON("/aps/unknown", overCap(apsCap+1)))
	tooBig("broken base64 over the cap (before decoding)", harness.Request(apsNotification, "application/x-www-form-urlencoded", strings.Repeat("!", apsCap*2), true))
	tooBig("deeply nested JSON over the cap", apsJSON(apsTransaction, deep(apsCap/2+1, "1")))
	tooBig("1 MB of parameters", apsForm(apsNotification, strings.Repeat("a=b&", 1<<18)))

	c.apsOK("signed JSON padded to exactly the cap", apsJSON(apsTransaction, padTo(apsCap, c.validJSON())))
	padForm := func(n int) string {
		f := formOf(signed(c.apsParams()))
		return f + strings.Repeat("&", n-len(f))
	}
	c.apsOK("signed form padded to the cap minus one", apsForm(apsNotification, padForm(apsCap-1)))
	c.add(Case{
		Name: "signed form padded to exactly the cap", Fn: fnAPS,
		Req:    apsForm(apsNotification, padForm(apsCap)),
		Status: 200, Code: "accepted",
	})
}

// apsRoutes: a signed message on a path that is no APS webhook.
func apsRoutes(c *corpus) {
	for _, path := range []string{
		"/aps/", "/aps/unknown", "/aps/transaction-feedbackx", "/aps/TRANSACTION-FEEDBACK",
		"/aps/transaction-feedback/extra", "/aps/notification_feedback", "/aps/transaction%2Dfeedback",
		"/aps/../shipping/notifications", "/aps/transaction-feedback\u202e", "/aps/trаnsaction-feedback",
	} {
		c.aps("route "+strconv.Quote(path), apsJSON(path, c.validJSON()), 404, "not_found", "")
	}
	c.apsOK("control: route with a trailing slash", apsJSON(apsTransaction+"/", c.validJSON()))
}

// apsContentTypes: only JSON and forms.
func apsContentTypes(c *corpus) {
	for _, ct := range []string{
		"", "text/plain", "text/html", "application/xml", "text/xml", "multipart/form-data; boundary=xyz",
		"application/octet-stream", "application/jsonp", "text/json", "application/problem+json",
		"application/vnd.api+json", "json", "garbage", "application/json, text/plain", "application/json; charset",
		";;", "application/x-www-form-urlencoded2", "аpplication/json",
	} {
		r := apsJSON(apsTransaction, c.validJSON())
		if ct == "" {
			r = withoutHeader(r, "content-type")
		} else {
			r = withHeader(r, "content-type", ct)
		}
		c.aps("content type "+strconv.Quote(ct), r, 415, "unsupported_media_type", "")
	}
	c.aps("content type text/plain on a form", withHeader(apsForm(apsNotification, formOf(signed(c.apsParams()))), "content-type", "text/plain"),
		415, "unsupported_media_type", "")
	c.aps("content type checked before the base64", harness.Request(apsNotification, "text/plain", "!!!!", true), 415, "unsupported_media_type", "")
	c.apsBad("form body sent as JSON", withHeader(apsForm(apsNotification, formOf(signed(c.apsParams()))), "content-type", "application/json"), "body")
	for _, ct := range []string{"application/json; charset=utf-8", "APPLICATION/JSON", "application/json;"} {
		c.apsOK("control: content type "+strconv.Quote(ct), withHeader(apsJSON(apsTransaction, c.validJSON()), "content-type", ct))
	}
}

// apsBrokenJSON: JSON bodies that do not parse as a flat object of scalars (400 before the
// signature, never quarantined).
func apsBrokenJSON(c *corpus) {
	bad := func(name string, body func(valid string) string, field string) {
		c.t.Helper()
		c.apsBad("JSON "+name, apsJSON(apsTransaction, body(c.validJSON())), field)
	}
	for _, v := range []struct{ name, body string }{
		{"empty", ""}, {"whitespace", " \n "}, {"an open brace", "{"}, {"a close brace", "}"}, {"an array", "[]"},
		{"an array of an object", `[{"a":"b"}]`}, {"null", "null"}, {"a string", `"x"`}, {"a number", "123"}, {"true", "true"},
		{"an empty object", "{}"}, {"a missing colon", `{"a" "b"}`}, {"a missing comma", `{"a":"b" "c":"d"}`},
		{"single quotes", `{'a':'b'}`}, {"unquoted key", `{a:"b"}`}, {"NaN", `{"a":NaN}`}, {"Infinity", `{"a":Infinity}`},
		{"a leading zero", `{"a":010}`}, {"a comment", `{"a":"b" /* c */}`}, {"a bad escape", `{"a":"\x"}`},
		{"an unterminated string", `{"a":"b`}, {"a raw newline in a string", "{\"a\":\"b\nc\"}"},
		{"a key that is a number", `{1:"b"}`}, {"an empty key", `{"":"x"}`},
		{"a top-level array 20000 deep", deep(20000, "")},
	} {
		bad(v.name, func(string) string { return v.body }, "body")
	}
	bad("a trailing comma", func(v string) string { return v[:len(v)-1] + ",}" }, "body")
	bad("data after the object", func(v string) string { return v + "x" }, "body")
	bad("two objects", func(v string) string { return v + v }, "body")
	bad("a BOM before the object", func(v string) string { return "\xef\xbb\xbf" + v }, "body")
	bad("a NUL before the object", func(v string) string { return "\x00" + v }, "body")
	bad("UTF-16LE", utf16LE, "body")
	bad("truncated", func(v string) string { return v[:len(v)/2] }, "body")
	bad("a Latin-1 byte in a value", func(v string) string { return strings.Replace(v, `"Success"`, "\"Succ\xe8s\"", 1) }, "body")
	bad("an overlong '/' in a value", func(v string) string { return strings.Replace(v, `"Success"`, "\"Suc\xc0\xafcess\"", 1) }, "body")
	bad("an overlong NUL in a value", func(v string) string { return strings.Replace(v, `"Success"`, "\"Suc\xc0\x80cess\"", 1) }, "body")
	bad("a CESU surrogate in a value", func(v string) string { return strings.Replace(v, `"Success"`, "\"Suc\xed\xa0\x80cess\"", 1) }, "body")
	bad("invalid UTF-8 in a key", func(v string) string { return v[:len(v)-1] + ",\"k\xff\":\"x\"}" }, "body")
	bad("a value 20000 deep", func(v string) string { return v[:len(v)-1] + `,"x":` + deep(20000, "1") + "}" }, "body")

	withMember := func(name, key, raw, field string) {
		c.t.Helper()
		o := apsObject(signed(c.apsParams())).set(key, raw)
		c.apsBad("JSON "+name, apsJSON(apsTransaction, o.String()), field)
	}
	withMember("amount an object", "amount", `{"value":10000}`, "amount")
	withMember("status an array", "status", `["14"]`, "status")
	withMember("signature an object", "signature", `{"sha256":"x"}`, "signature")
	withMember("an extra member 50 deep", "x", deep(50, `"y"`), "x")
	withMember("an extra empty object", "x", `{}`, "x")
	withMember("a value of 8 KiB + 1", "response_message", q(strings.Repeat("m", 8<<10+1)), "response_message")
	o := apsObject(signed(c.apsParams()))
	o = append(o, member{"amount", q("1")})
	c.apsBad("JSON amount repeated", apsJSON(apsTransaction, o.String()), "amount")
	o = apsObject(signed(c.apsParams()))
	o = append(o, member{"signature", q(strings.Repeat("0", 64))})
	c.apsBad("JSON signature repeated", apsJSON(apsTransaction, o.String()), "signature")
	many := apsObject(signed(c.apsParams()))
	for i := 0; len(many) <= 200; i++ {
		many = append(many, member{fmt.Sprintf("extra_%03d", i), q("x")})
	}
	c.apsBad("JSON 201 parameters", apsJSON(apsTransaction, many.String()), "body")
}

// apsBrokenForms: form bodies that do not decode.
func apsBrokenForms(c *corpus) {
	for _, v := range []struct{ name, form, field string }{
		{"a bad escape in a name", "%zz=1&" + formOf(signed(c.apsParams())), "body"},
		{"a truncated escape", formOf(signed(c.apsParams())) + "&a=%", "body"},
		{"a non-hex escape", formOf(signed(c.apsParams())) + "&a=%g0", "body"},
		{"a semicolon separator", strings.Replace(formOf(signed(c.apsParams())), "&", ";", 1), "body"},
		{"an empty name", "=x&" + formOf(signed(c.apsParams())), "body"},
		{"a repeated name", formOf(signed(c.apsParams())) + "&amount=1", "amount"},
		{"a repeated signature", formOf(signed(c.apsParams())) + "&signature=00", "signature"},
		{"a value that decodes to invalid UTF-8", formOf(signed(c.apsParams())) + "&a=%ff", "a"},
		{"a value with an overlong encoding", formOf(signed(c.apsParams())) + "&a=%C0%AF", "a"},
		{"a value with a CESU surrogate", formOf(signed(c.apsParams())) + "&a=%ED%A0%80", "a"},
		{"a name that decodes to invalid UTF-8", "%ff=1&" + formOf(signed(c.apsParams())), "body"},
		{"raw invalid UTF-8", formOf(signed(c.apsParams())) + "&a=\xff", "body"},
		{"only separators", "&&&", "body"},
		{"empty", "", "body"},
		{"a value of 8 KiB + 1", formOf(signed(c.apsParams())) + "&a=" + strings.Repeat("b", 8<<10+1), "a"},
		{"201 parameters", formOf(signed(c.apsParams())) + manyParams(201), "body"},
	} {
		c.apsBad("form "+v.name, apsForm(apsNotification, v.form), v.field)
	}
	c.apsBad("JSON sent as a form", withHeader(apsJSON(apsTransaction, "{\"a\":\"%zz\"}"), "content-type", "application/x-www-form-urlencoded"), "body")
}

// manyParams is "&p000=1&p001=1..." with n distinct names.
func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "&p%03d=1", i)
	}
	return b.String()
}

// apsBase64: bodies flagged isBase64Encoded that do not decode (400: nothing is authenticated).
func apsBase64(c *corpus) {
	bad := func(name, ct, body string) {
		c.aps("base64 "+name, harness.Request(apsNotification, ct, body, true), 400, "invalid_encoding", "")
	}
	const form = "application/x-www-form-urlencoded"
	f := formOf(signed(c.apsParams()))
	bad("not base64 at all", form, "!!!!")
	bad("a plain form flagged as base64", form, f)
	bad("plain JSON flagged as base64", "application/json", c.validJSON())
	for len(f)%3 == 0 {
		f += "&"
	}
	bad("without padding", form, strings.TrimRight(b64(f), "="))
	bad("URL-safe alphabet", form, strings.NewReplacer("+", "-", "/", "_").Replace(b64(f))+"-_==")
	bad("with a space inside", form, b64(f)[:12]+" "+b64(f)[12:])
	bad("truncated mid-quantum", form, b64(f)[:len(b64(f))-1])
	c.apsOK("control: base64 JSON", harness.Request(apsTransaction, "application/json", b64(c.validJSON()), true))
	c.apsOK("control: a form not base64-encoded", harness.Request(apsNotification, form, formOf(signed(c.apsParams())), false))
}

// tamper changes a value the way an attacker would.
func tamper(k, v string) string {
	switch k {
	case "amount":
		return "1"
	case "status":
		return "02"
	case "response_code":
		return "02000"
	}
	return v + "X"
}

// apsSignatures: a signature computed, then something changed; or a signature that is no
// signature.
func apsSignatures(c *corpus) {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range harness.APSParams("", "") {
			if !yield(k) {
				return
			}
		}
	})
	for _, enc := range apsEncodings {
		for _, k := range keys {
			p := signed(c.apsParams())
			p[k] = tamper(k, p[k])
			c.apsUnauthorized(enc.name+" "+k+" changed after signing", enc.req(p))
		}
	}
	for _, k := range keys {
		p := signed(c.apsParams())
		delete(p, k)
		c.apsUnauthorized("JSON "+k+" removed after signing", apsEncodings[0].req(p))
	}
	other := func() map[string]string { return signed(c.apsParams()) }
	for _, v := range []struct {
		name string
		mk   func() events.APIGatewayV2HTTPRequest
	}{
		{"signature missing", func() events.APIGatewayV2HTTPRequest {
			p := signed(c.apsParams())
			delete(p, "signature")
			return apsEncodings[0].req(p)
		}},
		{"signature empty", func() events.APIGatewayV2HTTPRequest {
			return apsJSON(apsTransaction, apsObject(signed(c.apsParams())).set("signature", `""`).String())
		}},
		{"signature null", func() events.APIGatewayV2HTTPRequest {
			return apsJSON(apsTransaction, apsObject(signed(c.apsParams())).set("signature", "null").String())
		}},
		{"signature a number", func() events.APIGatewayV2HTTPRequest {
			return apsJSON(apsTransaction, apsObject(signed(c.apsParams())).set("signature", "1234").String())
		}},
		{"signature not hex", func() events.APIGatewayV2HTTPRequest { return sigAs(c, func(s string) string { return "zz" + s[2:] }) }},
		{"signature truncated", func() events.APIGatewayV2HTTPRequest { return sigAs(c, func(s string) string { return s[:62] }) }},
		{"signature with a byte more", func() events.APIGatewayV2HTTPRequest { return sigAs(c, func(s string) string { return s + "00" }) }},
		{"signature all zeros", func() events.APIGatewayV2HTTPRequest {
			return sigAs(c, func(s string) string { return strings.Repeat("0", 64) })
		}},
		{"signature base64 instead of hex", func() events.APIGatewayV2HTTPRequest { return sigAs(c, b64) }},
		{"signature with an RTL override", func() events.APIGatewayV2HTTPRequest { return sigAs(c, func(s string) string { return "\u202e" + s }) }},
		{"signature with a NUL", func() events.APIGatewayV2HTTPRequest { return sigAs(c, func(s string) string { return s + "\x00" }) }},
		{"signature by SHA-512", func() events.APIGatewayV2HTTPRequest { return signedBy(c, apssignature.SHA512, harness.APSPhrase) }},
		{"signature by HMAC-SHA256", func() events.APIGatewayV2HTTPRequest { return signedBy(c, apssignature.HMACSHA256, harness.APSPhrase) }},
		{"signature with another phrase", func() events.APIGatewayV2HTTPRequest { return signedBy(c, apssignature.SHA256, "PASS") }},
		{"signature with the phrase trimmed", func() events.APIGatewayV2HTTPRequest {
			return signedBy(c, apssignature.SHA256, harness.APSPhrase[:len(harness.APSPhrase)-1])
		}},
		{"signature of another message", func() events.APIGatewayV2HTTPRequest {
			p := signed(c.apsParams())
			p["signature"] = other()["signature"]
			return apsEncodings[0].req(p)
		}},
		{"an unsigned parameter added", func() events.APIGatewayV2HTTPRequest {
			p := signed(c.apsParams())
			p["customer_name"] = "Mallory"
			return apsEncodings[0].req(p)
		}},
		{"a name's case changed", func() events.APIGatewayV2HTTPRequest {
			p := signed(c.apsParams())
			p["Amount"] = p["amount"]
			delete(p, "amount")
			return apsEncodings[0].req(p)
		}},
		{"a name's letter swapped for a homoglyph", func() events.APIGatewayV2HTTPRequest {
			p := signed(c.apsParams())
			p["аmount"] = p["amount"]
			delete(p, "amount")
			return apsEncodings[0].req(p)
		}},
		{"an RTL override added to a value", func() events.APIGatewayV2HTTPRequest {
			p := signed(c.apsParams())
			p["customer_email"] = "\u202e" + p["customer_email"]
			return apsEncodings[0].req(p)
		}},
		{"a NUL added to a value", func() events.APIGatewayV2HTTPRequest {
			p := signed(c.apsParams())
			p["merchant_reference"] += "\x00"
			return apsEncodings[1].req(p)
		}},
		{"a space added to a value", func() events.APIGatewayV2HTTPRequest {
			p := signed(c.apsParams())
			p["amount"] += " "
			return apsEncodings[1].req(p)
		}},
		{"a value decomposed (NFD) after signing as NFC", func() events.APIGatewayV2HTTPRequest {
			p := c.apsParams()
			p["customer_name"] = "Zoé"
			p = signed(p)
			p["customer_name"] = "Zoe\u0301"
			return apsEncodings[0].req(p)
		}},
		{"amount re-serialised as the number 10000.0 after signing", func() events.APIGatewayV2HTTPRequest {
			p := signed(c.apsParams())
			return apsJSON(apsTransaction, apsObject(p).set("amount", "10000.0").String())
		}},
	} {
		c.apsUnauthorized(v.name, v.mk())
	}
	c.apsOK("control: signature in upper case", sigAs(c, strings.ToUpper))
	c.apsOK("control: signature with surrounding spaces", sigAs(c, func(s string) string { return " " + s + " " }))
}

// sigAs is a signed JSON message whose signature is then rewritten by f.
func sigAs(c *corpus, f func(string) string) events.APIGatewayV2HTTPRequest {
	p := signed(c.apsParams())
	p["signature"] = f(p["signature"])
	return apsEncodings[0].req(p)
}

// signedBy is a JSON message signed by alg and phrase.
func signedBy(c *corpus, alg apssignature.Algorithm, phrase string) events.APIGatewayV2HTTPRequest {
	p := c.apsParams()
	p["signature"] = apsSign(alg, phrase, p)
	return apsEncodings[0].req(p)
}

// apsMerchants: correctly signed with the phrase, but naming another merchant: no phrase set.
func apsMerchants(c *corpus) {
	for _, v := range []struct {
		name string
		edit func(p map[string]string)
	}{
		{"another merchant identifier", func(p map[string]string) { p["merchant_identifier"] = "OtherMer" }},
		{"another access code", func(p map[string]string) { p["access_code"] = "zzzzpo7pWbmzuURp2qri" }},
		{"merchant identifier missing", func(p map[string]string) { delete(p, "merchant_identifier") }},
		{"access code missing", func(p map[string]string) { delete(p, "access_code") }},
		{"both missing", func(p map[string]string) { delete(p, "merchant_identifier"); delete(p, "access_code") }},
		{"merchant identifier empty", func(p map[string]string) { p["merchant_identifier"] = "" }},
		{"merchant identifier with a trailing space", func(p map[string]string) { p["merchant_identifier"] += " " }},
		{"merchant identifier in lower case", func(p map[string]string) { p["merchant_identifier"] = strings.ToLower(p["merchant_identifier"]) }},
		{"merchant identifier with a homoglyph", func(p map[string]string) { p["merchant_identifier"], _ = homoglyph(p["merchant_identifier"]) }},
		{"merchant identifier with a NUL", func(p map[string]string) { p["merchant_identifier"] += "\x00" }},
		{"access code with a zero-width space", func(p map[string]string) { p["access_code"] += "\u200b" }},
		{"merchant identifier key with a homoglyph", func(p map[string]string) {
			p["mеrchant_identifier"] = p["merchant_identifier"]
			delete(p, "merchant_identifier")
		}},
	} {
		for _, enc := range apsEncodings {
			p := c.apsParams()
			v.edit(p)
			c.apsNoPhraseSet(enc.name+" signed, "+v.name, enc.req(signed(p)))
		}
	}
	for _, v := range []struct{ name, key, raw string }{
		{"merchant identifier a number", "merchant_identifier", "12345"},
		{"merchant identifier null", "merchant_identifier", "null"},
		{"access code true", "access_code", "true"},
	} {
		o := signObject(apsObject(c.apsParams()).set(v.key, v.raw))
		c.apsNoPhraseSet("JSON signed, "+v.name, apsJSON(apsTransaction, o.String()))
	}
}

// apsValidation: correctly signed messages that fail validation are quarantined.
func apsValidation(c *corpus) {
	type edit struct {
		name, field string
		f           func(p map[string]string)
	}
	set := func(k, v string) func(map[string]string) { return func(p map[string]string) { p[k] = v } }
	edits := []edit{
		{"status of 1 digit", "status", set("status", "1")},
		{"status of 3 digits", "status", set("status", "145")},
		{"status letters", "status", set("status", "ab")},
		{"status negative", "status", set("status", "-1")},
		{"status with a plus", "status", set("status", "+1")},
		{"status with a letter", "status", set("status", "1a")},
		{"status in Arabic-Indic digits", "status", set("status", "١٤")},
		{"status in full-width digits", "status", set("status", "１４")},
		{"status with an RTL override", "status", set("status", "\u202e14")},
		{"status with a NUL", "status", set("status", "14\x00")},
		{"status padded", "status", set("status", " 14")},
		{"response code of 4 digits", "response_code", set("response_code", "1400")},
		{"response code of 6 digits", "response_code", set("response_code", "140000")},
		{"response code for another status", "response_code", set("response_code", "15000")},
		{"response code with a letter", "response_code", set("response_code", "14x00")},
		{"response code with a plus", "response_code", set("response_code", "+1400")},
		{"response code negative", "response_code", set("response_code", "-1400")},
		{"response code in Arabic-Indic digits", "response_code", set("response_code", "١٤٠٠٠")},
		{"status and response code missing", "status", func(p map[string]string) { delete(p, "status"); delete(p, "response_code") }},
		{"status and response code empty", "status", func(p map[string]string) { p["status"], p["response_code"] = "", "" }},
		{"amount with decimals", "amount", set("amount", "100.00")},
		{"amount negative", "amount", set("amount", "-100")},
		{"amount with an exponent", "amount", set("amount", "1e5")},
		{"amount letters", "amount", set("amount", "abc")},
		{"amount with a thousands separator", "amount", set("amount", "1,000")},
		{"amount hexadecimal", "amount", set("amount", "0x10")},
		{"amount of 19 digits", "amount", set("amount", "1234567890123456789")},
		{"amount padded", "amount", set("amount", " 100")},
		{"amount in Arabic-Indic digits", "amount", set("amount", "١٠٠")},
		{"amount with a NUL", "amount", set("amount", "100\x00")},
		{"currency in lower case", "currency", set("currency", "aed")},
		{"currency of 2 letters", "currency", set("currency", "AE")},
		{"currency of 4 letters", "currency", set("currency", "AEDX")},
		{"currency with a digit", "currency", set("currency", "A3D")},
		{"currency with an umlaut", "currency", set("currency", "ÄED")},
		{"currency with a homoglyph", "currency", set("currency", "АED")},
		{"currency empty with an amount", "currency", set("currency", "")},
		{"currency missing with an amount", "currency", func(p map[string]string) { delete(p, "currency") }},
	}
	for _, e := range edits {
		p := c.apsParams()
		e.f(p)
		c.apsQuarantined("JSON signed, "+e.name, apsEncodings[0].req(signed(p)), e.field)
	}
	for _, e := range edits {
		switch e.name {
		case "status of 1 digit", "response code for another status", "status and response code missing",
			"amount with decimals", "currency in lower case", "status with an RTL override", "amount with a NUL":
			p := c.apsParams()
			e.f(p)
			c.apsQuarantined("form signed, "+e.name, apsEncodings[1].req(signed(p)), e.field)
		}
	}
	p := c.apsParams()
	p["amount"] = "999999999999999999"
	c.apsOK("control: amount of 18 digits", apsEncodings[0].req(signed(p)))
	p = c.apsParams()
	delete(p, "status")
	c.apsOK("control: response code without status", apsEncodings[0].req(signed(p)))
	p = c.apsParams()
	delete(p, "amount")
	delete(p, "currency")
	c.apsOK("control: no amount and no currency", apsEncodings[0].req(signed(p)))
}

// apsTypes: JSON values that are not strings, signed as APS signs them (their JSON text).
func apsTypes(c *corpus) {
	for _, v := range []struct {
		name, key, raw string
		want           byte
	}{
		{"amount a number", "amount", "10000", ok},
		{"amount a fractional number", "amount", "10.5", atField},
		{"amount a number with an exponent", "amount", "1e5", atField},
		{"amount a negative number", "amount", "-1", atField},
		{"amount true", "amount", "true", atField},
		{"amount null", "amount", "null", ok},
		{"status a number", "status", "14", ok},
		{"status true", "status", "true", atField},
		{"status null", "status", "null", ok},
		{"status a fractional number", "status", "14.0", atField},
		{"response code a number", "response_code", "14000", ok},
		{"response code null", "response_code", "null", ok},
		{"currency a number", "currency", "784", atField},
		{"currency null", "currency", "null", atField},
		{"fort id a number", "fort_id", "170000000000001", ok},
		{"card number true", "card_number", "true", ok},
		{"eci false", "eci", "false", ok},
		{"customer email null", "customer_email", "null", ok},
	} {
		o := signObject(apsObject(c.apsParams()).set(v.key, v.raw))
		name := "JSON signed, " + v.name
		if v.want == ok {
			c.apsOK(name, apsJSON(apsTransaction, o.String()))
		} else {
			c.apsQuarantined(name, apsJSON(apsTransaction, o.String()), v.key)
		}
	}
}

// apsUnicode: Unicode tricks in signed messages. APS signed them, so a value the gateway does not
// validate is accepted; a name that hides the merchant is not.
func apsUnicode(c *corpus) {
	for _, v := range []struct {
		name, key, value string
	}{
		{"a NUL in the merchant reference", "merchant_reference", "\x00"},
		{"an RTL override in the customer email", "customer_email", "\u202e"},
		{"a BOM in the response message", "response_message", "\ufeff"},
		{"a zero-width joiner in the fort id", "fort_id", "\u200d"},
		{"an emoji in the response message", "response_message", "\U0001F4B8"},
	} {
		for _, enc := range apsEncodings {
			p := c.apsParams()
			p[v.key] += v.value
			c.apsOK(enc.name+" signed, "+v.name, enc.req(signed(p)))
		}
	}
	p := c.apsParams()
	p["command"], _ = homoglyph(p["command"])
	c.aps("JSON signed, a homoglyph in the command", apsEncodings[0].req(signed(p)), 202, "ambiguous_parameters", "command")
	for _, key := range []string{"mеrchant_identifier", "\u202emerchant_identifier", "merchant_identifier\x00", "\ufeffamount"} {
		p := c.apsParams()
		p[key] = "MxvOupuG"
		c.apsOK("JSON signed, an extra parameter "+strconv.QuoteToASCII(key), apsEncodings[0].req(signed(p)))
	}
	o := apsObject(c.apsParams())
	ref, _ := o.get("merchant_reference")
	o = signObject(o.set("merchant_reference", strings.TrimSuffix(ref, `"`)+`\ud800"`))
	c.apsOK("JSON signed, an unpaired surrogate escape in the merchant reference", apsJSON(apsTransaction, o.String()))
	p = c.apsParams()
	p["status"] = "١٤"
	delete(p, "response_code")
	c.apsQuarantined("form signed, status in Arabic-Indic digits without a response code", apsEncodings[1].req(signed(p)), "status")
}

// apsControls: authentic messages, and a redelivery.
func apsControls(c *corpus) {
	for _, enc := range apsEncodings {
		c.apsOK("control: "+enc.name, enc.req(signed(c.apsParams())))
	}
	c.apsOK("control: JSON on the notification route", apsJSON(apsNotification, c.validJSON()))
	c.apsOK("control: form on the transaction route", apsForm(apsTransaction, formOf(signed(c.apsParams()))))
	orig := apsEncodings[0].req(signed(c.apsParams()))
	c.add(Case{Name: "replay of a processed message", Fn: fnAPS, Req: clone(orig), Status: 200, Code: "duplicate",
		Before: []events.APIGatewayV2HTTPRequest{orig}})
	form := apsEncodings[1].req(signed(c.apsParams()))
	c.add(Case{Name: "replay of a processed form", Fn: fnAPS, Req: clone(form), Status: 200, Code: "duplicate",
		Before: []events.APIGatewayV2HTTPRequest{form}})
}
