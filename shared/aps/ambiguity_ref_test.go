package aps

import (
	"cmp"
	"slices"
	"strings"

	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
)

// union merges (the reference's helper) the sorted, duplicate-free a and b into one sorted, duplicate-free list.
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

// ambiguityRef is Ambiguity as it was before issue 13, kept as the reference the faster one is
// compared with (apssignature compares Resplits with its own reference).
func ambiguityRef(p map[string]string) error {
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
	if in, ok := readsOtherwiseRef(p); ok {
		if in == "" {
			return &AmbiguityError{"body", "the signed text has too many places to re-split to check"}
		}
		return &AmbiguityError{in, "holds text that reads as parameters: the signed text also reads as another valid message"}
	}
	return nil
}

// readsOtherwiseRef is readsOtherwise as it was before issue 13 (every known name compared at
// every "=", a map of the pairs' starts), kept as the reference. It searches the readings of p's signed text whose names come from p and
// knownParams, in sort order, for one that passes validation, names p's merchant and reads one of
// p's names at another place. It returns the parameter of p whose pair holds that place (or ""
// when the text has too many places to search, which counts as ambiguous).
func readsOtherwiseRef(p map[string]string) (string, bool) {
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
				cands = append(cands, candidate{at: at, name: k, own: own[at] == k})
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
