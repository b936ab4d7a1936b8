package aps

import (
	"encoding/json"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
)

// These tests hold Ambiguity to what its answer claims, not to another implementation of it:
// "ambiguous" means the signed text also reads as another message, which re-signs to the same
// signature (we find that reading here by brute force and verify it with the product's own
// verifier); "not ambiguous" means no such reading exists. The decision is about the text, so
// the order in which the body lists the parameters cannot change it, nor can a parameter whose
// pair brings no new "name=" into the text.

// documented are the commands docs/aps.md lists as the ones APS documents.
var documented = []string{"AUTHORIZATION", "PURCHASE", "CAPTURE", "REFUND", "VOID_AUTHORIZATION"}

// namePlace is where a reading reads a name: the name and the offset of "name=" in the text.
type namePlace struct {
	name string
	at   int
}

// signedLayout is p's signed text written from its definition (every name but the signature, in
// byte order, as name=value with nothing between) and the offset where each name's pair starts.
func signedLayout(p map[string]string) (names []string, home map[string]int, text string) {
	for k := range p {
		if k != apssignature.SignatureParam {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	home = make(map[string]int, len(names))
	var b strings.Builder
	for _, k := range names {
		home[k] = b.Len()
		b.WriteString(k + "=" + p[k])
	}
	return names, home, b.String()
}

// asciiDigits: n digits, lo <= n <= hi.
func asciiDigits(s string, lo, hi int) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// fitsMerchant: value could be name's in a message APS signed for p's merchant, as docs/aps.md
// states validation: the same merchant_identifier and access_code, a 2-digit status, a 5-digit
// response_code, whole minor units, 3 upper-case letters of currency, a documented command.
func fitsMerchant(p map[string]string, name, value string) bool {
	switch name {
	case "merchant_identifier", "access_code":
		return value == p[name]
	case "status":
		return asciiDigits(value, 2, 2)
	case "response_code":
		return asciiDigits(value, 5, 5)
	case "amount":
		return asciiDigits(value, 1, 18)
	case "currency":
		return len(value) == 3 && strings.Trim(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
	case "command":
		return slices.Contains(documented, value)
	}
	return true
}

// otherReading is a reading of a message's signed text found by brute force.
type otherReading struct {
	params map[string]string
	holder string // p's parameter whose pair holds the first name the reading reads elsewhere
}

// otherValidReading searches, by brute force, the readings of p's signed text whose names come
// from p and the parameters APS feedback carries, in byte order: every way of choosing where
// each value ends at a later "name=" with a greater name. It returns one that names p's merchant
// and access code, has a status or response_code, fits validation, reads one of p's names
// somewhere else than p does, and for which accept holds. exhausted says the search gave up.
func otherValidReading(p map[string]string, accept func(otherReading) bool) (r otherReading, found, exhausted bool) {
	names, home, text := signedLayout(p)
	holder := func(at int) string {
		h := ""
		for _, k := range names {
			if home[k] <= at {
				h = k
			}
		}
		return h
	}
	all := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(names), knownParams...))))
	var cands []namePlace
	for e := 0; e < len(text); e++ {
		if text[e] != '=' {
			continue
		}
		for _, k := range all {
			if e >= len(k) && text[e-len(k):e] == k {
				cands = append(cands, namePlace{k, e - len(k)})
			}
		}
	}
	slices.SortFunc(cands, func(a, b namePlace) int {
		if a.at != b.at {
			return a.at - b.at
		}
		return strings.Compare(a.name, b.name)
	})
	budget := 2_000_000
	reading := map[string]string{}
	first := -1 // offset of the first name read elsewhere
	var walk func(i int) bool
	walk = func(i int) bool {
		if budget--; budget < 0 {
			exhausted = true
			return true
		}
		c := cands[i]
		start := c.at + len(c.name) + 1
		relocated := false
		if h, ours := home[c.name]; ours && h != c.at {
			relocated = true
		}
		if relocated && first < 0 {
			first = c.at
			defer func() { first = -1 }()
		}
		try := func(value string) bool {
			if !fitsMerchant(p, c.name, value) {
				return false
			}
			reading[c.name] = value
			return true
		}
		defer delete(reading, c.name)
		if try(text[start:]) && first >= 0 {
			_, m := reading["merchant_identifier"]
			_, a := reading["access_code"]
			_, s := reading["status"]
			_, rc := reading["response_code"]
			if m && a && (s || rc) {
				cand := otherReading{maps.Clone(reading), holder(first)}
				if accept(cand) {
					r, found = cand, true
					return true
				}
			}
		}
		for j := i + 1; j < len(cands); j++ {
			d := cands[j]
			if d.at < start || d.name <= c.name || !try(text[start:d.at]) {
				continue
			}
			if walk(j) {
				return true
			}
		}
		return false
	}
	for i, c := range cands {
		if c.at == 0 && walk(i) {
			break
		}
	}
	return r, found, exhausted
}

// movedForward lists the readings Ambiguity's rule on moved names describes, built here from the
// text: a value of p that holds "n=", n its own name or the name before it, read there, the
// parameter before n holding everything up to that place.
func movedForward(p map[string]string) []otherReading {
	names, home, text := signedLayout(p)
	var out []otherReading
	for i, f := range names {
		for _, n := range names[max(i-1, 0) : i+1] {
			ni := slices.Index(names, n)
			if ni == 0 {
				continue // nothing before n to hold the text in front of it
			}
			before := names[ni-1]
			valueAt := home[f] + len(f) + 1
			end := valueAt + len(p[f])
			for at := valueAt; at+len(n)+1 <= end; at++ {
				if text[at:at+len(n)+1] != n+"=" {
					continue
				}
				r := maps.Clone(p)
				delete(r, apssignature.SignatureParam)
				delete(r, f)
				r[before] = text[home[before]+len(before)+1 : at]
				r[n] = text[at+len(n)+1 : end]
				out = append(out, otherReading{r, f})
			}
		}
	}
	return out
}

// verifiesAsP: reading r of p verifies with p's signature, with the product's signer and
// verifier, and is another message.
func verifiesAsP(t *testing.T, p, r map[string]string) {
	t.Helper()
	s, _ := apssignature.NewSigner(apssignature.SHA256, "PASS")
	v, _ := apssignature.NewVerifier(apssignature.SHA256, "PASS")
	withSig := maps.Clone(r)
	withSig[apssignature.SignatureParam] = s.Sign(p)
	if err := v.Verify(withSig); err != nil {
		t.Fatalf("%q: reading %q does not verify with the message's signature: %v", p, r, err)
	}
	own := maps.Clone(p)
	delete(own, apssignature.SignatureParam)
	if maps.Equal(own, r) {
		t.Fatalf("%q: reading %q is the message itself", p, r)
	}
}

// decision is what checkAmbiguity saw, for the tests to count.
type decision int

const (
	unambiguous decision = iota
	undocumentedCommand
	nameInValue
	readsAsAnother
	tooMany
	emptyName  // a message ParseParams refuses: the command only is checked
	notChecked // the brute force gave up
)

// checkAmbiguity checks Ambiguity's answer on p against the readings of p's text: each kind of
// answer is what it claims, and nil means no reading of any kind.
func checkAmbiguity(t *testing.T, p map[string]string) decision {
	t.Helper()
	err := Ambiguity(p)
	_, _, text := signedLayout(p)
	// The empty name is refused by ParseParams and read by Ambiguity as it always was (not as
	// moved when read inside a value): no claim is checked for it beyond the command.
	_, empty := p[""]
	undocumented := p["command"] != "" && !slices.Contains(documented, p["command"])
	if err == nil {
		if undocumented {
			t.Fatalf("%q: command %q passes", p, p["command"])
		}
		if empty {
			return emptyName
		}
		if rs := movedForward(p); len(rs) > 0 {
			verifiesAsP(t, p, rs[0].params)
			t.Fatalf("%q: not ambiguous, but %q holds a name read there: %q verifies too", p, rs[0].holder, rs[0].params)
		}
		r, found, exhausted := otherValidReading(p, func(otherReading) bool { return true })
		if exhausted {
			return notChecked
		}
		if found {
			verifiesAsP(t, p, r.params)
			t.Fatalf("%q: not ambiguous, but it also reads as %q, which verifies and fits its merchant", p, r.params)
		}
		return unambiguous
	}
	ae, ok := err.(*AmbiguityError)
	if !ok || ae.Problem == "" {
		t.Fatalf("%q: Ambiguity = %v (%T)", p, err, err)
	}
	switch {
	case ae.Field == "command":
		if !undocumented {
			t.Fatalf("%q: %v, but command %q is documented", p, err, p["command"])
		}
		return undocumentedCommand
	case undocumented:
		t.Fatalf("%q: %v, not the undocumented command", p, err)
	case ae.Field == "body":
		// Too many readings (64) or places (512) to search: only a text with many "=".
		if n := strings.Count(text, "="); n <= 64 {
			t.Fatalf("%q: %v with only %d \"=\" in the signed text", p, err, n)
		}
		return tooMany
	case empty:
		return emptyName
	case strings.HasPrefix(ae.Problem, `holds "`):
		for _, r := range movedForward(p) {
			if r.holder == ae.Field {
				verifiesAsP(t, p, r.params)
				return nameInValue
			}
		}
		t.Fatalf("%q: %v, but %q holds neither its own name nor the one before it", p, err, ae.Field)
	default:
		r, found, exhausted := otherValidReading(p, func(r otherReading) bool { return r.holder == ae.Field })
		if exhausted {
			return notChecked
		}
		if !found {
			t.Fatalf("%q: %v, but no reading that fits the merchant reads a name in %q", p, err, ae.Field)
		}
		verifiesAsP(t, p, r.params)
		return readsAsAnother
	}
	return notChecked
}

// randomInjection is a valid message with a few parameters whose names and values are made of
// names, "=" and values that pass validation, so that readings of its text move names, pass
// the merchant and outcome checks, and sometimes read as another valid message.
func randomInjection(r *rand.Rand) map[string]string {
	names := []string{"", "x", "zz", "su", "statusa", "statusx", "status", "response_code", "merchant_identifier",
		"access_code", "amount", "currency", "command", "merchant_extra", "token_name", "customer_email", "language", "signature"}
	values := []string{"=", "1", "14", "13", "140", "14000", "13003", "MxvOupuG", "SILgpo7pWbmzuURp2qri", "USD", "usd", "1000",
		"PURCHASE", "VOID_AUTHORIZATION", "VOID", "gift", "a@b.c"}
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

// When Ambiguity says a message is ambiguous, its signed text really reads as another message
// that verifies with the same signature (and, for the search, fits the same merchant); when it
// says not, no such reading exists.
func TestAmbiguousExactlyWhenAnotherReadingVerifies(t *testing.T) {
	r := rand.New(rand.NewPCG(26, 5))
	seen := map[decision]int{}
	for range 4000 {
		seen[checkAmbiguity(t, randomInjection(r))]++
	}
	for _, d := range []decision{unambiguous, undocumentedCommand, nameInValue, readsAsAnother} {
		if seen[d] < 50 {
			t.Fatalf("decisions %v: too few of kind %d for the property to mean much", seen, d)
		}
	}
	if seen[notChecked] > 40 {
		t.Fatalf("decisions %v: the brute force gave up too often", seen)
	}
	t.Logf("decisions %v", seen)
}

// sameDecision: both nil, or both naming the same field with the same problem.
func sameDecision(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, ok1 := a.(*AmbiguityError)
	y, ok2 := b.(*AmbiguityError)
	return ok1 && ok2 && *x == *y
}

// bodies writes p as a JSON object and as a form, the parameters in the order given.
func bodies(p map[string]string, order []string) (jsonBody, formBody []byte) {
	var j, f strings.Builder
	j.WriteByte('{')
	for i, k := range order {
		kj, _ := json.Marshal(k)
		vj, _ := json.Marshal(p[k])
		if i > 0 {
			j.WriteByte(',')
			f.WriteByte('&')
		}
		j.Write(kj)
		j.WriteByte(':')
		j.Write(vj)
		f.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(p[k]))
	}
	j.WriteByte('}')
	return []byte(j.String()), []byte(f.String())
}

// checkOrder delivers p's parameters in shuffled orders, as JSON and as a form: each body that
// reads back as p gets p's decision.
func checkOrder(t *testing.T, p map[string]string, r *rand.Rand) (compared int) {
	t.Helper()
	want := Ambiguity(p)
	order := slices.Sorted(maps.Keys(p))
	for range 4 {
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		jb, fb := bodies(p, order)
		for _, b := range []struct {
			media string
			body  []byte
		}{{MediaJSON, jb}, {MediaForm, fb}} {
			got, err := ParseParams(b.media, b.body)
			if err != nil || !maps.Equal(got, p) {
				continue // not a message ParseParams reads back as p (an empty name, invalid UTF-8)
			}
			compared++
			if d := Ambiguity(got); !sameDecision(d, want) {
				t.Fatalf("%s %q: Ambiguity = %v; in another order %v", b.media, b.body, d, want)
			}
		}
	}
	return compared
}

// The order in which a body lists the parameters never changes the decision (nor the field and
// problem it names), as JSON or as a form.
func TestTheAmbiguityDecisionDoesNotDependOnParameterOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(26, 6))
	compared, ambiguous := 0, 0
	for range 2000 {
		p := randomInjection(r)
		compared += checkOrder(t, p, r)
		if Ambiguity(p) != nil {
			ambiguous++
		}
	}
	if compared < 4000 || ambiguous < 200 {
		t.Fatalf("%d bodies compared, %d ambiguous messages: too few", compared, ambiguous)
	}
}

// occurrences is every place in text where a name of names is followed by "=".
func occurrences(text string, names []string) map[namePlace]bool {
	out := map[namePlace]bool{}
	for _, k := range names {
		for at := 0; ; at++ {
			i := strings.Index(text[at:], k+"=")
			if i < 0 {
				break
			}
			at += i
			out[namePlace{k, at}] = true
		}
	}
	return out
}

// unrelatedAdded: p with k=v added is the same text with one more pair at its end, which brings
// no "name=" (of p's names, the known ones or k) into the text but k's own, and k is neither p's
// nor one APS feedback carries.
func unrelatedAdded(p map[string]string, k, v string) (map[string]string, bool) {
	if _, ok := p[k]; ok || k == "" || k == apssignature.SignatureParam || slices.Contains(knownParams, k) {
		return nil, false
	}
	if names, _, _ := signedLayout(p); len(names) == 0 || k < names[len(names)-1] {
		return nil, false // a pair among the others can hold text no pair could hold before
	}
	q := maps.Clone(p)
	q[k] = v
	names := append(slices.Sorted(maps.Keys(p)), knownParams...)
	_, _, before := signedLayout(p)
	_, home, after := signedLayout(q)
	at, size := home[k], len(k)+1+len(v)
	// Every place in the new text is an old place moved by the new pair, or k's own.
	old := occurrences(before, names)
	for o := range occurrences(after, append(names, k)) {
		switch {
		case o == namePlace{k, at}:
		case o.at+len(o.name)+1 <= at && old[o]:
		case o.at >= at+size && old[namePlace{o.name, o.at - size}]:
		default:
			return nil, false
		}
	}
	return q, true
}

// Adding a parameter that sorts after the others and brings no new "name=" into the signed text
// (an unrelated name, a value without a parameter's name and "=") never makes a valid message
// ambiguous: a reading of the new text either keeps it as its last pair or takes its pair into
// a last value that no checked parameter can have, so it was a reading before. (Among the
// others, a free-text pair can hold text no pair could hold before: see the next test.)
func TestAnUnrelatedLastParameterNeverMakesAMessageAmbiguous(t *testing.T) {
	r := rand.New(rand.NewPCG(26, 7))
	keys := []string{"zzz", "zzz_note", "zzz_status", "zzzcode", "tatus", "zz", "zz_code", "x"}
	vals := []string{"", "x", "14", "=", "status", "code", "merchant", "amount="}
	added := 0
	for range 12000 {
		p := randomInjection(r)
		if Validate(p) != nil || Ambiguity(p) != nil {
			continue
		}
		k := keys[r.IntN(len(keys))]
		v := vals[r.IntN(len(vals))] + vals[r.IntN(len(vals))]
		q, ok := unrelatedAdded(p, k, v)
		if !ok {
			continue
		}
		added++
		if err := Ambiguity(q); err != nil {
			t.Fatalf("%q is not ambiguous; with %s=%q added: %v", p, k, v, err)
		}
	}
	if added < 1000 {
		t.Fatalf("only %d parameters added to valid, unambiguous messages", added)
	}
}

// A free-text parameter among the others can make a message ambiguous: here b, between amount
// and command, holds command, currency and customer_email, so that customer_email can be read in
// merchant_extra's value. Without b, amount (digits) or currency (three letters) would have to
// hold that text, and no reading fits the merchant.
func TestAFreeTextParameterCanHoldTheTextOfAnotherReading(t *testing.T) {
	p := validParams()
	p["merchant_extra"] = "su=a@b.ccommand==customer_email="
	if err := Ambiguity(p); err != nil {
		t.Fatalf("without b: %v", err)
	}
	checkAmbiguity(t, p)
	p["b"] = "merchant="
	if _, ok := unrelatedAdded(validParams(), "b", "merchant="); ok {
		t.Fatal("b sorts first in validParams: not the case this test shows")
	}
	if err, ok := Ambiguity(p).(*AmbiguityError); !ok || err.Field != "merchant_extra" {
		t.Fatalf("with b: %v, want merchant_extra named", Ambiguity(p))
	}
	if d := checkAmbiguity(t, p); d != readsAsAnother {
		t.Fatalf("with b: decision %d", d)
	}
}

// seedRand is a generator seeded from the fuzz input, so a failure replays.
func seedRand(parts ...string) *rand.Rand {
	h := fnv.New64a()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return rand.New(rand.NewPCG(h.Sum64(), 26))
}

func FuzzAmbiguousExactlyWhenAnotherReadingVerifies(f *testing.F) {
	f.Add("statusx", "merchant_identifier=MxvOupuGresponse_code=13003status=13", "status", "14")
	f.Add("zz", "status=13token_name=T", "su", "")
	f.Add("", "=status=14", "x", "access_code=SILgpo7pWbmzuURp2qri")
	f.Add("merchant_extra", "giftmerchant_identifier=MxvOupuGstatus=14statusx=", "status", "13")
	f.Add("return_url", "https://shop.example/ok?status=ok&amount=100", "statusa", "")
	f.Add("command", "VOID_AUTHORIZATION", "token_name", "1status=140")
	f.Add("su", "", "x", "1status=140")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		p := validParams()
		p[k1], p[k2] = v1, v2
		checkAmbiguity(t, p)
		checkOrder(t, p, seedRand(k1, v1, k2, v2))
		if Ambiguity(p) == nil {
			if q, ok := unrelatedAdded(p, "zzz_note", "x"); ok {
				if err := Ambiguity(q); err != nil {
					t.Fatalf("%q is not ambiguous; with zzz_note=x added: %v", p, err)
				}
			}
		}
	})
}
