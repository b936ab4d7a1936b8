package aps_test

import (
	"maps"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/aps"
	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
)

// declinedWithInjection is a declined purchase (status 13) as APS signs it, whose merchant_extra
// (a field APS echoes) the customer chose: about 150 characters, "=" included, that spell a
// successful outcome and the start of a parameter that swallows the real one.
func declinedWithInjection() map[string]string {
	p := purchase()
	p["merchant_reference"], p["fort_id"] = "ORDER-RESPLIT", "169996200000099999"
	p["status"], p["response_code"], p["response_message"] = "13", "13003", "Declined"
	p["merchant_extra"] = "gift" +
		"merchant_identifier=MxvOupuGmerchant_reference=ORDER-RESPLIT" +
		"response_code=14000response_message=Successstatus=14statusx="
	return p
}

// resplitToSuccess is the same signed text read as a successful purchase: the injected text
// becomes parameters, and "statusx" swallows APS's real merchant_identifier…status=13.
func resplitToSuccess(g map[string]string) map[string]string {
	f := maps.Clone(g)
	f["merchant_extra"] = "gift"
	f["response_code"], f["response_message"], f["status"] = "14000", "Success", "14"
	f["statusx"] = "merchant_identifier=MxvOupuGmerchant_reference=ORDER-RESPLIT" +
		"response_code=13003response_message=Declinedstatus=13"
	return f
}

// Pairs are signed as name=value with no separator, so characters can be moved between
// parameters without breaking the signature. A re-split that turns a declined purchase into a
// success is quarantined as ambiguous_parameters (202: APS stops retrying) and never announced.
func TestAResplitDeclinedPurchaseIsQuarantined(t *testing.T) {
	g := declinedWithInjection()
	f := resplitToSuccess(g)
	if apssignature.Canonical(f) != apssignature.Canonical(g) {
		t.Fatalf("the forgery does not re-split the genuine text:\n%s\n%s", apssignature.Canonical(f), apssignature.Canonical(g))
	}
	s, _ := apssignature.NewSigner(apssignature.SHA256, devPhrase)
	f["signature"] = s.Sign(g) // APS's signature of the declined purchase
	v, _ := apssignature.NewVerifier(apssignature.SHA256, devPhrase)
	if err := v.Verify(f); err != nil {
		t.Fatalf("the forgery does not carry a valid signature: %v", err)
	}
	if err := aps.Validate(f); err != nil || aps.OutcomeOf(f).DetailType != "APS Purchase Succeeded" {
		t.Fatalf("the forgery does not read as a valid success: %v %+v", err, aps.OutcomeOf(f))
	}

	e := newEnv(t)
	for _, form := range []bool{false, true} {
		status, body := e.post(t, message("/aps/transaction-feedback", f, "", form))
		if status != 202 || body["status"] != "quarantined" || body["error"] != "ambiguous_parameters" {
			t.Fatalf("form %v: got %d %v, want 202 quarantined ambiguous_parameters", form, status, body)
		}
		r, err := e.quarantine.Get(t.Context(), body["quarantineKey"].(string))
		if err != nil || r.Reason != "ambiguous_parameters" || r.Webhook != aps.Webhook {
			t.Errorf("quarantine record: %+v, %v", r, err)
		}
	}
	for _, ev := range e.consumed(t) {
		if ev.DetailType == "APS Purchase Succeeded" {
			t.Fatalf("the forgery was announced: %+v", ev.Detail.Data)
		}
	}
}

// The forger may put further parameters between the swallowing one and the names it
// swallows, or let it swallow to the end of the text; either way the text reads as APS's message.
func TestEveryResplitVariantIsQuarantined(t *testing.T) {
	genuineTail := "merchant_identifier=MxvOupuGmerchant_reference=ORDER-RESPLITresponse_code=13003response_message=Declinedstatus=13"
	tests := []struct {
		name   string
		inject string            // merchant_extra as the customer chose it (after "gift")
		forged map[string]string // the re-split's parameters after merchant_extra="gift"
		extra  map[string]string // parameters APS sent besides purchase()'s
	}{
		{"padding between the forged status and the swallowing parameter",
			"merchant_identifier=MxvOupuGmerchant_reference=ORDER-RESPLITresponse_code=14000response_message=Successstatus=14statusa=statusx=",
			map[string]string{"statusa": "", "statusx": genuineTail}, nil},
		{"swallowing to the end, past a parameter the forgery drops",
			"merchant_identifier=MxvOupuGmerchant_reference=ORDER-RESPLITresponse_code=14000response_message=Successstatus=14su=zz=",
			map[string]string{"su": "", "zz": genuineTail + "token_name=TOK-1"}, map[string]string{"token_name": "TOK-1"}},
	}
	e := newEnv(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := declinedWithInjection()
			g["merchant_reference"] = "ORDER-RESPLIT"
			g["merchant_extra"] = "gift" + tc.inject
			maps.Copy(g, tc.extra)
			f := maps.Clone(g)
			for k := range tc.extra {
				delete(f, k)
			}
			f["merchant_extra"] = "gift"
			f["response_code"], f["response_message"], f["status"] = "14000", "Success", "14"
			maps.Copy(f, tc.forged)
			if apssignature.Canonical(f) != apssignature.Canonical(g) {
				t.Fatalf("not a re-split:\n%s\n%s", apssignature.Canonical(f), apssignature.Canonical(g))
			}
			s, _ := apssignature.NewSigner(apssignature.SHA256, devPhrase)
			f["signature"] = s.Sign(g)
			status, body := e.post(t, message("/aps/transaction-feedback", f, "", false))
			if status != 202 || body["error"] != "ambiguous_parameters" {
				t.Fatalf("got %d %v, want 202 ambiguous_parameters", status, body)
			}
		})
	}
	for _, ev := range e.consumed(t) {
		if ev.DetailType == "APS Purchase Succeeded" {
			t.Fatalf("a forgery was announced: %+v", ev.Detail.Data)
		}
	}
}

// The genuine message that carries such an injection reads as a success too (its
// response_code and status then disagree, which the search does not hold against a reading): it
// is quarantined rather than announced, and the merchant confirms the outcome with APS.
func TestAGenuineMessageCarryingAnInjectionIsQuarantined(t *testing.T) {
	e := newEnv(t)
	status, body := e.post(t, message("/aps/transaction-feedback", declinedWithInjection(), devPhrase, false))
	if status != 202 || body["error"] != "ambiguous_parameters" || body["field"] != "merchant_extra" {
		t.Fatalf("got %d %v, want 202 ambiguous_parameters naming merchant_extra", status, body)
	}
	if evs := e.consumed(t); len(evs) != 0 {
		t.Errorf("%d events", len(evs))
	}
}

// A value may hold "name=value" text that no re-split could turn into another valid
// message: a return URL with its own query is processed as usual.
func TestAReturnURLWithItsOwnQueryIsProcessed(t *testing.T) {
	e := newEnv(t)
	p := purchase()
	p["merchant_reference"] = "ORDER-RETURN-URL"
	p["return_url"] = "https://shop.example/checkout/return?status=ok&amount=100"
	status, body := e.post(t, message("/aps/transaction-feedback", p, devPhrase, false))
	if status != 200 || body["status"] != "accepted" {
		t.Fatalf("got %d %v, want accepted", status, body)
	}
	evs := e.consumed(t)
	if len(evs) != 1 || evs[0].Detail.Data.Fields["return_url"] != p["return_url"] || evs[0].Detail.Data.Status != "14" {
		t.Fatalf("events = %+v", evs)
	}
}

// The readings a re-split can give, each signed by APS's phrase as the message arrives.
func TestAmbiguousMessagesAreQuarantined(t *testing.T) {
	set := func(kv ...string) map[string]string {
		p := purchase()
		for i := 0; i < len(kv); i += 2 {
			p[kv[i]] = kv[i+1]
		}
		return p
	}
	tests := []struct {
		name   string
		params map[string]string
		field  string // "" = processed
	}{
		{"a value holding its own name", set("response_message", "Successresponse_message=x"), "response_message"},
		{"a value holding the name before it", set("customer_ip", "1.2.3.4customer_email=a@b.c", "customer_email", "x@y.z"), "customer_ip"},
		{"a free-text value holding the next name", set("customer_email", "a@b.ccustomer_ip=1", "customer_ip", "2.3.4.5"), "customer_email"},
		{"a value holding a far name whose reading is valid", set("statusa", "y", "token_name", "xstatus=14"), "token_name"},
		{"a command APS does not document", set("command", "PURCHASE_X"), "command"},
		{"a command in lower case", set("command", "purchase"), "command"},
		{"a command with a homoglyph", set("command", "PURCHАSE"), "command"},
		{"a command that swallowed the next parameter", set("command", "PURCHASEcurrency=AED"), "command"},
		{"control: the next name where it cannot be read (status)", set("response_message", "Sstatus=ok"), ""},
		{"control: a far name whose reading is not valid", set("response_message", "amount=1"), ""},
		{"control: a tokenization (service_command, no command)", func() map[string]string {
			p := set("service_command", "TOKENIZATION", "status", "18", "response_code", "18000")
			delete(p, "command")
			return p
		}(), ""},
	}
	for _, c := range aps.DocumentedCommands {
		tests = append(tests, struct {
			name   string
			params map[string]string
			field  string
		}{"control: command " + c, set("command", c), ""})
	}
	e := newEnv(t)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := maps.Clone(tc.params)
			p["merchant_reference"] = "AMBIGUOUS-" + string(rune('A'+i))
			status, body := e.post(t, message("/aps/notification-feedback", p, devPhrase, false))
			if tc.field == "" {
				if status != 200 || body["status"] != "accepted" {
					t.Fatalf("got %d %v, want accepted", status, body)
				}
				return
			}
			if status != 202 || body["error"] != "ambiguous_parameters" || body["field"] != tc.field {
				t.Fatalf("got %d %v, want 202 ambiguous_parameters naming %s", status, body, tc.field)
			}
		})
	}
}
