package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// template-alarms.yaml is exactly what this generator writes: an edit by hand, or to the
// generator without `make generate`, fails here.
func TestTheAlarmsChildTemplateIsGenerated(t *testing.T) {
	if err := run(filepath.Join("..", "..", File), true); err != nil {
		t.Fatal(err)
	}
}

func TestCheckReportsAStaleFileAndRewriteRepairsIt(t *testing.T) {
	want, err := Render()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		file      *string // nil: no file
		checkFail bool    // -check reports a difference
	}{
		{"up to date", &want, false},
		{"hand-edited alarm", ptr(strings.Replace(want, "Threshold: 20", "Threshold: 21", 1)), true},
		{"empty", ptr(""), true},
		{"missing", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), File)
			if tc.file != nil {
				if err := os.WriteFile(path, []byte(*tc.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := run(path, true); (err != nil) != tc.checkFail {
				t.Errorf("-check: %v, want failure %t", err, tc.checkFail)
			}
			if err := run(path, false); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(path); string(b) != want {
				t.Error("a rewrite does not yield the generated template")
			}
		})
	}
}

func ptr(s string) *string { return &s }

// Each webhook whose authentication reads a secret has an alarm on its
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
