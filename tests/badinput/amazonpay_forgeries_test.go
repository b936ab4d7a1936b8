package badinput

import (
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
)

// amazonPayForgeries: messages that keep SNS's signature while saying something else, and
// messages SNS really signed for a topic that is not ours, on the Amazon Pay IPN webhook.
func amazonPayForgeries(c *corpus) {
	// SNS's string to sign is "Name\nvalue\n" pairs. Moving "\nSubject\n<subject>" into
	// MessageId and dropping Subject keeps the signed text and the signature, and used to change
	// the dedupe key. No field but Message may hold a control character; MessageId is a UUID.
	shift := func(m *snsverify.Message) {
		m.MessageID += "\nSubject\n" + m.Subject
		m.Subject = ""
	}
	genuine := c.ipnMsg(nil)
	orig := ipn(genuine)
	shifted := *genuine
	shift(&shifted)
	c.add(Case{Name: "Subject shifted into the MessageId of a processed notification", Fn: fnAmazonPay,
		Req: ipn(&shifted), Status: 400, Code: "invalid_payload", Before: []events.APIGatewayV2HTTPRequest{orig}})
	c.payBad("Subject shifted into the MessageId", c.after(shift))
	c.payBad("Timestamp shifted into the Subject", c.after(func(m *snsverify.Message) {
		m.Subject += "\nTimestamp\n" + m.Timestamp
		m.Timestamp = ""
	}))
	// signedAs is base changed by mod, then signed as it is (snstest's Sign would replace a
	// MessageId that is not a UUID).
	signedAs := func(base *snsverify.Message, mod func(m *snsverify.Message)) events.APIGatewayV2HTTPRequest {
		mod(base)
		if err := snsverify.Sign(base, c.env.sns.Key()); err != nil {
			c.t.Fatal(err)
		}
		return ipn(base)
	}
	note := func(mod func(m *snsverify.Message)) events.APIGatewayV2HTTPRequest {
		return signedAs(c.ipnMsg(nil), mod)
	}
	conf := func(mod func(m *snsverify.Message)) events.APIGatewayV2HTTPRequest {
		return signedAs(c.confirmation(snsverify.TypeSubscriptionConfirmation, nil), mod)
	}
	for _, ch := range []string{"\n", "\r", "\x00", "\t", "\x1b", "\x7f", "\u0085"} {
		q := strconv.Quote(ch)
		// Signed as sent: the control character is SNS's to refuse, and so ours.
		c.payBad("signed, a Subject holding "+q, note(func(m *snsverify.Message) { m.Subject += ch + "x" }))
		c.payBad("signed, a MessageId holding "+q, note(func(m *snsverify.Message) { m.MessageID += ch }))
		c.payBad("signed, a Timestamp holding "+q, note(func(m *snsverify.Message) { m.Timestamp += ch }))
		c.payBad("signed, a TopicArn holding "+q, note(func(m *snsverify.Message) { m.TopicARN += ch }))
		c.payBad("signed, an UnsubscribeURL holding "+q, note(func(m *snsverify.Message) { m.UnsubscribeURL += ch }))
		c.payBad("signed, a Token holding "+q, conf(func(m *snsverify.Message) { m.Token += ch }))
		c.payBad("signed, a SubscribeURL holding "+q, conf(func(m *snsverify.Message) { m.SubscribeURL += ch }))
	}
	homo, _ := homoglyph("b1d00000-5e2f-4c3a-9d1b-0badc0de0000")
	for _, v := range []struct{ name, id string }{
		{"in upper case", strings.ToUpper("b1d00000-5e2f-4c3a-9d1b-0badc0de0000")},
		{"without dashes", "b1d000005e2f4c3a9d1b0badc0de0000"},
		{"in braces", "{b1d00000-5e2f-4c3a-9d1b-0badc0de0000}"},
		{"a character short", "b1d00000-5e2f-4c3a-9d1b-0badc0de000"},
		{"a character long", "b1d00000-5e2f-4c3a-9d1b-0badc0de00000"},
		{"with a homoglyph", homo},
		{"with a zero-width space", "b1d00000-5e2f-4c3a-9d1b-0badc0de0000\u200b"},
		{"a name", "m-1"},
	} {
		c.payBad("signed, a MessageId "+v.name, note(func(m *snsverify.Message) { m.MessageID = v.id }))
	}
	c.payOK("control: signed, a Message holding line breaks and a NUL", ipn(c.ipnMsg(func(m *snsverify.Message) {
		m.Message = "line 1\nMessageId\nx\r\n\x00"
	})))

	// A topic that is not allowed is refused before any network call, however it is
	// signed; the function logs its TopicArn only as an unverified claim (shared/amazonpay tests).
	c.pay("SubscriptionConfirmation of the attacker's own topic, signed by SNS", ipn(c.confirmation(snsverify.TypeSubscriptionConfirmation, func(m *snsverify.Message) {
		m.TopicARN = "arn:aws:sns:eu-west-1:210987654321:attacker"
	})), 403, "forbidden")
	c.pay("UnsubscribeConfirmation of the attacker's own topic, signed by SNS", ipn(c.confirmation(snsverify.TypeUnsubscribeConfirmation, func(m *snsverify.Message) {
		m.TopicARN = "arn:aws:sns:eu-west-1:210987654321:attacker"
	})), 403, "forbidden")
}
