package aps

import (
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
	"github.com/amazon-webhook-gateway/gateway/tests/benchpair"
)

// BenchmarkIssue13_AmbiguityVsBefore: the checks Plan runs on a realistic message (laying out
// its text once, the re-splits, the search for other readings, the key) against the reference
// kept from before issue 13, which lays out the text for each.
func BenchmarkIssue13_AmbiguityVsBefore(b *testing.B) {
	p := realisticParams()
	benchpair.Run(b, "before", func() {
		t := apssignature.TextOf(p)
		if ambiguity(p, t) != nil || keyOf(t.Canonical) == "" {
			b.Fatal("ambiguous")
		}
	}, func() {
		if ambiguityRef(p) != nil || IdempotencyKey(p) == "" {
			b.Fatal("ambiguous")
		}
	})
}

func BenchmarkIssue13_Ambiguity(b *testing.B) {
	p := realisticParams()
	b.ReportAllocs()
	for b.Loop() {
		t := apssignature.TextOf(p)
		if ambiguity(p, t) != nil {
			b.Fatal("ambiguous")
		}
	}
}
