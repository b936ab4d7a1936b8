package apssignature

import (
	"iter"
	"slices"
)

// Resplit is another reading of the same signed text. Pairs are signed as name=value with no
// separator, so wherever "name=" also occurs inside the text, the name can be read there instead:
// the same signature then covers different parameters.
type Resplit struct {
	// Params is the other reading (without signature); its canonical string is the original's.
	Params map[string]string
	// Moved is the name read at another occurrence of "Moved=".
	Moved string
	// In is the parameter whose value (in the original) holds that occurrence; "" when the
	// occurrence overlaps a name.
	In string
	// Forward: the occurrence lies after Moved's own place, so the value before Moved swallows
	// "Moved=…". Otherwise Moved's new value swallows the text up to its own place.
	Forward bool
	// Skipped are the names that the other reading takes as text, in sort order.
	Skipped []string
}

type boundary struct {
	at   int // offset of the name in the canonical string
	name string
}

// Resplits yields the readings of params' canonical string that differ from params by reading one
// name at another occurrence of "name=". It does not yield readings that move several names at
// once, nor one whose new place begins inside another name that stays where it is (in
// "a=1acquirer_response_code=1response_code=14000", response_code read from inside
// acquirer_response_code); the ambiguity check searches such places itself, and the property tests
// (resplit_property_test.go) hold Resplits to exactly this set. Callers that check readings one by
// one bound how many they look at.
func Resplits(params map[string]string) iter.Seq[Resplit] {
	return TextOf(params).Resplits()
}

// Resplits is the package's Resplits of the parameters t was laid out from, in the same order: by
// name, then by offset.
func (t Text) Resplits() iter.Seq[Resplit] {
	return func(yield func(Resplit) bool) {
		text := t.Canonical
		// Every "name=" ends at an "=": look for the names only there.
		var buf [64]int
		eqs := buf[:0]
		for e := 0; e < len(text); e++ {
			if text[e] == '=' {
				eqs = append(eqs, e)
			}
		}
		var own []boundary // built at the first other occurrence: most messages have none
		for j, n := range t.Names {
			for _, e := range eqs {
				q := e - len(n)
				// The byte before "=" rules out most names without comparing them.
				if q < 0 || (len(n) > 0 && text[e-1] != n[len(n)-1]) || q == t.Starts[j] || text[q:e] != n {
					continue
				}
				if own == nil {
					own = make([]boundary, len(t.Names))
					for i, k := range t.Names {
						own[i] = boundary{t.Starts[i], k}
					}
				}
				if r, ok := resplitAt(text, own, j, q); ok && !yield(r) {
					return
				}
			}
		}
	}
}

// resplitAt reads own[j]'s name at offset q instead of its own place.
func resplitAt(text string, own []boundary, j, q int) (Resplit, bool) {
	n := own[j].name
	lo, hi := min(q, own[j].at), max(q, own[j].at)
	r := Resplit{Moved: n, Forward: q > own[j].at}
	bs := make([]boundary, 0, len(own))
	for i, b := range own {
		if v := b.at + len(b.name) + 1; v <= q && q+len(n)+1 <= end(own, i, text) {
			r.In = b.name // the occurrence lies inside this value
		}
		switch {
		case i == j:
			continue
		case (b.at > lo && b.at < hi) || (b.at > q && b.at < q+len(n)+1):
			// Between the two places, or covered by the moved name: read as text.
			r.Skipped = append(r.Skipped, b.name)
			continue
		}
		bs = append(bs, b)
	}
	at, _ := slices.BinarySearchFunc(bs, q, func(b boundary, q int) int { return b.at - q })
	bs = slices.Insert(bs, at, boundary{q, n})
	if bs[0].at != 0 {
		return Resplit{}, false // nothing before the moved name to hold the text in front of it
	}
	r.Params = make(map[string]string, len(bs))
	for i, b := range bs {
		start := b.at + len(b.name) + 1
		stop := len(text)
		if i+1 < len(bs) {
			stop = bs[i+1].at
		}
		if start > stop {
			return Resplit{}, false // a name would overlap the next one
		}
		if _, dup := r.Params[b.name]; dup {
			return Resplit{}, false
		}
		r.Params[b.name] = text[start:stop]
	}
	// The reading must sign to the same text: names in order, nothing lost.
	if Canonical(r.Params) != text {
		return Resplit{}, false
	}
	return r, true
}

// end is where own[i]'s pair ends in text.
func end(own []boundary, i int, text string) int {
	if i+1 < len(own) {
		return own[i+1].at
	}
	return len(text)
}
