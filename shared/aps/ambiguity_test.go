package aps

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestAmbiguity(t *testing.T) {
	set := func(kv ...string) map[string]string {
		p := validParams()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "\x00delete" {
				delete(p, kv[i])
			} else {
				p[kv[i]] = kv[i+1]
			}
		}
		return p
	}
	tests := []struct {
		name   string
		params map[string]string
		field  string // "" = not ambiguous
	}{
		{"a plain message", validParams(), ""},
		{"a return URL with a query", set("return_url", "https://shop.example/ok?status=ok&amount=100"), ""},
		{"a return URL carrying the order", set("return_url", "https://shop.example/ok?merchant_reference=Test010&fort_id=1"), ""},
		{"an email with = in it", set("customer_email", "a=b@example.com"), ""},
		{"a signature holding names is not signed text", set("signature", "status=13"), ""},
		{"own name", set("response_message", "OKresponse_message=x"), "response_message"},
		{"previous neighbour's name", set("language", "enfort_id=1"), "language"},
		{"next neighbour's name, free text both sides", set("customer_email", "a@b.clanguage=ar"), "customer_email"},
		{"next name where it cannot be read", set("response_message", "Sstatus=ok"), ""},
		{"status read further on", set("statusa", "", "token_name", "xstatus=14"), "token_name"},
		{"status swallowed past a known name", set("zz", "status=13token_name=T"), "zz"},
		{"undocumented command", set("command", "PURCHASE2"), "command"},
		{"empty command is no command", set("command", ""), ""},
		{"service command without command", set("command", "\x00delete", "service_command", "TOKENIZATION"), ""},
		{"too many places to search", set("response_message", strings.Repeat("amount=1", 600)), "body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Ambiguity(tc.params)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Ambiguity = %v, want nil", err)
				}
				return
			}
			ae, ok := err.(*AmbiguityError)
			if !ok || ae.Field != tc.field || ae.Problem == "" {
				t.Fatalf("Ambiguity = %v, want one naming %s", err, tc.field)
			}
		})
	}
}

func FuzzAmbiguity(f *testing.F) {
	f.Add("return_url", "https://shop.example/ok?status=ok&amount=100", "status", "14")
	f.Add("statusx", "merchant_identifier=MxvOupuGresponse_code=13003status=13", "status", "14")
	f.Add("zz", "status=13token_name=T", "su", "")
	f.Add("command", "PURCHASEcurrency=USD", "currency", "USD")
	f.Add("customer_email", "a@b.ccustomer_ip=1", "customer_ip", "2")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		p := validParams()
		p[k1], p[k2] = v1, v2
		err := Ambiguity(p)
		if again := Ambiguity(maps.Clone(p)); (err == nil) != (again == nil) {
			t.Fatalf("not deterministic: %v then %v", err, again)
		}
		if err == nil {
			if c := p["command"]; c != "" && !slices.Contains(DocumentedCommands, c) {
				t.Fatalf("command %q passed", c)
			}
			return
		}
		ae, ok := err.(*AmbiguityError)
		if !ok || ae.Problem == "" {
			t.Fatalf("error %v (%T)", err, err)
		}
		if _, in := p[ae.Field]; !in && ae.Field != "body" {
			t.Fatalf("error names %q, not a parameter", ae.Field)
		}
		// Without "=" in any signed value or name (JSON keys are free), and without a name that
		// ends with another ("x" and "xx": "x=0xx=0" reads x again at xx), a name can only be
		// read where it is.
		if ae.Field != "command" {
			for k, v := range p {
				if k == "signature" {
					continue
				}
				if strings.Contains(v, "=") || strings.Contains(k, "=") {
					return
				}
				for other := range p {
					if other != k && strings.HasSuffix(other, k) {
						return
					}
				}
			}
			t.Fatalf("%v without any = in the signed text", err)
		}
	})
}
