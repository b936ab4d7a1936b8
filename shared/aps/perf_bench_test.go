package aps

import (
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
)

func BenchmarkAmbiguityCheck(b *testing.B) {
	p := realisticParams()
	b.ReportAllocs()
	for b.Loop() {
		t := apssignature.TextOf(p)
		if ambiguity(p, t) != nil {
			b.Fatal("ambiguous")
		}
	}
}
