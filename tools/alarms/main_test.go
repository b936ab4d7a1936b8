package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// template.yaml's alarm section is exactly what this generator writes: an edit by hand, or to
// the generator without `go run ./tools/alarms`, fails here.
func TestIssue12Item3_TemplateAlarmSectionIsGenerated(t *testing.T) {
	if err := run(filepath.Join("..", "..", "template.yaml"), true); err != nil {
		t.Fatal(err)
	}
}

func TestIssue12Item3_CheckAndRewrite(t *testing.T) {
	region, err := Render()
	if err != nil {
		t.Fatal(err)
	}
	head, tail := "Resources:\n  Kept:\n    Type: X\n\n", "\nOutputs: {}\n"
	tests := []struct {
		name      string
		template  string
		checkFail bool // -check reports a difference (or a missing region)
		rewritten bool // a rewrite yields head + region + tail
	}{
		{"up to date", head + region + tail, false, true},
		{"hand-edited alarm", head + strings.Replace(region, "Threshold: 20", "Threshold: 21", 1) + tail, true, true},
		{"stale empty region", head + beginMarker + "\n" + endMarker + "\n" + tail, true, true},
		{"no markers", head + tail, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "template.yaml")
			if err := os.WriteFile(path, []byte(tc.template), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := run(path, true); (err != nil) != tc.checkFail {
				t.Errorf("-check: %v, want failure %t", err, tc.checkFail)
			}
			err := run(path, false)
			b, _ := os.ReadFile(path)
			if got := err == nil && string(b) == head+region+tail; got != tc.rewritten {
				t.Errorf("rewrite: error %v, result equals the generated template: %t, want %t", err, got, tc.rewritten)
			}
		})
	}
}
