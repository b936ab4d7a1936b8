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

// Issue 25, item 3: each webhook whose authentication reads a secret has an alarm on its
// auth_unavailable deliveries, which the 5xx alarm's expression subtracts; the others have neither.
func TestAuthUnavailableAlarmedApartFrom5xx(t *testing.T) {
	region, err := Render()
	if err != nil {
		t.Fatal(err)
	}
	expr := api5xxExpression()
	if !strings.HasPrefix(expr, "FILL(api, 0)") {
		t.Fatalf("5xx expression %q does not start from the API's 5xx", expr)
	}
	for _, w := range webhooks {
		t.Run(w.Webhook, func(t *testing.T) {
			reads := w.Secrets != ""
			if got := strings.Contains(region, "\n  "+w.Prefix+"AuthUnavailableAlarm:\n"); got != reads {
				t.Errorf("%sAuthUnavailableAlarm generated: %t, want %t (Secrets %q)", w.Prefix, got, reads, w.Secrets)
			}
			if got := strings.Contains(expr, " - FILL("+w.AuthID()+", 0)"); got != reads {
				t.Errorf("5xx expression %q subtracts %s: %t, want %t", expr, w.AuthID(), got, reads)
			}
		})
	}
	if !strings.Contains(region, "Expression: "+expr+"\n") {
		t.Errorf("the 5xx alarm does not use %q", expr)
	}
}
