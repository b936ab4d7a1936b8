package docs

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The checkers themselves can fail: each case is a drift the reference tests must catch.
func TestCompareReferenceFindsDrift(t *testing.T) {
	want := map[string]string{"LogLevel": "`INFO`", "EventBusName": "empty"}
	for _, tc := range []struct {
		name string
		rows [][]string
		want []string // substrings, one per expected problem
	}{
		{"complete", [][]string{{"`LogLevel`", "`INFO`", "x"}, {"`EventBusName`", "empty", "x"}}, nil},
		{"missing", [][]string{{"`LogLevel`", "`INFO`", "x"}}, []string{"EventBusName is not documented"}},
		{"extra", [][]string{{"`LogLevel`", "`INFO`"}, {"`EventBusName`", "empty"}, {"`Gone`", "empty"}},
			[]string{"Gone, which the code does not have"}},
		{"wrong default", [][]string{{"`LogLevel`", "`DEBUG`"}, {"`EventBusName`", "empty"}},
			[]string{"LogLevel: documented default `DEBUG`, the template's is `INFO`"}},
		{"not one name", [][]string{{"`LogLevel`, `EventBusName`", "`INFO`"}},
			[]string{"EventBusName is not documented", "LogLevel is not documented", "one name in backticks"}},
		{"twice", [][]string{{"`LogLevel`", "`INFO`"}, {"`LogLevel`", "`INFO`"}, {"`EventBusName`", "empty"}},
			[]string{"documented twice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := compareReference("parameter", want, tc.rows, true)
			if len(got) != len(tc.want) {
				t.Fatalf("problems %q, want %d", got, len(tc.want))
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, w) }) {
					t.Errorf("no problem mentions %q: %q", w, got)
				}
			}
		})
	}
}

func TestDefaultText(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{{"", "empty"}, {nil, "empty"}, {30, "`30`"}, {-1, "`-1`"}, {"true", "`true`"}, {"api_key", "`api_key`"}} {
		if got := defaultText(tc.in); got != tc.want {
			t.Errorf("defaultText(%#v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestHeadingAnchors(t *testing.T) {
	md := "# Amazon Pay IPN\n## Set up, end to end\n```sh\n# not a heading\n```\n" +
		"## Duplicates: what makes a replay a duplicate, and for how long\n### `ApsMerchantSecretArn` (APS)\n" +
		"## Set up, end to end\n## [Linked](x.md) heading\n"
	want := []string{"amazon-pay-ipn", "set-up-end-to-end", "duplicates-what-makes-a-replay-a-duplicate-and-for-how-long",
		"apsmerchantsecretarn-aps", "set-up-end-to-end-1", "linked-heading"}
	if got := headingAnchors(md); !slices.Equal(got, want) {
		t.Errorf("anchors %q, want %q", got, want)
	}
}

func TestCheckLinksFindsBrokenOnes(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	page := write("docs/page.md", "# Page\n## Real heading\n[up](../README.md) [self](#real-heading)\n")
	write("tools/x.txt", "")
	for _, tc := range []struct {
		name, readme string
		want         []string
	}{
		{"good", "[a](docs/page.md) [b](docs/page.md#real-heading) [c](tools/x.txt) [d](https://example.com/x#y) `[e](nope.md)`\n```\n[f](nope.md)\n```\n", nil},
		{"missing file", "[a](docs/nope.md)", []string{"docs/nope.md: no such file"}},
		{"missing anchor", "[a](docs/page.md#no-heading)", []string{"docs/page.md#no-heading: no such heading"}},
		{"missing own anchor", "# Top\n[a](#bottom)", []string{"#bottom: no such heading"}},
		{"anchor into non-Markdown", "[a](tools/x.txt#l1)", []string{"not Markdown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			readme := write("README.md", tc.readme)
			got := checkLinks(root, []string{readme, page})
			if len(got) != len(tc.want) {
				t.Fatalf("problems %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %q does not mention %q", got[i], w)
				}
			}
		})
	}
}

func TestFuzzTargetsScan(t *testing.T) {
	root := t.TempDir()
	for name, text := range map[string]string{
		"a/x_test.go":               "package a\nfunc FuzzOne(f *testing.F) {}\nfunc FuzzTwo(f *testing.F) {}\n",
		"b/c/y_test.go":             "package c\n// func FuzzComment(f *testing.F)\nfunc FuzzOne(f *testing.F) {}\n",
		"b/z.go":                    "package b\nfunc FuzzNotATest(f *testing.F) {}\n",
		"b/testdata/fuzz/w_test.go": "package w\nfunc FuzzCorpus(f *testing.F) {}\n",
	} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := fuzzTargets(root)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"a.FuzzOne", "a.FuzzTwo", "b/c.FuzzOne"}; !slices.Equal(got, want) {
		t.Errorf("targets %q, want %q", got, want)
	}
}
