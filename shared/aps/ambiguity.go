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

// sortedKnownParams is knownParams sorted, once: readsOtherwise merges it with each message's names.
var sortedKnownParams = slices.Compact(slices.Sorted(slices.Values(knownParams)))

// union merges the sorted, duplicate-free a and b into one sorted, duplicate-free list.
func union(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		switch c := strings.Compare(a[0], b[0]); {
		case c < 0:
			out, a = append(out, a[0]), a[1:]
		case c > 0:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	return append(append(out, a...), b...)
}

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
	if c := p["command"]; c != "" && !slices.Contains(DocumentedCommands, c) {
		return &AmbiguityError{"command", "is not a command APS documents, so the parameters may have been re-split"}
	}
	n := 0
	for r := range apssignature.Resplits(p) {
		if n++; n > maxReadings {
			return &AmbiguityError{"body", "the signed text can be read in too many ways to check"}
		}
		if r.Forward && len(r.Skipped) <= 1 && r.In != "" {
			return &AmbiguityError{r.In, "holds \"" + r.Moved + "=\", its own or the previous parameter's name: the signed text also reads as another message"}
		}
	}
	if in, ok := readsOtherwise(p); ok {
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
	own  bool // p's own parameter starts here
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
func readsOtherwise(p map[string]string) (string, bool) {
	text := apssignature.Canonical(p)
	own := map[int]string{}
	var starts []int
	at := 0
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range p {
			if k != apssignature.SignatureParam && !yield(k) {
				return
			}
		}
	})
	for _, k := range names {
		own[at] = k
		starts = append(starts, at)
		at += len(k) + 1 + len(p[k])
	}
	// Every "name=" ends at an "=": one pass over the text's "=" finds them all, in any order
	// (they are sorted below).
	all := union(names, sortedKnownParams)
	var cands []candidate
	for e := 0; e < len(text); e++ {
		if text[e] != '=' {
			continue
		}
		for _, k := range all {
			if at := e - len(k); at >= 0 && text[at:e] == k {
				cands = append(cands, candidate{at, k, own[at] == k})
				if len(cands) > maxCandidates {
					return "", true
				}
			}
		}
	}
	// A reading passes only if it reads one of p's names at another place: without such a
	// place there is nothing to search.
	if !slices.ContainsFunc(cands, func(c candidate) bool { _, ours := p[c.name]; return ours && !c.own }) {
		return "", false
	}
	slices.SortFunc(cands, func(a, b candidate) int { return cmp.Or(a.at-b.at, strings.Compare(a.name, b.name)) })

	// holder is p's parameter whose pair holds offset at.
	holder := func(at int) string {
		i, found := slices.BinarySearch(starts, at)
		if !found {
			i--
		}
		return own[starts[i]]
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
		if _, ours := p[c.name]; ours && !c.own {
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
