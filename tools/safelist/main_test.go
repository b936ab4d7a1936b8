package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Argument validation only: every case fails before any network call.
func TestRunRejectsBadArguments(t *testing.T) {
	env := map[string]string{envMerchantID: "M", envAccessKeyID: "A"} // secret key missing
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no url", nil, "-url is required"},
		{"http url", []string{"-url", "http://hooks.example.in/ipn"}, "https only"},
		{"relative url", []string{"-url", "/ipn"}, "not absolute"},
		{"too long", []string{"-url", "https://hooks.example.in/" + strings.Repeat("a", 2048)}, "at most 2048"},
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"stray argument", []string{"-url", "https://hooks.example.in/ipn", "extra"}, "unexpected arguments"},
		{"missing env", []string{"-url", "https://hooks.example.in/ipn"}, envSecretKey + " is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, func(k string) string { return env[k] }, &out, &errOut)
			if code != 1 || out.Len() != 0 || !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1 and %q", code, out.String(), errOut.String(), tt.want)
			}
		})
	}
}
