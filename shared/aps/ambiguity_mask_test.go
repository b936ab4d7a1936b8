package aps

import "testing"

// The known names fit readsOtherwise's bit mask and knownEnding's byte indexes.
func TestKnownParamsFitTheMask(t *testing.T) {
	if n := len(sortedKnownParams); n > 64 {
		t.Fatalf("%d known parameters: readsOtherwise's mask holds 64", n)
	}
	n := 0
	for b, idx := range knownEnding {
		for _, i := range idx {
			if k := sortedKnownParams[i]; k[len(k)-1] != byte(b) {
				t.Errorf("knownEnding[%q] holds %q", byte(b), k)
			}
			n++
		}
	}
	if n != len(sortedKnownParams) {
		t.Errorf("knownEnding holds %d names, want %d", n, len(sortedKnownParams))
	}
}
