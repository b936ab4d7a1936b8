package apssignature

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func collect(p map[string]string) []Resplit {
	var out []Resplit
	for r := range Resplits(p) {
		out = append(out, r)
	}
	return out
}

// checkReading holds for every reading: it signs to the same text, and it is another message.
func checkReading(t *testing.T, p map[string]string, r Resplit) {
	t.Helper()
	if Canonical(r.Params) != Canonical(p) {
		t.Fatalf("reading %v: canonical %q, want %q", r.Params, Canonical(r.Params), Canonical(p))
	}
	if maps.Equal(r.Params, withoutSignature(p)) {
		t.Fatalf("reading %v is the message itself", r.Params)
	}
	if _, ok := r.Params[r.Moved]; !ok {
		t.Fatalf("reading %v lacks the moved name %q", r.Params, r.Moved)
	}
	if r.In != "" && !strings.Contains(p[r.In], r.Moved+"=") {
		t.Fatalf("In = %q, whose value %q does not hold %q", r.In, p[r.In], r.Moved+"=")
	}
	for _, k := range r.Skipped {
		if _, ok := r.Params[k]; ok {
			t.Fatalf("skipped %q is still a parameter of %v", k, r.Params)
		}
	}
}

func withoutSignature(p map[string]string) map[string]string {
	out := maps.Clone(p)
	delete(out, SignatureParam)
	return out
}

func TestResplits(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		want   []Resplit
	}{
		{"no = in any value", purchase, nil},
		{"the next name in a value: it can be read earlier",
			map[string]string{"a": "1b=2", "b": "3", "signature": "x"},
			[]Resplit{{Params: map[string]string{"a": "1", "b": "2b=3"}, Moved: "b", In: "a"}}},
		{"a value holding its own name: it can be read later",
			map[string]string{"a": "1", "b": "2b=3"},
			[]Resplit{{Params: map[string]string{"a": "1b=2", "b": "3"}, Moved: "b", In: "b", Forward: true}}},
		{"the previous name in a value: the one before swallows the one between",
			map[string]string{"0": "z", "a": "1", "b": "2a=3"},
			[]Resplit{{Params: map[string]string{"0": "za=1b=2", "a": "3"}, Moved: "a", In: "b", Forward: true, Skipped: []string{"b"}}}},
		{"the first name cannot move later: nothing holds the text before it",
			map[string]string{"a": "1", "b": "2a=3"}, nil},
		{"a name further away: everything between is swallowed",
			map[string]string{"a": "1", "b": "2", "c": "3", "d": "4b=5"},
			[]Resplit{{Params: map[string]string{"a": "1b=2c=3d=4", "b": "5"}, Moved: "b", In: "d", Forward: true, Skipped: []string{"c", "d"}}}},
		{"an occurrence that starts inside a name",
			map[string]string{"a": "1", "status": "14", "sub_status": "2"},
			[]Resplit{{Params: map[string]string{"a": "1status=14sub_", "status": "2"}, Moved: "status", Forward: true, Skipped: []string{"sub_status"}}}},
		{"an occurrence that would split a kept name is no reading",
			map[string]string{"acquirer_response_code": "1", "response_code": "14000"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := collect(tc.params)
			for _, r := range got {
				checkReading(t, tc.params, r)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d readings %+v, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if !maps.Equal(g.Params, w.Params) || g.Moved != w.Moved || g.In != w.In || g.Forward != w.Forward || !slices.Equal(g.Skipped, w.Skipped) {
					t.Errorf("reading %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// A reading verifies with the original's signature: that is the attack the readings describe.
func TestResplitKeepsTheSignature(t *testing.T) {
	s, _ := NewSigner(SHA256, "PASS")
	v, _ := NewVerifier(SHA256, "PASS")
	p := with(purchase, "customer_email", "x@example.commerchant_identifier=MxvOupuG")
	sig := s.Sign(p)
	n := 0
	for r := range Resplits(p) {
		n++
		r.Params[SignatureParam] = sig
		if err := v.Verify(r.Params); err != nil {
			t.Errorf("reading %v: %v", r.Params, err)
		}
	}
	if n == 0 {
		t.Fatal("no reading found")
	}
}

func TestResplitsStopsWhenAsked(t *testing.T) {
	p := map[string]string{"0": "x", "a": strings.Repeat("a=", 100)}
	n := 0
	for range Resplits(p) {
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Fatalf("n = %d", n)
	}
}

func FuzzResplits(f *testing.F) {
	f.Add("a", "1b=2", "b", "3", "c", "")
	f.Add("0", "z", "a", "1", "b", "2a=3")
	f.Add("status", "14", "sub_status", "2", "a", "1")
	f.Add("return_url", "https://shop.example/ok?status=ok&amount=100", "status", "14", "amount", "100")
	f.Add("merchant_extra", "xstatus=14statusx=", "status", "13", "statusx", "")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string) {
		p := map[string]string{k1: v1, k2: v2, k3: v3}
		n := 0
		for r := range Resplits(p) {
			checkReading(t, p, r)
			if n++; n > 1000 {
				break
			}
		}
	})
}
