package apssignature

import (
	"slices"
	"strings"
)

// Text is a message's signed text laid out once: the names in byte order, where each pair starts
// and the text itself. The checks of one delivery (re-splits, the idempotency key) read it instead
// of sorting and concatenating the parameters again each.
type Text struct {
	Names     []string // every parameter but the signature, in byte order
	Starts    []int    // Starts[i] is the offset of Names[i]'s "name=value" in Canonical
	Canonical string   // what Canonical returns
}

// TextOf lays out params' signed text.
func TextOf(params map[string]string) Text {
	names, size := signedNames(params)
	starts := make([]int, len(names))
	var b strings.Builder
	b.Grow(size)
	for i, k := range names {
		starts[i] = b.Len()
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
	}
	return Text{Names: names, Starts: starts, Canonical: b.String()}
}

// Pair is the index of the pair whose text holds offset at (0 <= at < len(Canonical)), and whether
// that pair starts there.
func (t Text) Pair(at int) (int, bool) {
	i, found := slices.BinarySearch(t.Starts, at)
	if !found {
		i--
	}
	return i, found
}

// signedNames is params' names but the signature, sorted, and the length of their signed text.
func signedNames(params map[string]string) ([]string, int) {
	names := make([]string, 0, len(params))
	size := 0
	for k, v := range params {
		if k == SignatureParam {
			continue
		}
		names = append(names, k)
		size += len(k) + len(v) + 1
	}
	slices.Sort(names)
	return names, size
}
