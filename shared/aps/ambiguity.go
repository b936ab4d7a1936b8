package aps

import (
	"cmp"
	"slices"
	"strings"

	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
)

// DocumentedCommands are the values of `command` APS documents for the operations whose results
// its feedback carries (purchase, authorization, capture, refund, void). Tokenization results
// carry `service_command` instead.
var DocumentedCommands = []string{"AUTHORIZATION", "PURCHASE", "CAPTURE", "REFUND", "VOID_AUTHORIZATION"}

// knownParams are parameters APS feedback carries besides the message's own: a reading may use
// them where the message swallowed them into a value.
var knownParams = []string{
	"access_code", "acquirer_response_code", "acquirer_response_message", "agreement_id", "amount",
	"authorization_code", "card_bin", "card_holder_name", "card_number", "command", "currency",
	"customer_email", "customer_ip", "customer_name", "digital_wallet", "eci", "expiry_date", "fort_id",
	"installments", "language", "merchant_extra", "merchant_extra1", "merchant_extra2", "merchant_extra3",
	"merchant_extra4", "merchant_extra5", "merchant_identifier", "merchant_reference", "number_of_installments",
	"order_description", "payment_option", "phone_number", "reconciliation_reference", "remember_me",
	"response_code", "response_message", "return_url", "service_command", "settlement_reference", "status",
	"token_name",
}

// sortedKnownParams is knownParams sorted, once: the search reads names in sort order.
var sortedKnownParams = slices.Compact(slices.Sorted(slices.Values(knownParams)))

// knownEnding lists, for each byte, the indexes in sortedKnownParams of the names that end with
// it: only those can end at an "=" that follows the byte.
var knownEnding = func() (idx [256][]uint8) {
	for i, k := range sortedKnownParams {
		idx[k[len(k)-1]] = append(idx[k[len(k)-1]], uint8(i))
	}
	return idx
}()

// Bounds on the search for other readings: an APS message has a handful of "=" in its values, so
// a message with more is quarantined rather than searched.
const (
	maxReadings   = 64
	maxCandidates = 512
)

// AmbiguityError says that a verified message may not be the one APS signed: its signed text
// also reads as another message. Such a message is quarantined, never announced.
type AmbiguityError struct {
	Field   string
	Problem string
}

func (e *AmbiguityError) Error() string { return e.Field + ": " + e.Problem }

// Ambiguity reports whether p, verified and valid, could have been made from another message APS
// signed by re-splitting its parameters (pairs are signed as name=value with no separator, so
// text can move between parameters without changing the signature); nil when it could not.
//
//   - A command outside DocumentedCommands: a swallowed or moved text would show there.
//   - A value that holds its own name or its previous neighbour's name followed by "=": what a
//     forger's swallowing parameter looks like.
//   - A reading of the same text that names the same merchant, has valid status, response_code,
//     amount, currency and command, and reads one of p's names at another place. A return_url
//     with "?status=ok&amount=100" has none: read there, status would be "ok&amount=100status=14".
func Ambiguity(p map[string]string) error {
	return ambiguity(p, apssignature.TextOf(p))
}

// ambiguity is Ambiguity of p, whose signed text is t.
func ambiguity(p map[string]string, t apssignature.Text) error {
	if c := p["command"]; c != "" && !slices.Contains(DocumentedCommands, c) {
		return &AmbiguityError{"command", "is not a command APS documents, so the parameters may have been re-split"}
	}
	ps := placesOf(t)
	// A re-split reads one of p's names at another place: where the survey, complete, found
	// none, t.Resplits has nothing to yield (most messages).
	if ps.moves || ps.n > maxCandidates {
		n := 0
		for r := range t.Resplits() {
			if n++; n > maxReadings {
				return &AmbiguityError{"body", "the signed text can be read in too many ways to check"}
			}
			if r.Forward && len(r.Skipped) <= 1 && r.In != "" {
				return &AmbiguityError{r.In, "holds \"" + r.Moved + "=\", its own or the previous parameter's name: the signed text also reads as another message"}
			}
		}
	}
	if in, ok := readsOtherwise(p, ps); ok {
		if in == "" {
			return &AmbiguityError{"body", "the signed text has too many places to re-split to check"}
		}
		return &AmbiguityError{in, "holds text that reads as parameters: the signed text also reads as another valid message"}
	}
	return nil
}

// candidate is a place where a reading may start a parameter: name followed by "=".
type candidate struct {
	at   int
	name string
	own  bool // p's own parameter starts here; for the empty name (ParseParams refuses it) also where none does, as always
	ours bool // the name is one of p's
	home bool // p's parameter of this name starts here (own, without the empty name's exception)
}

// places are the candidates in a message's signed text: where p's names or the known ones end
// at an "=". placesOf surveys them in one pass; each visits them again for the rare message
// whose readings need searching.
type places struct {
	t     apssignature.Text
	has   uint64   // bit i: p has sortedKnownParams[i] (a test keeps them within 64)
	extra []string // p's names that are not known
	n     int      // how many candidates, counted up to maxCandidates+1
	moves bool     // some candidate reads one of p's names away from its home
}

func placesOf(t apssignature.Text) places {
	ps := places{t: t}
	for _, k := range t.Names {
		if i, ok := knownIndex(k); ok {
			ps.has |= 1 << i
		} else {
			ps.extra = append(ps.extra, k)
		}
	}
	ps.each(func(c candidate) bool {
		ps.n++
		ps.moves = ps.moves || (c.ours && !c.home)
		return ps.n <= maxCandidates
	})
	return ps
}

// knownIndex is k's index in sortedKnownParams.
func knownIndex(k string) (int, bool) {
	if k == "" {
		return 0, false
	}
	for _, i := range knownEnding[k[len(k)-1]] {
		if sortedKnownParams[i] == k {
			return int(i), true
		}
	}
	return 0, false
}

// each calls visit with the candidates in the order of their "=" until visit returns false.
func (ps places) each(visit func(candidate) bool) {
	t, text := ps.t, ps.t.Canonical
	j := 0 // the pair whose own "=" is the first at or after e
	found := func(e int, k string, ours bool) bool {
		// A name that ends at its pair's own "=" and is as long as the pair's name is that name.
		home := j < len(t.Names) && t.Starts[j]+len(t.Names[j]) == e && len(t.Names[j]) == len(k)
		own := home
		if k == "" && !home {
			_, starts := t.Pair(e)
			own = !starts
		}
		return visit(candidate{at: e - len(k), name: k, own: own, ours: ours, home: home})
	}
	// A name can end at an "=" only if it ends with the byte before it.
	for e := strings.IndexByte(text, '='); e >= 0; e = nextEq(text, e) {
		for j < len(t.Names) && t.Starts[j]+len(t.Names[j]) < e {
			j++
		}
		if e > 0 {
			for _, ki := range knownEnding[text[e-1]] {
				k := sortedKnownParams[ki]
				if e >= len(k) && text[e-len(k):e] == k && !found(e, k, ps.has&(1<<ki) != 0) {
					return
				}
			}
		}
		for _, k := range ps.extra {
			if e >= len(k) && (k == "" || text[e-1] == k[len(k)-1]) && text[e-len(k):e] == k && !found(e, k, true) {
				return
			}
		}
	}
}

// Reading states: which required parameters a partial reading has, and whether it read one of
// p's names at another place.
const (
	hasMerchant = 1 << iota
	hasAccessCode
	hasOutcome
	relocated
	complete = hasMerchant | hasAccessCode | hasOutcome | relocated
)

// readsOtherwise searches the readings of p's signed text whose names come from p and
// knownParams, in sort order, for one that passes validation, names p's merchant and reads one of
// p's names at another place. It returns the parameter of p whose pair holds that place (or ""
// when the text has too many places to search, which counts as ambiguous).
func readsOtherwise(p map[string]string, ps places) (string, bool) {
	if ps.n > maxCandidates {
		return "", true
	}
	// A reading passes only if it reads one of p's names at another place: without such a
	// place there is nothing to search.
	if !ps.moves {
		return "", false
	}
	t, text := ps.t, ps.t.Canonical
	cands := make([]candidate, 0, ps.n)
	ps.each(func(c candidate) bool { cands = append(cands, c); return true })
	slices.SortFunc(cands, func(a, b candidate) int { return cmp.Or(a.at-b.at, strings.Compare(a.name, b.name)) })

	// holder is p's parameter whose pair holds offset at.
	holder := func(at int) string {
		i, _ := t.Pair(at)
		return t.Names[i]
	}
	// reach[i] holds the states of readings whose last parameter starts at cands[i]; moved[i][s]
	// remembers, for the answer, the parameter of p that holds a name read elsewhere.
	reach := make([]uint16, len(cands))
	moved := make([][complete + 1]string, len(cands))
	for i, c := range cands {
		if c.at == 0 {
			reach[i] = 1 // state 0
		}
	}
	step := func(i int, value string, s int) (int, string, bool) {
		c := cands[i]
		if !acceptable(p, c.name, value) {
			return 0, "", false
		}
		m := moved[i][s]
		switch c.name {
		case "merchant_identifier":
			s |= hasMerchant
		case "access_code":
			s |= hasAccessCode
		case "status", "response_code":
			s |= hasOutcome
		}
		if c.ours && !c.own {
			s |= relocated
			m = cmp.Or(m, holder(c.at))
		}
		return s, m, true
	}
	for i, c := range cands {
		if reach[i] == 0 {
			continue
		}
		start := c.at + len(c.name) + 1
		for s := range complete + 1 {
			if reach[i]&(1<<s) == 0 {
				continue
			}
			if end, m, ok := step(i, text[start:], s); ok && end == complete {
				return m, true
			}
			for j := i + 1; j < len(cands); j++ {
				d := cands[j]
				if d.at < start || d.name <= c.name {
					continue
				}
				if next, m, ok := step(i, text[start:d.at], s); ok {
					if reach[j]&(1<<next) == 0 {
						moved[j][next] = m
					}
					reach[j] |= 1 << next
				}
			}
		}
	}
	return "", false
}

// acceptable: value could be name's in a message APS signed for p's merchant.
func acceptable(p map[string]string, name, value string) bool {
	switch name {
	case "merchant_identifier", "access_code":
		return value == p[name]
	case "status":
		return digits(value, 2, 2)
	case "response_code":
		return digits(value, 5, 5)
	case "amount":
		return digits(value, 1, 18)
	case "currency":
		return upperLetters(value, 3)
	case "command":
		return slices.Contains(DocumentedCommands, value)
	}
	return true
}

// nextEq is the offset of the first "=" after offset e in text, or -1.
func nextEq(text string, e int) int {
	if i := strings.IndexByte(text[e+1:], '='); i >= 0 {
		return e + 1 + i
	}
	return -1
}
