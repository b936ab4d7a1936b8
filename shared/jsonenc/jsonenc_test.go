package jsonenc

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// marshal is encoding/json's encoding of v, HTML-escaped or not.
func marshal(t *testing.T, v any, escapeHTML bool) string {
	t.Helper()
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(out.String(), "\n")
}

func TestIssue13_StringAsEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `q"uote\back`, "<a href='x'>&amp;</a>", "\x00\x01\b\f\n\r\t\x1f\x7f",
		"é ü 日本", "\u2028\u2029", "\xff\xfe", "a\xc3", "\xed\xa0\x80", "emoji 😀 tail",
	} {
		for _, html := range []bool{true, false} {
			if got, want := string(String(nil, s, html)), marshal(t, s, html); got != want {
				t.Errorf("String(%q, %v) = %s, want %s", s, html, got, want)
			}
		}
	}
}

func TestIssue13_FloatAsEncodingJSON(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1, 1e-6, 9.99e-7, 1e-7, 1e-300, 1e20, 1e21, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64, 1234.567} {
		if got, want := string(Float(nil, f)), marshal(t, f, true); got != want {
			t.Errorf("Float(%v) = %s, want %s", f, got, want)
		}
	}
}

// FuzzString: any string is escaped as encoding/json escapes it, with and without HTML escaping.
func FuzzString(f *testing.F) {
	for _, s := range []string{"plain", "<&>\"\\", "\x00\n\u2028", "\xff", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, html := range []bool{true, false} {
			if got, want := string(String([]byte("x"), s, html)), "x"+marshal(t, s, html); got != want {
				t.Fatalf("String(%q, %v) = %s, want %s", s, html, got, want)
			}
		}
	})
}

// FuzzFloat: any finite float64 is written as encoding/json writes it.
func FuzzFloat(f *testing.F) {
	for _, x := range []float64{0, 1.5, 1e-7, 1e21, -3.25e-300} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		if got, want := string(Float(nil, x)), marshal(t, x, true); got != want {
			t.Fatalf("Float(%v) = %s, want %s", x, got, want)
		}
	})
}
