package aps

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
)

// randomInjection is a valid message with a few parameters whose names and values are made of
// names, "=" and values that pass validation, so that readings of its text move names, pass
// the merchant and outcome checks, and sometimes read as another valid message.
func randomInjection(r *rand.Rand) map[string]string {
	names := []string{"", "x", "zz", "su", "statusa", "statusx", "status", "response_code", "merchant_identifier",
		"access_code", "amount", "currency", "command", "merchant_extra", "token_name", "customer_email", "language", "signature"}
	values := []string{"=", "14", "13", "14000", "13003", "MxvOupuG", "SILgpo7pWbmzuURp2qri", "USD", "1000", "PURCHASE", "gift", "a@b.c"}
	p := validParams()
	for range 1 + r.IntN(4) {
		var v strings.Builder
		for range r.IntN(8) {
			if r.IntN(2) == 0 {
				v.WriteString(names[r.IntN(len(names))] + "=")
			} else {
				v.WriteString(values[r.IntN(len(values))])
			}
		}
		p[names[r.IntN(len(names))]] = v.String()
	}
	return p
}

// sameAmbiguity: both nil, or both naming the same field with the same problem.
func sameAmbiguity(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, ok1 := a.(*AmbiguityError)
	y, ok2 := b.(*AmbiguityError)
	return ok1 && ok2 && *x == *y
}

// Issue 13: readsOtherwise finds the names at each "=" through the byte before it and reads the
// laid-out text; it decides what it decided before (and names the same parameter) for random
// messages whose readings move names and pass validation.
func TestIssue13_AmbiguityAsBefore(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 3))
	outcomes := map[string]int{}
	for range 5000 {
		p := randomInjection(r)
		in, ok := readsOtherwise(p, placesOf(apssignature.TextOf(p)))
		wantIn, wantOK := readsOtherwiseRef(p)
		if in != wantIn || ok != wantOK {
			t.Fatalf("%q:\nreadsOtherwise %q %v\nreference      %q %v", p, in, ok, wantIn, wantOK)
		}
		err, want := Ambiguity(p), ambiguityRef(p)
		if !sameAmbiguity(err, want) {
			t.Fatalf("%q:\nAmbiguity %v\nreference %v", p, err, want)
		}
		switch {
		case ok && in != "":
			outcomes["reads otherwise"]++
		case ok:
			outcomes["too many places"]++
		case err != nil:
			outcomes["other ambiguity"]++
		default:
			outcomes["not ambiguous"]++
		}
	}
	for _, o := range []string{"reads otherwise", "other ambiguity", "not ambiguous"} {
		if outcomes[o] < 100 {
			t.Fatalf("outcomes %v: too few %q for the comparison to mean much", outcomes, o)
		}
	}
}

func FuzzIssue13_AmbiguityAsBefore(f *testing.F) {
	f.Add("statusx", "merchant_identifier=MxvOupuGresponse_code=13003status=13", "status", "14")
	f.Add("zz", "status=13token_name=T", "su", "")
	f.Add("", "=status=14", "x", "access_code=SILgpo7pWbmzuURp2qri")
	f.Add("merchant_extra", "giftmerchant_identifier=MxvOupuGstatus=14statusx=", "status", "13")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		p := validParams()
		p[k1], p[k2] = v1, v2
		in, ok := readsOtherwise(p, placesOf(apssignature.TextOf(p)))
		if wantIn, wantOK := readsOtherwiseRef(p); in != wantIn || ok != wantOK {
			t.Fatalf("%q:\nreadsOtherwise %q %v\nreference      %q %v", p, in, ok, wantIn, wantOK)
		}
		if err, want := Ambiguity(p), ambiguityRef(p); !sameAmbiguity(err, want) {
			t.Fatalf("%q:\nAmbiguity %v\nreference %v", p, err, want)
		}
	})
}

// The known names fit readsOtherwise's bit mask and knownEnding's byte indexes.
func TestIssue13_KnownParamsFitTheMask(t *testing.T) {
	if n := len(sortedKnownParams); n > 64 {
		t.Fatalf("%d known parameters: readsOtherwise's mask holds 64", n)
	}
	n := 0
	for b, idx := range knownEnding {
		for _, i := range idx {
			if k := sortedKnownParams[i]; k[len(k)-1] != byte(b) {
				t.Errorf("knownEnding[%q] holds %q", byte(b), k)
			}
			n++
		}
	}
	if n != len(sortedKnownParams) {
		t.Errorf("knownEnding holds %d names, want %d", n, len(sortedKnownParams))
	}
}
