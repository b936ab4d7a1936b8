package docs

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// CHANGELOG.md is where the event contract's promises get their dates: what each release changed
// and, for each deprecated item, the release it stops in. A stack says which release it is in the
// template's Metadata (AmazonWebhookGateway: Version), so the two must name the same release, and
// a deprecation must be about something the gateway has and must not have passed its stop.

// TestTheTemplateIsTheLatestRelease: template.yaml's Metadata names the latest release of
// CHANGELOG.md, the releases are dated and newest first, and the changelog's links resolve.
func TestTheTemplateIsTheLatestRelease(t *testing.T) {
	md, version := readChangelog(t)
	for _, p := range checkReleases(md, version) {
		t.Error(p)
	}
	root := localaws.RepoRoot()
	for _, p := range checkLinks(root, []string{filepath.Join(root, "CHANGELOG.md")}) {
		t.Error(p)
	}
}

// TestEveryDeprecationNamesWhatTheGatewayHasAndStopsLater: each row of the Deprecations table
// names a detail-type the code emits (a DetailType constant of a shared/*/contract*.go) or a
// template parameter, was deprecated in a release up to the current one and stops in a later one.
func TestEveryDeprecationNamesWhatTheGatewayHasAndStopsLater(t *testing.T) {
	md, version := readChangelog(t)
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	emitted := emittedDetailTypes(t)
	if len(emitted) < 10 {
		t.Fatalf("read only %d detail-types from shared/*/contract*.go: %v", len(emitted), emitted)
	}
	for _, p := range checkDeprecations(md, version, emitted, slices.Collect(maps.Keys(tmpl.Parameters))) {
		t.Error(p)
	}
}

// The checkers themselves can fail: each case is a drift the tests above must catch, made from the
// real changelog so that the cases stay realistic.
func TestChangelogChecksFindDrift(t *testing.T) {
	md, version := readChangelog(t)
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	emitted, params := emittedDetailTypes(t), slices.Collect(maps.Keys(tmpl.Parameters))
	if p := append(checkReleases(md, version), checkDeprecations(md, version, emitted, params)...); len(p) > 0 {
		t.Fatalf("the real changelog has problems: %q", p)
	}
	rows := deprecationRows(md)
	if len(rows) == 0 {
		t.Fatal("no deprecation rows")
	}
	// A row's text, made to drift.
	row := "| " + strings.Join(rows[0], " | ") + " |"
	withRow := func(cells ...string) string {
		return strings.Replace(md, row, "| "+strings.Join(cells, " | ")+" |", 1)
	}
	next := bump(version, 1)
	for _, tc := range []struct {
		name, md, version string
		releases          bool // checkReleases, else checkDeprecations
		want              string
	}{
		{"the template names another release", md, next, true, "template.yaml's Metadata says \"" + next + "\""},
		{"no version in the template", md, "", true, "template.yaml's Metadata says"},
		{"releases out of order", strings.Replace(md, "## [1.0.0]", "## [9.0.0]", 1), version, true, "not older than"},
		{"a release without a date", regexp.MustCompile(`(?m)^## \[1\.0\.0\] - .*$`).ReplaceAllString(md, "## [1.0.0]"), version, true, "not a release heading"},
		{"a detail-type the code does not emit", withRow("`Shipping Notice` for tracking entries", "1.1.0", next, "x"), version, false, "Shipping Notice"},
		{"nothing the gateway has", withRow("tracking entries", "1.1.0", next, "x"), version, false, "names no detail-type"},
		{"a stop already passed", withRow(rows[0][0], "1.1.0", version, "x"), version, false, "stops in " + version},
		{"a stop that is no version", withRow(rows[0][0], "1.1.0", "next release", "x"), version, false, "stops in"},
		{"deprecated in a release not yet made", withRow(rows[0][0], next, bump(version, 2), "x"), version, false, "deprecated in " + next},
		{"no table", strings.Replace(md, "## Deprecations", "## Deprecated things", 1), version, false, "no Deprecations table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.md == md && !tc.releases {
				t.Fatal("the case changes nothing")
			}
			var got []string
			if tc.releases {
				got = checkReleases(tc.md, tc.version)
			} else {
				got = checkDeprecations(tc.md, tc.version, emitted, params)
			}
			if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("no problem mentions %q: %q", tc.want, got)
			}
		})
	}
}

func readChangelog(t *testing.T) (md, version string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(localaws.RepoRoot(), "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	if n := tmpl.Node("Metadata", "AmazonWebhookGateway", "Version"); n != nil {
		version = n.Value
	}
	return string(b), version
}

var (
	releaseHeading = regexp.MustCompile(`^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$`)
	semver         = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)$`)
	codeSpanText   = regexp.MustCompile("`([^`]+)`")
)

// checkReleases reports a release heading that is not "## [x.y.z] - YYYY-MM-DD" (or Unreleased),
// releases not newest first, and a template version that is not the latest release.
func checkReleases(md, templateVersion string) []string {
	var problems []string
	var versions []string
	var dates []string
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "## [") || line == "## [Unreleased]" {
			continue
		}
		m := releaseHeading.FindStringSubmatch(line)
		if m == nil {
			problems = append(problems, fmt.Sprintf("%q is not a release heading (## [x.y.z] - YYYY-MM-DD)", line))
			continue
		}
		if n := len(versions); n > 0 && (compareVersions(m[1], versions[n-1]) >= 0 || m[2] > dates[n-1]) {
			problems = append(problems, fmt.Sprintf("release %s (%s) is not older than the one above it, %s (%s): newest first", m[1], m[2], versions[n-1], dates[n-1]))
		}
		versions, dates = append(versions, m[1]), append(dates, m[2])
	}
	switch {
	case len(versions) == 0:
		problems = append(problems, "CHANGELOG.md names no release")
	case templateVersion != versions[0]:
		problems = append(problems, fmt.Sprintf("template.yaml's Metadata says %q, CHANGELOG.md's latest release is %s", templateVersion, versions[0]))
	}
	return problems
}

// deprecationRows are the rows of the table headed Deprecated under "## Deprecations".
func deprecationRows(md string) [][]string {
	_, section, ok := strings.Cut(md, "\n## Deprecations\n")
	if !ok {
		return nil
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	lines := strings.Split(section, "\n")
	var rows [][]string
	for i := 0; i+1 < len(lines); i++ {
		if c := cells(lines[i]); len(c) == 0 || c[0] != "Deprecated" || !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "| ---") {
			continue
		}
		for i += 2; i < len(lines) && len(cells(lines[i])) > 0; i++ {
			rows = append(rows, cells(lines[i]))
		}
		break
	}
	return rows
}

// checkDeprecations reports each row of the Deprecations table (Deprecated | Since | Stops in |
// Instead) whose first cell names no emitted detail-type nor parameter, or names a detail-type
// the code does not emit; whose Since is later than current; whose Stops in is not later.
func checkDeprecations(md, current string, emitted, parameters []string) []string {
	rows := deprecationRows(md)
	if len(rows) == 0 {
		return []string{"CHANGELOG.md has no Deprecations table"}
	}
	var problems []string
	for _, r := range rows {
		if len(r) != 4 {
			problems = append(problems, fmt.Sprintf("%q: want 4 cells (Deprecated, Since, Stops in, Instead)", r))
			continue
		}
		named := false
		for _, m := range codeSpanText.FindAllStringSubmatch(r[0], -1) {
			name := m[1]
			switch {
			case slices.Contains(emitted, name) || slices.Contains(parameters, name):
				named = true
			case strings.HasPrefix(name, "Shipping ") || strings.HasPrefix(name, "Amazon Pay ") || strings.HasPrefix(name, "APS "):
				problems = append(problems, fmt.Sprintf("%q: the code emits no detail-type %q", r[0], name))
			}
		}
		if !named {
			problems = append(problems, fmt.Sprintf("%q names no detail-type the code emits and no template parameter", r[0]))
		}
		since, stop := r[1], r[2]
		if !semver.MatchString(since) || compareVersions(since, current) > 0 {
			problems = append(problems, fmt.Sprintf("%q: deprecated in %s, after the current release %s", r[0], since, current))
		}
		if !semver.MatchString(stop) || compareVersions(stop, current) <= 0 {
			problems = append(problems, fmt.Sprintf("%q: stops in %s, which must be a release after the current one, %s", r[0], stop, current))
		}
	}
	return problems
}

// emittedDetailTypes are the string constants named DetailType* in shared/*/contract*.go, the
// event contract's declarations (the envelope detail-types the gateway receives are declared
// elsewhere).
func emittedDetailTypes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(localaws.RepoRoot(), "shared", "*", "contract*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !strings.HasPrefix(n.Name, "DetailType") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if v, err := strconv.Unquote(lit.Value); err == nil {
							out = append(out, v)
						}
					}
				}
			}
		}
	}
	return out
}

// compareVersions compares two x.y.z versions (a malformed one is older than any).
func compareVersions(a, b string) int {
	pa, pb := semver.FindStringSubmatch(a), semver.FindStringSubmatch(b)
	switch {
	case pa == nil && pb == nil:
		return 0
	case pa == nil:
		return -1
	case pb == nil:
		return 1
	}
	for i := 1; i <= 3; i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// bump is version with its minor number raised by n.
func bump(version string, n int) string {
	m := semver.FindStringSubmatch(version)
	if m == nil {
		return version
	}
	minor, _ := strconv.Atoi(m[2])
	return fmt.Sprintf("%s.%d.0", m[1], minor+n)
}
