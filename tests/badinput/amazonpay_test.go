package badinput

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
)

// Amazon Pay IPN (SNS): text/plain, JSON or no content type (else 415); a body that is no SNS
// message 400; a bad signature 401; a topic not allowed 403; a verified message 200 (202 when
// processing fails for a reason a retry will not fix).

const snsTimestamp = "2006-01-02T15:04:05.000Z"

// ipnMsg is a signed SNS notification of an Amazon Pay charge IPN, with a MessageId no other case
// has; pre changes it before it is signed.
func (c *corpus) ipnMsg(pre func(m *snsverify.Message)) *snsverify.Message {
	n := c.seq()
	m := &snsverify.Message{
		Type: snsverify.TypeNotification, MessageID: fmt.Sprintf("b1d0%04d-5e2f-4c3a-9d1b-0badc0de%04d", n/10000, n%10000),
		TopicARN: harness.TopicARN, Subject: "Amazon Pay IPN", Message: harness.ChargeMessage(fmt.Sprintf("C%05d", n)),
		Timestamp:      time.Now().UTC().Format(snsTimestamp),
		UnsubscribeURL: "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
	}
	if pre != nil {
		pre(m)
	}
	c.env.sns.Sign(m)
	return m
}

// confirmation is a signed SubscriptionConfirmation (or UnsubscribeConfirmation) whose token no
// other case has; pre changes it before it is signed.
func (c *corpus) confirmation(typ string, pre func(m *snsverify.Message)) *snsverify.Message {
	return c.ipnMsg(func(m *snsverify.Message) {
		token := fmt.Sprintf("2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a98866%04d", c.seq())
		c.tokens = append(c.tokens, token)
		m.Type, m.Token, m.Subject = typ, token, ""
		m.Message = "You have chosen to subscribe to the topic " + harness.TopicARN + ".\nTo confirm the subscription, visit the SubscribeURL included in this message."
		m.SubscribeURL = c.env.sns.SubscribeURL(token)
		m.UnsubscribeURL = ""
		if pre != nil {
			pre(m)
		}
	})
}

// ipnObject is m as SNS posts it, members in SNS's order, empty optional fields left out.
func ipnObject(m *snsverify.Message) object {
	o := object{{"Type", q(m.Type)}, {"MessageId", q(m.MessageID)}}
	if m.Token != "" {
		o = append(o, member{"Token", q(m.Token)})
	}
	o = append(o, member{"TopicArn", q(m.TopicARN)})
	if m.Subject != "" {
		o = append(o, member{"Subject", q(m.Subject)})
	}
	o = append(o, member{"Message", q(m.Message)})
	if m.SubscribeURL != "" {
		o = append(o, member{"SubscribeURL", q(m.SubscribeURL)})
	}
	o = append(o, object{
		{"Timestamp", q(m.Timestamp)}, {"SignatureVersion", q(m.SignatureVersion)}, {"Signature", q(m.Signature)},
		{"SigningCertURL", q(m.SigningCertURL)},
	}...)
	if m.UnsubscribeURL != "" {
		o = append(o, member{"UnsubscribeURL", q(m.UnsubscribeURL)})
	}
	return o
}

// ipnRaw is body delivered as SNS delivers a notification.
func ipnRaw(body string) events.APIGatewayV2HTTPRequest {
	r := harness.Request(amazonPayIPNPath, "text/plain; charset=UTF-8", body, false)
	r.Headers["x-amz-sns-message-type"] = snsverify.TypeNotification
	return r
}

// ipn is m's delivery.
func ipn(m *snsverify.Message) events.APIGatewayV2HTTPRequest { return harness.AmazonPay(m) }

// after is a message signed, then changed by post (which the signature does not cover).
func (c *corpus) after(post func(m *snsverify.Message)) events.APIGatewayV2HTTPRequest {
	m := c.ipnMsg(nil)
	post(m)
	return ipn(m)
}

func (c *corpus) pay(name string, req events.APIGatewayV2HTTPRequest, status int, code string) {
	c.t.Helper()
	c.add(Case{Name: name, Fn: fnAmazonPay, Req: req, Status: status, Code: code})
}

func (c *corpus) payOK(name string, req events.APIGatewayV2HTTPRequest) {
	c.t.Helper()
	c.pay(name, req, 200, "accepted")
}

func (c *corpus) payBad(name string, req events.APIGatewayV2HTTPRequest) {
	c.t.Helper()
	c.pay(name, req, 400, "invalid_payload")
}

func (c *corpus) payUnauthorized(name string, req events.APIGatewayV2HTTPRequest) {
	c.t.Helper()
	c.pay(name, req, 401, "unauthorized")
}

func amazonPayCases(c *corpus) {
	amazonPayEarly(c)
	amazonPayContentTypes(c)
	amazonPayBrokenJSON(c)
	amazonPayFields(c)
	amazonPaySignatures(c)
	amazonPayCertURLs(c)
	amazonPayTopics(c)
	amazonPayVerified(c)
	amazonPayConfirmations(c)
	amazonPayForgeries(c)
	amazonPayV2(c)
}

// amazonPayEarly: 405 and 413 before anything else.
func amazonPayEarly(c *corpus) {
	for _, m := range methods {
		c.pay("method "+m, withMethod(ipn(c.ipnMsg(nil)), m), 405, "method_not_allowed")
	}
	c.pay("method GET with a body over the cap", withMethod(ipnRaw(overCap(amazonPayCap+1)), "GET"), 405, "method_not_allowed")
	tooBig := func(name string, req events.APIGatewayV2HTTPRequest) { c.pay(name, req, 413, "payload_too_large") }
	tooBig("one byte over the cap", ipnRaw(overCap(amazonPayCap+1)))
	tooBig("over the cap with a wrong content type (before 415)", withHeader(ipnRaw(overCap(amazonPayCap+1)), "content-type", "image/png"))
	tooBig("signed message padded past the cap", ipnRaw(padTo(amazonPayCap+1, ipnObject(c.ipnMsg(nil)).String())))
	tooBig("base64 over the cap", withBody(ipnRaw(""), b64(overCap(amazonPayCap+3)), true))
	tooBig("broken JSON over the cap", ipnRaw(strings.Repeat("{", amazonPayCap+1)))
	tooBig("deeply nested over the cap", ipnRaw(deep(amazonPayCap/2+1, "1")))

	c.payOK("signed message padded to exactly the cap", ipnRaw(padTo(amazonPayCap, ipnObject(c.ipnMsg(nil)).String())))
	c.payOK("base64 message decoding to the cap minus two", withBody(ipnRaw(""), b64(padTo(amazonPayCap-2, ipnObject(c.ipnMsg(nil)).String())), true))
	for _, under := range []int{0, 1} {
		c.add(Case{
			Name: fmt.Sprintf("base64 message decoding to the cap minus %d", under), Fn: fnAmazonPay,
			Req:    withBody(ipnRaw(""), b64(padTo(amazonPayCap-under, ipnObject(c.ipnMsg(nil)).String())), true),
			Status: 200, Code: "accepted",
		})
	}
}

// amazonPayContentTypes: text/plain, JSON or none.
func amazonPayContentTypes(c *corpus) {
	for _, ct := range []string{
		"application/x-www-form-urlencoded", "text/html", "application/xml", "text/xml", "multipart/form-data; boundary=x",
		"application/octet-stream", "application/jsonp", "text/json", "garbage", "text/plain2", "text/plain, application/json",
		"text/plain; charset", "image/png", ";;", "tеxt/plain",
	} {
		c.pay("content type "+strconv.Quote(ct), withHeader(ipn(c.ipnMsg(nil)), "content-type", ct), 415, "unsupported_media_type")
	}
	c.pay("content type checked before the base64", withBody(withHeader(ipnRaw(""), "content-type", "text/html"), "!!!!", true), 415, "unsupported_media_type")
	for _, ct := range []string{"text/plain", "TEXT/PLAIN", "text/plain; charset=ISO-8859-1", "application/json", "application/problem+json"} {
		c.payOK("control: content type "+strconv.Quote(ct), withHeader(ipn(c.ipnMsg(nil)), "content-type", ct))
	}
	c.payOK("control: no content type", withoutHeader(ipn(c.ipnMsg(nil)), "content-type"))

	bad := func(name, body string) {
		c.pay("base64 "+name, withBody(ipnRaw(""), body, true), 400, "invalid_encoding")
	}
	valid := ipnObject(c.ipnMsg(nil)).String()
	bad("not base64 at all", "!!!!")
	bad("plain JSON flagged as base64", valid)
	for len(valid)%3 == 0 {
		valid += " "
	}
	bad("without padding", strings.TrimRight(b64(valid), "="))
	bad("URL-safe alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(b64(valid))+"-_==")
	bad("with a space inside", b64(valid)[:12]+" "+b64(valid)[12:])
	c.payOK("control: base64 message", withBody(ipnRaw(""), b64(ipnObject(c.ipnMsg(nil)).String()), true))
	c.payBad("base64 of something else", withBody(ipnRaw(""), b64("hello"), true))
}

// amazonPayBrokenJSON: bodies that are not a JSON object.
func amazonPayBrokenJSON(c *corpus) {
	for _, v := range []struct{ name, body string }{
		{"empty", ""}, {"whitespace", " \n\t "}, {"an open brace", "{"}, {"a close brace", "}"}, {"an array", "[]"},
		{"null", "null"}, {"a string", `"x"`}, {"a number", "1"}, {"an empty object", "{}"}, {"single quotes", `{'Type':'Notification'}`},
		{"an unquoted key", `{Type:"Notification"}`}, {"a number key", `{1:2}`}, {"a bad escape", `{"Type":"\x"}`},
		{"a raw newline in a string", "{\"Type\":\"Noti\nfication\"}"}, {"an array 20000 deep", deep(20000, "")},
		{"form-encoded", "Type=Notification&MessageId=x"}, {"XML", "<Notification/>"},
	} {
		c.payBad("JSON "+v.name, ipnRaw(v.body))
	}
	for _, v := range []struct {
		name string
		mk   func(valid string) string
	}{
		{"truncated", func(v string) string { return v[:len(v)/2] }},
		{"a trailing comma", func(v string) string { return v[:len(v)-1] + ",}" }},
		{"data after the object", func(v string) string { return v + "x" }},
		{"two objects", func(v string) string { return v + v }},
		{"a BOM before the object", func(v string) string { return "\xef\xbb\xbf" + v }},
		{"a NUL before the object", func(v string) string { return "\x00" + v }},
		{"a comment", func(v string) string { return "/* c */" + v }},
		{"UTF-16LE", utf16LE},
		{"a member 20000 deep", func(v string) string { return v[:len(v)-1] + `,"x":` + deep(20000, "1") + "}" }},
		{"invalid UTF-8 outside strings", func(v string) string { return v[:len(v)-1] + ",\xff}" }},
		{"an array of the message", func(v string) string { return "[" + v + "]" }},
	} {
		c.payBad("JSON "+v.name, ipnRaw(v.mk(ipnObject(c.ipnMsg(nil)).String())))
	}
}

// ipnFields are the members every SNS message must carry.
var ipnFields = []string{"Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL"}

// amazonPayFields: each required member missing, empty, null, of the wrong type, or under a
// look-alike name; and members repeated or of unknown values.
func amazonPayFields(c *corpus) {
	for _, f := range ipnFields {
		for _, v := range []struct {
			name string
			edit func(o object) object
		}{
			{"missing", func(o object) object { return o.del(f) }},
			{"null", func(o object) object { return o.set(f, "null") }},
			{"empty", func(o object) object { return o.set(f, `""`) }},
			{"blank", func(o object) object { return o.set(f, `"   "`) }},
			{"a number", func(o object) object { return o.set(f, "1") }},
			{"a boolean", func(o object) object { return o.set(f, "false") }},
			{"an object", func(o object) object { return o.set(f, `{"value":"x"}`) }},
			{"an array", func(o object) object { return o.set(f, `["x"]`) }},
			{"key in lower case", func(o object) object { return o.rename(f, strings.ToLower(f)) }},
			{"key with a homoglyph", func(o object) object { k, _ := homoglyph(f); return o.rename(f, k) }},
		} {
			want := 400
			switch {
			case v.name != "blank":
			case f == "Type":
				// "   " is no Type: malformed.
			case f == "TopicArn":
				want = 403 // parsed, then not on the allow-list
			case f == "Timestamp":
				// not RFC 3339: malformed
			case f == "MessageId":
				// not SNS's lower-case UUID: malformed
			default:
				want = 401 // parsed, then the signature (or its version or URL) fails
			}
			req := ipnRaw(v.edit(ipnObject(c.ipnMsg(nil))).String())
			switch want {
			case 400:
				c.payBad("field "+f+" "+v.name, req)
			case 401:
				c.payUnauthorized("field "+f+" "+v.name, req)
			case 403:
				c.pay("field "+f+" "+v.name, req, 403, "forbidden")
			}
		}
	}
	for _, v := range []struct {
		name string
		edit func(o object) object
	}{
		{"Subject a number", func(o object) object { return o.set("Subject", "1") }},
		{"UnsubscribeURL an object", func(o object) object { return o.set("UnsubscribeURL", "{}") }},
		{"Token a number on a notification", func(o object) object { return o.set("Token", "1") }},
		{"SubscribeURL an array on a notification", func(o object) object { return o.set("SubscribeURL", "[]") }},
		{"Type repeated", func(o object) object { return append(o, member{"Type", q(snsverify.TypeNotification)}) }},
		{"Signature repeated", func(o object) object { s, _ := o.get("Signature"); return append(o, member{"Signature", s}) }},
		{"SigningCertURL and SigningCertUrl", func(o object) object {
			u, _ := o.get("SigningCertURL")
			return append(o, member{"SigningCertUrl", u})
		}},
		{"Type in lower case", func(o object) object { return o.set("Type", q("notification")) }},
		{"Type unknown", func(o object) object { return o.set("Type", q("Notify")) }},
		{"Type with a trailing space", func(o object) object { return o.set("Type", q("Notification ")) }},
		{"Type with an RTL override", func(o object) object { return o.set("Type", q("\u202eNotification")) }},
		{"Type SubscriptionConfirmation without Token", func(o object) object {
			return o.set("Type", q(snsverify.TypeSubscriptionConfirmation)).set("SubscribeURL", q("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"))
		}},
		{"Type UnsubscribeConfirmation without SubscribeURL", func(o object) object {
			return o.set("Type", q(snsverify.TypeUnsubscribeConfirmation)).set("Token", q("abc"))
		}},
		{"Timestamp without a zone", func(o object) object { return o.set("Timestamp", q("2026-01-02T03:04:05.000")) }},
		{"Timestamp with a space", func(o object) object { return o.set("Timestamp", q("2026-01-02 03:04:05Z")) }},
		{"Timestamp in epoch seconds", func(o object) object { return o.set("Timestamp", q("1767323045")) }},
		{"Timestamp month 13", func(o object) object { return o.set("Timestamp", q("2026-13-02T03:04:05.000Z")) }},
		{"Timestamp a word", func(o object) object { return o.set("Timestamp", q("yesterday")) }},
		{"Timestamp with an RTL override", func(o object) object { return o.set("Timestamp", q("\u202e2026-01-02T03:04:05.000Z")) }},
	} {
		c.payBad("field "+v.name, ipnRaw(v.edit(ipnObject(c.ipnMsg(nil))).String()))
	}
}

// amazonPaySignatures: a message signed, then changed; or signed by someone else.
func amazonPaySignatures(c *corpus) {
	sig := func(m *snsverify.Message) []byte {
		b, err := base64.StdEncoding.DecodeString(m.Signature)
		if err != nil {
			c.t.Fatal(err)
		}
		return b
	}
	for _, v := range []struct {
		name string
		post func(m *snsverify.Message)
	}{
		{"Message changed", func(m *snsverify.Message) { m.Message = strings.Replace(m.Message, `"CHARGE"`, `"REFUND"`, 1) }},
		{"Message re-serialised with spaces", func(m *snsverify.Message) { m.Message = strings.ReplaceAll(m.Message, `":"`, `": "`) }},
		{"Message with an RTL override added", func(m *snsverify.Message) { m.Message = "\u202e" + m.Message }},
		{"Message with a NUL added", func(m *snsverify.Message) { m.Message += "\x00" }},
		{"MessageId changed", func(m *snsverify.Message) { m.MessageID = "00000000-0000-0000-0000-000000000000" }},
		{"Timestamp changed by a millisecond", func(m *snsverify.Message) {
			t, _ := time.Parse(snsTimestamp, m.Timestamp)
			m.Timestamp = t.Add(time.Millisecond).Format(snsTimestamp)
		}},
		{"Timestamp moved a day on", func(m *snsverify.Message) {
			t, _ := time.Parse(snsTimestamp, m.Timestamp)
			m.Timestamp = t.Add(24 * time.Hour).Format(snsTimestamp)
		}},
		{"Subject changed", func(m *snsverify.Message) { m.Subject = "Amazon Pay Refund" }},
		{"Subject removed", func(m *snsverify.Message) { m.Subject = "" }},
		{"Type changed to UnsubscribeConfirmation", func(m *snsverify.Message) {
			m.Type, m.Token, m.SubscribeURL = snsverify.TypeUnsubscribeConfirmation, "tok", c.env.sns.SubscribeURL("tok")
		}},
		{"Signature of another message", func(m *snsverify.Message) { m.Signature = c.ipnMsg(nil).Signature }},
		{"Signature not base64", func(m *snsverify.Message) { m.Signature = "!!" + m.Signature[2:] }},
		{"Signature truncated", func(m *snsverify.Message) { m.Signature = base64.StdEncoding.EncodeToString(sig(m)[:128]) }},
		{"Signature with a bit flipped", func(m *snsverify.Message) {
			s := sig(m)
			s[100] ^= 1
			m.Signature = base64.StdEncoding.EncodeToString(s)
		}},
		{"Signature in URL-safe base64", func(m *snsverify.Message) {
			s := base64.URLEncoding.EncodeToString(sig(m))
			if s == m.Signature {
				s += "_"
			}
			m.Signature = s
		}},
		{"Signature with a byte more", func(m *snsverify.Message) { m.Signature = base64.StdEncoding.EncodeToString(append(sig(m), 0)) }},
		{"Signature of the hex digest", func(m *snsverify.Message) {
			m.Signature = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("ab", 32)))
		}},
		{"re-signed with another key", func(m *snsverify.Message) {
			if err := snsverify.Sign(m, otherKey()); err != nil {
				c.t.Fatal(err)
			}
		}},
		{"a SHA1 signature labelled version 2", func(m *snsverify.Message) {
			m.SignatureVersion = "1"
			c.env.sns.Sign(m)
			m.SignatureVersion = "2"
		}},
		{"a SHA256 signature labelled version 1", func(m *snsverify.Message) { m.SignatureVersion = "1" }},
	} {
		c.payUnauthorized("signed, then "+v.name, c.after(v.post))
	}
	noSubject := c.ipnMsg(func(m *snsverify.Message) { m.Subject = "" })
	noSubject.Subject = "Amazon Pay IPN"
	c.payUnauthorized("signed, then the Subject added", ipn(noSubject))
	for _, v := range []string{"3", "0", "2.0", " 2", "v2", "２", "1 ", "SHA256withRSA", "-1"} {
		c.payUnauthorized("SignatureVersion "+strconv.Quote(v), c.after(func(m *snsverify.Message) { m.SignatureVersion = v }))
	}
	for _, v := range []struct{ name, raw string }{
		{"invalid UTF-8 in the Message after signing", "\xff"},
		{"an overlong encoding in the Message after signing", "\xc0\xaf"},
	} {
		o := ipnObject(c.ipnMsg(nil))
		msg, _ := o.get("Message")
		c.payUnauthorized(v.name, ipnRaw(o.set("Message", strings.TrimSuffix(msg, `"`)+v.raw+`"`).String()))
	}
}

// amazonPayCertURLs: the certificate URL is not signed, so it is checked before it is fetched.
func amazonPayCertURLs(c *corpus) {
	cert := c.env.sns.CertURL() // https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem
	path := strings.TrimPrefix(cert, "https://sns.eu-west-1.amazonaws.com")
	for _, v := range []struct{ name, url string }{
		{"http", "http://sns.eu-west-1.amazonaws.com" + path},
		{"another host", "https://evil.example.com" + path},
		{"an SNS-looking suffix", "https://sns.eu-west-1.amazonaws.com.evil.example.com" + path},
		{"an SNS-looking prefix", "https://evil-sns.eu-west-1.amazonaws.com" + path},
		{"no region", "https://sns.amazonaws.com" + path},
		{"a two-letter region", "https://sns.eu.amazonaws.com" + path},
		{"an upper-case host", "https://SNS.eu-west-1.amazonaws.com" + path},
		{"a homoglyph host", "https://sns.eu-west-1.аmazonaws.com" + path},
		{"a port", "https://sns.eu-west-1.amazonaws.com:443" + path},
		{"userinfo", "https://user@sns.eu-west-1.amazonaws.com" + path},
		{"userinfo hiding the host", "https://sns.eu-west-1.amazonaws.com@evil.example.com" + path},
		{"a query", cert + "?x=1"},
		{"an empty query", cert + "?"},
		{"a fragment", cert + "#x"},
		{"not .pem", strings.TrimSuffix(cert, ".pem") + ".crt"},
		{".pem not at the end", cert + ".txt"},
		{"ftp", "ftp://sns.eu-west-1.amazonaws.com" + path},
		{"no scheme", "//sns.eu-west-1.amazonaws.com" + path},
		{"a relative path", path},
		{"no host", "https:///" + path},
		{"a file URL", "file:///etc/ssl/cert.pem"},
		{"an IP address", "https://127.0.0.1" + path},
		{"localhost", "https://localhost" + path},
		{"a backslash host", "https:\\\\sns.eu-west-1.amazonaws.com" + path},
	} {
		c.payUnauthorized("SigningCertURL "+v.name, c.after(func(m *snsverify.Message) { m.SigningCertURL = v.url }))
	}
	// Only SNS's own spelling of a certificate URL in the topic's region is fetched.
	for _, v := range []struct{ name, url string }{
		{"a double slash", "https://sns.eu-west-1.amazonaws.com//x.pem"},
		{"a dot segment", "https://sns.eu-west-1.amazonaws.com/." + path},
		{"a dot-dot segment", "https://sns.eu-west-1.amazonaws.com/x/.." + path},
		{"an escaped letter", "https://sns.eu-west-1.amazonaws.com/%53" + strings.TrimPrefix(path, "/S")},
		{"another file name", "https://sns.eu-west-1.amazonaws.com/x.pem"},
		{"upper-case hex", "https://sns.eu-west-1.amazonaws.com" + strings.ToUpper(strings.TrimSuffix(path, ".pem")) + ".pem"},
		{"another region than the topic's", "https://sns.ap-south-1.amazonaws.com" + path},
		{"the China partition's host", "https://sns.cn-north-1.amazonaws.com.cn" + path},
		{"an S3 bucket host", "https://sns.s3.amazonaws.com" + path},
		{"a legacy S3 regional bucket host", "https://sns.s3-eu-west-1.amazonaws.com" + path},
		{"a legacy S3 external bucket host", "https://sns.s3-external-1.amazonaws.com" + path},
		{"that answers a redirect to the certificate", c.env.sns.RedirectCertURL()},
	} {
		c.payUnauthorized("SigningCertURL "+v.name, c.after(func(m *snsverify.Message) { m.SigningCertURL = v.url }))
	}
	// A message signed by SNS long ago is a replay: refused before any certificate fetch.
	c.payUnauthorized("validly signed message sent 25 hours ago", ipn(c.ipnMsg(func(m *snsverify.Message) {
		m.Timestamp = time.Now().Add(-25 * time.Hour).UTC().Format(snsTimestamp)
	})))
	c.payUnauthorized("validly signed message dated an hour ahead", ipn(c.ipnMsg(func(m *snsverify.Message) {
		m.Timestamp = time.Now().Add(time.Hour).UTC().Format(snsTimestamp)
	})))
	// An SNS URL is fetched: when SNS answers that nothing is there (4xx), the message is forged.
	c.payUnauthorized("SigningCertURL on an SNS host where no certificate is", c.after(func(m *snsverify.Message) {
		m.SigningCertURL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-missing.pem"
	}))
	c.payOK("control: SigningCertUrl spelt as Lambda's SNS events spell it", ipnRaw(ipnObject(c.ipnMsg(nil)).rename("SigningCertURL", "SigningCertUrl").String()))
}

// amazonPayTopics: a topic not on the allow-list is refused, however it is signed.
func amazonPayTopics(c *corpus) {
	homo, _ := homoglyph(harness.TopicARN)
	for _, v := range []struct{ name, topic string }{
		{"another topic", "arn:aws:sns:eu-west-1:123456789012:someone-else"},
		{"another account", strings.Replace(harness.TopicARN, "123456789012", "210987654321", 1)},
		{"another region", strings.Replace(harness.TopicARN, "eu-west-1", "us-east-1", 1)},
		{"a trailing space", harness.TopicARN + " "},
		{"upper case", strings.ToUpper(harness.TopicARN)},
		{"a homoglyph", homo},
		{"a prefix of the allowed one", harness.TopicARN[:len(harness.TopicARN)-4]},
		{"the allowed one extended", harness.TopicARN + "-2"},
		{"an RTL override", "\u202e" + harness.TopicARN},
		{"a wildcard", "arn:aws:sns:eu-west-1:123456789012:*"},
	} {
		c.pay("topic "+v.name+", signed", ipn(c.ipnMsg(func(m *snsverify.Message) { m.TopicARN = v.topic })), 403, "forbidden")
	}
	c.pay("topic changed after signing", c.after(func(m *snsverify.Message) { m.TopicARN += "-other" }), 403, "forbidden")
	c.pay("topic not allowed and re-signed with another key", c.after(func(m *snsverify.Message) {
		m.TopicARN += "-other"
		if err := snsverify.Sign(m, otherKey()); err != nil {
			c.t.Fatal(err)
		}
	}), 403, "forbidden")
	c.pay("topic not allowed and an http SigningCertURL", c.after(func(m *snsverify.Message) {
		m.TopicARN += "-other"
		m.SigningCertURL = strings.Replace(m.SigningCertURL, "https:", "http:", 1)
	}), 403, "forbidden")
}

// amazonPayVerified: verified messages that are odd but SNS's to send; the gateway passes them on.
func amazonPayVerified(c *corpus) {
	for _, v := range []struct {
		name string
		pre  func(m *snsverify.Message)
	}{
		{"a Message that is not JSON", func(m *snsverify.Message) { m.Message = "hello" }},
		{"a Message that is a JSON array", func(m *snsverify.Message) { m.Message = `["a",1]` }},
		{"a Message that is an empty object", func(m *snsverify.Message) { m.Message = "{}" }},
		{"a Message with a NUL", func(m *snsverify.Message) { m.Message += "\x00" }},
		{"a Message with an RTL override", func(m *snsverify.Message) { m.Message = "\u202e" + m.Message }},
		{"a Message with a BOM", func(m *snsverify.Message) { m.Message = "\ufeff" + m.Message }},
		{"a Message with homoglyph keys", func(m *snsverify.Message) { m.Message = strings.Replace(m.Message, "ObjectType", "ОbjectType", 1) }},
		{"a Message nested 100 deep", func(m *snsverify.Message) { m.Message = `{"x":` + deep(100, "1") + `}` }},
		{"a Message of 200 KiB", func(m *snsverify.Message) {
			m.Message = `{"ObjectType":"CHARGE","pad":"` + strings.Repeat("p", 200<<10) + `"}`
		}},
		{"a refund", func(m *snsverify.Message) { m.Message = strings.Replace(m.Message, `"CHARGE"`, `"REFUND"`, 1) }},
		{"no Subject", func(m *snsverify.Message) { m.Subject = "" }},
		{"a Subject with an RTL override", func(m *snsverify.Message) { m.Subject = "\u202e" + m.Subject }},
		{"SignatureVersion 1 (SHA1)", func(m *snsverify.Message) { m.SignatureVersion = "1" }},
		{"a Timestamp an hour old", func(m *snsverify.Message) { m.Timestamp = time.Now().Add(-time.Hour).UTC().Format(snsTimestamp) }},
	} {
		c.payOK("signed, "+v.name, ipn(c.ipnMsg(v.pre)))
	}
	for _, v := range []struct {
		name string
		edit func(o object) object
	}{
		{"an extra MessageAttributes member", func(o object) object {
			return o.set("MessageAttributes", `{"k":{"Type":"String","Value":"v"}}`)
		}},
		{"an extra member 100 deep", func(o object) object { return o.set("x", deep(100, "1")) }},
		{"a homoglyph Type beside the real one", func(o object) object { return o.set("Tуpe", q("SubscriptionConfirmation")) }},
		{"the UnsubscribeURL (unsigned) changed", func(o object) object { return o.set("UnsubscribeURL", q("https://evil.example.com/")) }},
		{"the UnsubscribeURL removed", func(o object) object { return o.del("UnsubscribeURL") }},
	} {
		c.payOK("signed, "+v.name, ipnRaw(v.edit(ipnObject(c.ipnMsg(nil))).String()))
	}
	orig := ipn(c.ipnMsg(nil))
	c.add(Case{Name: "replay of a processed notification", Fn: fnAmazonPay, Req: clone(orig), Status: 200, Code: "duplicate",
		Before: []events.APIGatewayV2HTTPRequest{orig}})
}

// amazonPayConfirmations: subscription messages.
func amazonPayConfirmations(c *corpus) {
	c.payOK("control: SubscriptionConfirmation", ipn(c.confirmation(snsverify.TypeSubscriptionConfirmation, nil)))
	c.payOK("control: UnsubscribeConfirmation", ipn(c.confirmation(snsverify.TypeUnsubscribeConfirmation, nil)))
	m := c.confirmation(snsverify.TypeSubscriptionConfirmation, nil)
	m.SubscribeURL = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=evil"
	c.payUnauthorized("SubscriptionConfirmation with the SubscribeURL changed after signing", ipn(m))
	m = c.confirmation(snsverify.TypeSubscriptionConfirmation, nil)
	m.Token = "evil"
	c.payUnauthorized("SubscriptionConfirmation with the Token changed after signing", ipn(m))
	c.pay("SubscriptionConfirmation of another topic", ipn(c.confirmation(snsverify.TypeSubscriptionConfirmation, func(m *snsverify.Message) {
		m.TopicARN += "-other"
	})), 403, "forbidden")
	for _, v := range []struct{ name, url string }{
		{"an http SubscribeURL", "http://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=x"},
		{"a SubscribeURL on another host", "https://evil.example.com/?Action=ConfirmSubscription&Token=x"},
		{"a SubscribeURL with userinfo", "https://user@sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=x"},
	} {
		c.add(Case{
			Name: "SubscriptionConfirmation signed with " + v.name, Fn: fnAmazonPay,
			Req: ipn(c.confirmation(snsverify.TypeSubscriptionConfirmation, func(m *snsverify.Message) {
				m.SubscribeURL = v.url
			})),
			Status: 202, Code: "invalid_subscription",
		})
	}
}
