package apssignature

import (
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// These tests hold Resplits to what a reading is, not to another implementation of it: a reading
// is a message whose signed text is the original's, so it re-signs to the original's signature;
// the readings Resplits promises are those that read one name at another occurrence of "name=".
// The oracle below finds those by brute force (every name, every place its "name=" occurs, every
// choice of the other names to keep) and keeps only what signs to the same text.

// place is where a reading reads a name: the name and the offset of "name=" in the signed text.
type place struct {
	name string
	at   int
}

// layout is p's signed text written from its definition (names but the signature, in byte
// order, as name=value with nothing between) and the offset where each name's pair starts.
func layout(p map[string]string) (names []string, home map[string]int, text string) {
	for k := range p {
		if k != SignatureParam {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	home = make(map[string]int, len(names))
	for _, k := range names {
		home[k] = len(text)
		text += k + "=" + p[k]
	}
	return names, home, text
}

// oneMoveReadings is, by brute force, every map made of p's names in which exactly one name
// stands at another occurrence of "name=" than its own, every other name at its own place, and
// which signs to p's text. For each moved name and new place it keeps the largest such map: the
// one that takes the fewest of p's other names as text.
func oneMoveReadings(p map[string]string) map[place]map[string]string {
	names, home, text := layout(p)
	out := map[place]map[string]string{}
	for j, n := range names {
		others := slices.Delete(slices.Clone(names), j, j+1)
		for q := 0; q+len(n) < len(text); q++ {
			if q == home[n] || !strings.HasPrefix(text[q:], n+"=") {
				continue
			}
			for keep := 0; keep < 1<<len(others); keep++ {
				at := []place{{n, q}}
				for i, k := range others {
					if keep&(1<<i) != 0 {
						at = append(at, place{k, home[k]})
					}
				}
				slices.SortFunc(at, func(a, b place) int { return a.at - b.at })
				if r, ok := readAt(text, at); ok && signsAs(r, text, at) {
					if cur, seen := out[place{n, q}]; !seen || len(r) > len(cur) {
						out[place{n, q}] = r
					}
				}
			}
		}
	}
	return out
}

// readAt reads text with a name at each place (in the order of offsets): each value runs to the
// next place. It fails when the first place is not the start or a name runs into the next place.
func readAt(text string, at []place) (map[string]string, bool) {
	if len(at) == 0 || at[0].at != 0 {
		return nil, false
	}
	r := make(map[string]string, len(at))
	for i, b := range at {
		start, stop := b.at+len(b.name)+1, len(text)
		if i+1 < len(at) {
			stop = at[i+1].at
		}
		if start > stop {
			return nil, false
		}
		r[b.name] = text[start:stop]
	}
	return r, true
}

// signsAs: r's signed text is text, with each name where at places it (two names may write the
// same text, "a==b" as a "=b" or as a= "b", and sort the other way round).
func signsAs(r map[string]string, text string, at []place) bool {
	_, home, signed := layout(r)
	for _, b := range at {
		if home[b.name] != b.at {
			return false
		}
	}
	return signed == text
}

var algorithms = []Algorithm{SHA256, SHA512, HMACSHA256, HMACSHA512}

// reSigns: reading r of p makes p's signature with every algorithm, and verifies with it.
func reSigns(t *testing.T, p, r map[string]string) {
	t.Helper()
	for _, alg := range algorithms {
		s, _ := NewSigner(alg, "PASS")
		v, _ := NewVerifier(alg, "PASS")
		sig := s.Sign(p)
		if got := s.Sign(r); got != sig {
			t.Fatalf("%s: reading %q of %q signs to %s, the message to %s", alg, r, p, got, sig)
		}
		withSig := maps.Clone(r)
		withSig[SignatureParam] = sig
		if err := v.Verify(withSig); err != nil {
			t.Fatalf("%s: reading %q of %q with the message's signature: %v", alg, r, p, err)
		}
	}
}

// startsInAKeptName: the new place begins inside another name's own "name=" (its first byte
// included) that stays where it is because it does not lie between the moved name's two places.
// Resplits yields no reading there, though one that also takes that name as text may exist; such
// a reading has no In (Ambiguity's rule on moved names ignores it) and readsOtherwise searches
// those places itself.
func startsInAKeptName(p map[string]string, pl place) bool {
	names, home, _ := layout(p)
	lo, hi := min(pl.at, home[pl.name]), max(pl.at, home[pl.name])
	for _, k := range names {
		h := home[k]
		if k != pl.name && h <= pl.at && pl.at < h+len(k)+1 && !(h > lo && h < hi) {
			return true
		}
	}
	return false
}

// checkReadings checks every reading Resplits yields for p against the brute-force one-move
// readings, and that it misses none; it returns how many it yielded and how many places it
// leaves out because they begin in a kept name.
func checkReadings(t *testing.T, p map[string]string) (yielded, inKeptName int) {
	t.Helper()
	names, home, text := layout(p)
	if c := Canonical(p); c != text {
		t.Fatalf("Canonical(%q) = %q, signed text by definition %q", p, c, text)
	}
	want := oneMoveReadings(p)
	seen := map[place]bool{}
	var last *place
	for r := range Resplits(p) {
		_, rhome, _ := layout(r.Params)
		at, ok := rhome[r.Moved]
		if !ok {
			t.Fatalf("%q: reading %q lacks its moved name %q", p, r.Params, r.Moved)
		}
		pl := place{r.Moved, at}
		if last != nil && (pl.name < last.name || pl.name == last.name && pl.at <= last.at) {
			t.Fatalf("%q: reading %v after %v: not by name, then by offset", p, pl, *last)
		}
		last = &pl
		seen[pl] = true
		w, ok := want[pl]
		if !ok {
			t.Fatalf("%q: reading %q (%q at %d) is no one-move reading that signs to the same text", p, r.Params, pl.name, pl.at)
		}
		if !maps.Equal(r.Params, w) {
			t.Fatalf("%q: reading %q, but the largest one-move reading with %q at %d is %q", p, r.Params, pl.name, pl.at, w)
		}
		reSigns(t, p, r.Params)
		// The description of the reading says what it is.
		if fwd := pl.at > home[pl.name]; r.Forward != fwd {
			t.Fatalf("%q: reading %q: Forward = %v, moved from %d to %d", p, r.Params, r.Forward, home[pl.name], pl.at)
		}
		var skipped []string
		for _, k := range names {
			if _, ok := r.Params[k]; !ok {
				skipped = append(skipped, k)
			}
		}
		if !slices.Equal(r.Skipped, skipped) {
			t.Fatalf("%q: reading %q: Skipped = %q, the names it takes as text are %q", p, r.Params, r.Skipped, skipped)
		}
		in := ""
		for _, k := range names {
			if v := home[k] + len(k) + 1; v <= pl.at && pl.at+len(pl.name)+1 <= v+len(p[k]) {
				in = k
			}
		}
		if r.In != in {
			t.Fatalf("%q: reading %q: In = %q, %q= at %d lies in the value of %q", p, r.Params, r.In, pl.name, pl.at, in)
		}
		if maps.Equal(r.Params, withoutSignature(p)) {
			t.Fatalf("%q: reading %q is the message itself", p, r.Params)
		}
	}
	for pl, w := range want {
		if seen[pl] {
			continue
		}
		if startsInAKeptName(p, pl) {
			inKeptName++
			continue
		}
		t.Fatalf("%q: no reading with %q at %d, though %q signs to the same text", p, pl.name, pl.at, w)
	}
	return len(seen), inKeptName
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

// Every reading Resplits yields re-signs to the message's signature, with every algorithm.
func TestEveryReadingOfAnAPSTextReSignsToTheSameSignature(t *testing.T) {
	r := rand.New(rand.NewPCG(26, 1))
	readings := 0
	for range 3000 {
		p := randomMessage(r)
		for rs := range Resplits(p) {
			reSigns(t, p, rs.Params)
			readings++
		}
	}
	if readings < 200 {
		t.Fatalf("only %d readings: the messages do not exercise re-splits", readings)
	}
}

// Resplits yields exactly the one-move readings of the text, the largest at each place, by name
// then by offset, each described as it is; the only places it leaves out begin inside a name it
// keeps.
func TestResplitsYieldsEveryReadingThatMovesOneName(t *testing.T) {
	r := rand.New(rand.NewPCG(26, 2))
	yielded, inKeptName := 0, 0
	for range 20000 {
		y, k := checkReadings(t, randomMessage(r))
		yielded, inKeptName = yielded+y, inKeptName+k
	}
	if yielded < 1000 {
		t.Fatalf("only %d readings: the messages do not exercise re-splits", yielded)
	}
	t.Logf("%d readings, %d places left out inside a kept name", yielded, inKeptName)
}

// The readings Resplits leaves out begin inside a name it keeps: here "response_code=" inside
// "acquirer_response_code=". The oracle finds the reading that takes acquirer_response_code as
// text; Resplits yields none, and that reading has no In.
func TestResplitsLeavesOutAPlaceInsideAKeptName(t *testing.T) {
	p := map[string]string{"a": "1", "acquirer_response_code": "1", "response_code": "14000"}
	pl := place{"response_code", len("a=1acquirer_")}
	want := oneMoveReadings(p)
	if w, ok := want[pl]; !ok || !maps.Equal(w, map[string]string{"a": "1acquirer_", "response_code": "1response_code=14000"}) {
		t.Fatalf("oracle: %v", want)
	}
	if !startsInAKeptName(p, pl) {
		t.Fatal("the place does not begin inside a kept name")
	}
	if got := collect(p); len(got) != 0 {
		t.Fatalf("Resplits yields %+v", got)
	}
}

func FuzzEveryReadingReSignsAndNoneIsMissed(f *testing.F) {
	f.Add("a", "1b=2", "b", "3", "", "=")
	f.Add("0", "z", "a", "1", "b", "2a=3")
	f.Add("status", "14", "sub_status", "2", "a", "1status=")
	f.Add("", "==", "a=", "=a==", "x", "a==x=")
	f.Add("a", "1", "acquirer_response_code", "1", "response_code", "14000")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string) {
		p := map[string]string{k1: v1, k2: v2, k3: v3}
		if len(Canonical(p)) > 4096 {
			return // the brute force is quadratic in the text; short texts hold every shape
		}
		checkReadings(t, p)
	})
}

// TextOf lays a message out as Canonical writes it: names in byte order without the signature,
// each pair's offset, and Pair finds the pair that holds an offset.
func TestTextOfLaysOutTheSignedText(t *testing.T) {
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

// TextOf is the layout of the signed text for any message: Canonical, its names and where each
// pair starts, as written from the definition.
func TestTextOfIsTheSignedTextForAnyMessage(t *testing.T) {
	r := rand.New(rand.NewPCG(26, 3))
	for range 2000 {
		p := randomMessage(r)
		names, home, text := layout(p)
		got := TextOf(p)
		if got.Canonical != text || !slices.Equal(got.Names, names) || len(got.Starts) != len(names) {
			t.Fatalf("%q: TextOf = %+v, want %q %q", p, got, names, text)
		}
		for i, k := range names {
			if got.Starts[i] != home[k] {
				t.Fatalf("%q: Starts[%d] = %d, want %d", p, i, got.Starts[i], home[k])
			}
		}
	}
}
