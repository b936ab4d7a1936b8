package account

import (
	"context"
	"strings"
	"testing"
)

// A setting of "label=value" entries maps each value to its label (a bare value to the default
// account); a value given twice, a bad label or an empty value is refused.
func TestParseMapMapsEachValueToOneLabel(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []string
		want    map[string]string
		wantErr string
	}{
		{"none", nil, map[string]string{}, ""},
		{"bare values are the default account's", []string{"arn:1", "arn:2"}, map[string]string{"arn:1": Default, "arn:2": Default}, ""},
		{"labeled", []string{"acme-a=arn:1", " acme-b = arn:2 "}, map[string]string{"arn:1": "acme-a", "arn:2": "acme-b"}, ""},
		{"a label with several values", []string{"acme-a=m1", "acme-a=m2"}, map[string]string{"m1": "acme-a", "m2": "acme-a"}, ""},
		{"a value twice", []string{"acme-a=m1", "acme-b=m1"}, nil, "given twice"},
		{"not a label", []string{"Acme A=m1"}, nil, `account label "Acme A"`},
		{"empty label", []string{"=m1"}, nil, "account label"},
		{"empty value", []string{"acme-a="}, nil, "empty value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMap(tc.entries)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("%v, %v; want %v", got, err, tc.want)
			}
			for v, l := range tc.want {
				if got[v] != l {
					t.Errorf("%s -> %q, want %q", v, got[v], l)
				}
			}
		})
	}
}

// A context carries its account label; none, or an empty one, is the default account.
func TestTheContextCarriesTheLabelElseTheDefault(t *testing.T) {
	ctx := context.Background()
	if got := Of(ctx); got != Default {
		t.Errorf("no label: %q, want %q", got, Default)
	}
	if got := Of(With(ctx, "acme-b")); got != "acme-b" {
		t.Errorf("labeled: %q", got)
	}
	if got := Of(With(ctx, "")); got != Default {
		t.Errorf("empty label: %q, want %q", got, Default)
	}
}

// FuzzParseMap: a comma-separated setting is refused, or read into values that each belong to
// exactly one valid label, trimmed and non-empty.
func FuzzParseMap(f *testing.F) {
	for _, s := range []string{"", "arn:aws:sns:eu-west-1:123456789012:t", "acme-a=arn:1,acme-b=arn:2", "a=b=c", "=x", "x=", "A=b", "a=m,a=n", "a=m,b=m", " a = m ", "a.b_c-d=é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, setting string) {
		m, err := ParseMap(strings.Split(setting, ","))
		if err != nil {
			return
		}
		for v, l := range m {
			if Check(l) != nil {
				t.Fatalf("label %q accepted", l)
			}
			if v == "" || strings.TrimSpace(v) != v {
				t.Fatalf("value %q accepted", v)
			}
		}
	})
}

func TestEachAccountHasItsOwnKeySpace(t *testing.T) {
	tests := []struct{ label, id, key string }{
		{Default, "TBA123", "TBA123"},
		{"", "TBA123", "TBA123"}, // items from before labels are Default's
		{"eu", "TBA123", "eu#TBA123"},
		{"eu-2", "TBA123", "eu-2#TBA123"},
	}
	for _, tc := range tests {
		if got := Scoped(tc.label, tc.id); got != tc.key {
			t.Errorf("Scoped(%q, %q) = %q, want %q", tc.label, tc.id, got, tc.key)
		}
		if got := Unscoped(tc.label, tc.key); got != tc.id {
			t.Errorf("Unscoped(%q, %q) = %q, want %q", tc.label, tc.key, got, tc.id)
		}
	}
}
