package apssignature

import (
	"iter"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// resplitsRef is Resplits as it was before issue 13 (every name compared at every "="), kept as
// the reference the faster scan is compared with.
//
// It yields every reading of params' canonical string that differs from params by reading
// one name at another occurrence of "name=". It does not yield readings that move several names at
// once; callers that check readings one by one bound how many they look at.
func resplitsRef(params map[string]string) iter.Seq[Resplit] {
	return func(yield func(Resplit) bool) {
		names := make([]string, 0, len(params))
		for k := range params {
			if k != SignatureParam {
				names = append(names, k)
			}
		}
		slices.Sort(names)
		text := Canonical(params)
		own := make([]boundary, len(names))
		at := 0
		for i, k := range names {
			own[i] = boundary{at, k}
			at += len(k) + 1 + len(params[k])
		}
		// Every "name=" ends at an "=": look for the names only there, in the order of offsets.
		var eqs []int
		for e := 0; e < len(text); e++ {
			if text[e] == '=' {
				eqs = append(eqs, e)
			}
		}
		for j, n := range names {
			for _, e := range eqs {
				q := e - len(n)
				if q < 0 || text[q:e] != n || q == own[j].at {
					continue
				}
				if r, ok := resplitAtRef(text, own, j, q); ok && !yield(r) {
					return
				}
			}
		}
	}
}

// resplitAt reads own[j]'s name at offset q instead of its own place.
func resplitAtRef(text string, own []boundary, j, q int) (Resplit, bool) {
	n := own[j].name
	lo, hi := min(q, own[j].at), max(q, own[j].at)
	r := Resplit{Moved: n, Forward: q > own[j].at}
	bs := make([]boundary, 0, len(own))
	for i, b := range own {
		if v := b.at + len(b.name) + 1; v <= q && q+len(n)+1 <= endRef(own, i, text) {
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
func endRef(own []boundary, i int, text string) int {
	if i+1 < len(own) {
		return own[i+1].at
	}
	return len(text)
}

// randomMessage builds a message from few short names and values made of names, "=" and
// filler, so that names recur inside values, overlap names and end where others end.
func randomMessage(r *rand.Rand) map[string]string {
	pool := []string{"", "a", "b", "ab", "ba", "a=", "=b", "status", "sub_status", "statusx", "amount", "x", "signature"}
	frag := append(slices.Clone(pool), "=", "==", "1", "14", "z")
	p := map[string]string{}
	for range 1 + r.IntN(6) {
		var v strings.Builder
		for range r.IntN(6) {
			v.WriteString(frag[r.IntN(len(frag))])
		}
		p[pool[r.IntN(len(pool))]] = v.String()
	}
	return p
}

// readingsEqual compares two sequences of readings, order included.
func readingsEqual(a, b []Resplit) bool {
	return slices.EqualFunc(a, b, func(x, y Resplit) bool {
		return maps.Equal(x.Params, y.Params) && x.Moved == y.Moved && x.In == y.In &&
			x.Forward == y.Forward && slices.Equal(x.Skipped, y.Skipped)
	})
}

func collectRef(p map[string]string) []Resplit {
	var out []Resplit
	for r := range resplitsRef(p) {
		out = append(out, r)
	}
	return out
}

// Issue 13: Resplits reads the laid-out text instead of sorting and concatenating the parameters
// again, and tests the byte before each "=" first; it yields what it yielded before, in the same
// order, for random messages rich in names and "=".
func TestIssue13_ResplitsAsBefore(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 4))
	found := 0
	for range 20000 {
		p := randomMessage(r)
		got, want := collect(p), collectRef(p)
		if !readingsEqual(got, want) {
			t.Fatalf("%q:\nResplits  %+v\nreference %+v", p, got, want)
		}
		found += len(want)
	}
	if found < 1000 {
		t.Fatalf("only %d readings in all: the messages do not exercise re-splits", found)
	}
}

func FuzzIssue13_ResplitsAsBefore(f *testing.F) {
	f.Add("a", "1b=2", "b", "3", "", "=")
	f.Add("0", "z", "a", "1", "b", "2a=3")
	f.Add("status", "14", "sub_status", "2", "a", "1status=")
	f.Add("", "==", "a=", "=a==", "x", "a==x=")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string) {
		p := map[string]string{k1: v1, k2: v2, k3: v3}
		if got, want := collect(p), collectRef(p); !readingsEqual(got, want) {
			t.Fatalf("%q:\nResplits  %+v\nreference %+v", p, got, want)
		}
	})
}

func TestIssue13_TextOf(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		names  []string
		starts []int
	}{
		{"empty", map[string]string{}, []string{}, []int{}},
		{"only a signature", map[string]string{"signature": "x"}, []string{}, []int{}},
		{"byte order, signature left out", map[string]string{"b": "1", "B": "22", "a_b": "", "signature": "s"}, []string{"B", "a_b", "b"}, []int{0, 4, 8}},
		{"an empty name", map[string]string{"": "=", "a": "1"}, []string{"", "a"}, []int{0, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := TextOf(tc.params)
			if got.Canonical != Canonical(tc.params) || !slices.Equal(got.Names, tc.names) || !slices.Equal(got.Starts, tc.starts) {
				t.Fatalf("TextOf = %+v, want names %q starts %v canonical %q", got, tc.names, tc.starts, Canonical(tc.params))
			}
			for i, at := range got.Starts {
				if j, starts := got.Pair(at); j != i || !starts {
					t.Errorf("Pair(%d) = %d, %v; want %d, true", at, j, starts, i)
				}
				// The "=" after the name lies inside the pair.
				if j, starts := got.Pair(at + len(got.Names[i])); got.Names[i] != "" && (j != i || starts) {
					t.Errorf("Pair(%d) = %d, %v; want %d, false", at+len(got.Names[i]), j, starts, i)
				}
			}
		})
	}
}
