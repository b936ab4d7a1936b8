package badinput

import (
	"maps"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
)

// APS replays and re-splits: a signed message is processed once whatever route it
// comes on, and a message whose signed text also reads as another valid message is quarantined
// as ambiguous_parameters (202), never announced.

func (c *corpus) apsAmbiguous(name string, req events.APIGatewayV2HTTPRequest, field string) {
	c.t.Helper()
	c.aps(name, req, 202, "ambiguous_parameters", field)
}

func apsResplitCases(c *corpus) {
	// The dedupe identity is the signed text, not the route.
	orig := apsEncodings[0].req(signed(c.apsParams()))
	other := clone(orig)
	other.RouteKey, other.RawPath, other.RequestContext.HTTP.Path = "POST "+apsNotification, apsNotification, apsNotification
	c.add(Case{Name: "replay on the other route", Fn: fnAPS, Req: other, Status: 200, Code: "duplicate",
		Before: []events.APIGatewayV2HTTPRequest{orig}})
	sp := signed(c.apsParams())
	c.add(Case{Name: "replay as a form on the other route", Fn: fnAPS,
		Req: apsForm(apsTransaction, formOf(sp)), Status: 200, Code: "duplicate",
		Before: []events.APIGatewayV2HTTPRequest{apsForm(apsNotification, formOf(sp))}})
	jp := signed(c.apsParams())
	c.add(Case{Name: "replay as JSON of a form on the other route", Fn: fnAPS,
		Req: apsJSON(apsTransaction, apsObject(jp).String()), Status: 200, Code: "duplicate",
		Before: []events.APIGatewayV2HTTPRequest{apsForm(apsNotification, formOf(jp))}})

	// A declined purchase re-split into a success with APS's signature.
	g := c.apsParams()
	g["status"], g["response_code"], g["response_message"] = "13", "13003", "Declined"
	g["merchant_extra"] = "giftmerchant_identifier=MxvOupuGmerchant_reference=" + g["merchant_reference"] +
		"payment_option=VISAresponse_code=14000response_message=Successstatus=14statusx="
	f := maps.Clone(g)
	f["merchant_extra"] = "gift"
	f["response_code"], f["response_message"], f["status"] = "14000", "Success", "14"
	f["statusx"] = "merchant_identifier=MxvOupuGmerchant_reference=" + g["merchant_reference"] +
		"payment_option=VISAresponse_code=13003response_message=Declinedstatus=13"
	if apssignature.Canonical(f) != apssignature.Canonical(g) {
		c.t.Fatal("the forgery is not a re-split of the declined purchase")
	}
	f["signature"] = signed(g)["signature"]
	c.apsAmbiguous("declined purchase re-split into a success (JSON)", apsEncodings[0].req(f), "statusx")
	c.apsAmbiguous("declined purchase re-split into a success (form)", apsEncodings[1].req(f), "statusx")
	c.apsAmbiguous("the genuine declined purchase carrying the re-split injection", apsEncodings[0].req(signed(g)), "merchant_extra")

	for _, v := range []struct {
		name, key, value, field string
	}{
		{"a value holding its own name", "response_message", "Successresponse_message=x", "response_message"},
		{"a value holding the previous name", "eci", "ECOMMERCEcustomer_email=x@y.z", "eci"},
		{"a free-text value holding the next name", "customer_email", "a@b.ceci=MOTO", "customer_email"},
		{"a far value holding status", "token_name", "TOKstatus=14", "token_name"},
		{"an undocumented command", "command", "PURCHASE_X", "command"},
		{"a command in lower case", "command", "purchase", "command"},
		{"a command that swallowed the next parameter", "command", "PURCHASEcurrency=AED", "command"},
	} {
		for _, enc := range apsEncodings {
			p := c.apsParams()
			p[v.key] = v.value
			c.apsAmbiguous(enc.name+" signed, "+v.name, enc.req(signed(p)), v.field)
		}
	}
	for _, url := range []string{
		"https://shop.example/checkout/return?status=ok&amount=100",
		"https://shop.example/r?merchant_reference=x&fort_id=1&currency=usd",
		"https://shop.example/r#status=14",
	} {
		p := c.apsParams()
		p["return_url"] = url
		c.apsOK("control: a return_url "+url, apsEncodings[0].req(signed(p)))
	}
	for _, cmd := range []string{"AUTHORIZATION", "CAPTURE", "REFUND", "VOID_AUTHORIZATION"} {
		p := c.apsParams()
		p["command"] = cmd
		c.apsOK("control: the command "+cmd, apsEncodings[1].req(signed(p)))
	}
}
