// Package docs holds README.md and docs/ to the template and the code, so the reference pages
// cannot drift: every parameter and output documented and no more, the fuzz-target list complete,
// no broken relative link, and a README small enough to stay a front door.
package docs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// readmeLimit is the README's hard ceiling; details belong in docs/. Raised from 14 KB when
// deferral joined the answers and the operations every team needs.
const readmeLimit = 16 * 1024

func TestReadmeStaysAFrontDoor(t *testing.T) {
	fi, err := os.Stat(filepath.Join(localaws.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > readmeLimit {
		t.Errorf("README.md is %d bytes, over the %d-byte ceiling: move details to docs/", fi.Size(), readmeLimit)
	}
}

// The template says what it deploys: its Description names every webhook.
func TestTemplateDescriptionNamesEveryWebhook(t *testing.T) {
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	// \b: "Amazon Payment Services" alone must not count as naming Amazon Pay.
	for _, w := range []string{"Amazon Shipping", "Amazon Pay", "Amazon Payment Services"} {
		if !regexp.MustCompile(`\b` + w + `\b`).MatchString(tmpl.Description) {
			t.Errorf("template Description does not name %s: %q", w, tmpl.Description)
		}
	}
}

func TestEveryParameterDocumented(t *testing.T) {
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for name, p := range tmpl.Parameters {
		want[name] = defaultText(p.Default)
	}
	rows, err := tableRows(filepath.Join(localaws.RepoRoot(), "docs", "configuration.md"), "Parameter")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range compareReference("parameter", want, rows, true) {
		t.Error(p)
	}
}

func TestEveryOutputDocumented(t *testing.T) {
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for name := range tmpl.Outputs {
		want[name] = ""
	}
	rows, err := tableRows(filepath.Join(localaws.RepoRoot(), "docs", "outputs.md"), "Output")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range compareReference("output", want, rows, false) {
		t.Error(p)
	}
	// The "Present" column says "always" exactly for the outputs without a Condition.
	for _, r := range rows {
		m := nameCell.FindStringSubmatch(r[0])
		if m == nil || len(r) < 2 {
			continue
		}
		if o, ok := tmpl.Outputs[m[1]]; ok && (o.Condition == "") != (r[1] == "always") {
			t.Errorf("output %s: documented as present %q, but its template Condition is %q", m[1], r[1], o.Condition)
		}
	}
}

// The fuzz-target table of docs/testing.md lists exactly the repository's `func Fuzz*`.
func TestFuzzTargetsListed(t *testing.T) {
	root := localaws.RepoRoot()
	found, err := fuzzTargets(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) == 0 {
		t.Fatal("no fuzz targets found: the scan is broken")
	}
	rows, err := tableRows(filepath.Join(root, "docs", "testing.md"), "Target")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, f := range found {
		want[f] = ""
	}
	// A target is named by package and function: FuzzVerify exists in two packages.
	var listed [][]string
	for _, r := range rows {
		if len(r) < 2 {
			listed = append(listed, r)
			continue
		}
		listed = append(listed, []string{"`" + strings.Trim(r[1], "`") + "." + strings.Trim(r[0], "`") + "`"})
	}
	for _, p := range compareReference("fuzz target", want, listed, false) {
		t.Error(p)
	}
}

func TestRelativeLinksResolve(t *testing.T) {
	root := localaws.RepoRoot()
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("docs/ has no pages")
	}
	files = append(files, filepath.Join(root, "README.md"))
	for _, p := range checkLinks(root, files) {
		t.Error(p)
	}
}

// Every page of docs/ is reachable from the README.
func TestReadmeLinksEveryPage(t *testing.T) {
	root := localaws.RepoRoot()
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var linked []string
	for _, l := range links(string(readme)) {
		linked = append(linked, strings.SplitN(l, "#", 2)[0])
	}
	for _, p := range pages {
		rel := "docs/" + filepath.Base(p)
		if !slices.Contains(linked, rel) {
			t.Errorf("README.md does not link %s", rel)
		}
	}
}

// defaultText renders a template default the way the docs write it.
func defaultText(v any) string {
	if v == nil {
		return "empty"
	}
	s := fmt.Sprint(v)
	if s == "" {
		return "empty"
	}
	return "`" + s + "`"
}

var nameCell = regexp.MustCompile("^`([A-Za-z0-9_./-]+)`$")

// compareReference checks a reference table against the names the code has (with, when
// checkSecond, the expected text of each row's second cell) and lists every difference.
func compareReference(kind string, want map[string]string, rows [][]string, checkSecond bool) []string {
	var problems []string
	seen := map[string]bool{}
	for _, r := range rows {
		m := nameCell.FindStringSubmatch(r[0])
		if m == nil {
			problems = append(problems, fmt.Sprintf("%s table row %q: the first cell must be one name in backticks", kind, strings.Join(r, " | ")))
			continue
		}
		name := m[1]
		if seen[name] {
			problems = append(problems, fmt.Sprintf("%s %s is documented twice", kind, name))
		}
		seen[name] = true
		second, ok := want[name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("the docs name %s %s, which the code does not have", kind, name))
		case checkSecond && (len(r) < 2 || r[1] != second):
			got := ""
			if len(r) > 1 {
				got = r[1]
			}
			problems = append(problems, fmt.Sprintf("%s %s: documented default %s, the template's is %s", kind, name, got, second))
		}
	}
	for name := range want {
		if !seen[name] {
			problems = append(problems, fmt.Sprintf("%s %s is not documented", kind, name))
		}
	}
	slices.Sort(problems)
	return problems
}

// tableRows returns the cells of every Markdown table in file whose header's first cell is
// header (a page may split its reference over several such tables).
func tableRows(file, header string) ([][]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var rows [][]string
	tables := 0
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		c := cells(lines[i])
		if len(c) == 0 || c[0] != header || i+1 >= len(lines) || !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "| ---") {
			continue
		}
		tables++
		for i += 2; i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "|"); i++ {
			rows = append(rows, cells(lines[i]))
		}
	}
	if tables == 0 {
		return nil, fmt.Errorf("%s has no table headed %q", file, header)
	}
	return rows, nil
}

func cells(line string) []string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") {
		return nil
	}
	parts := strings.Split(strings.Trim(line, "|"), "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

var fuzzFunc = regexp.MustCompile(`(?m)^func (Fuzz\w*)\(\w+ \*testing\.F\)`)

// fuzzTargets lists "<package dir>.<FuzzName>" for every fuzz target in the repository's tests.
func fuzzTargets(root string) ([]string, error) {
	var found []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dir, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		for _, m := range fuzzFunc.FindAllStringSubmatch(string(b), -1) {
			found = append(found, filepath.ToSlash(dir)+"."+m[1])
		}
		return nil
	})
	return found, err
}

var (
	fence      = regexp.MustCompile("(?ms)^\\s*```.*?^\\s*```")
	codeSpan   = regexp.MustCompile("`[^`\n]*`")
	linkTarget = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
)

// prose is a Markdown text without its code blocks and code spans, where nothing is a link.
func prose(md string) string {
	return codeSpan.ReplaceAllString(fence.ReplaceAllString(md, ""), "")
}

// links lists the targets of a Markdown text's inline links.
func links(md string) []string {
	var out []string
	for _, m := range linkTarget.FindAllStringSubmatch(prose(md), -1) {
		out = append(out, m[1])
	}
	return out
}

// checkLinks reports every relative link in files whose file or heading anchor does not exist.
func checkLinks(root string, files []string) []string {
	var problems []string
	anchorsOf := map[string][]string{}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		name, _ := filepath.Rel(root, file)
		for _, l := range links(string(b)) {
			if strings.Contains(l, "://") || strings.HasPrefix(l, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(l, "#")
			target := file
			if path != "" {
				target = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
			}
			if _, err := os.Stat(target); err != nil {
				problems = append(problems, fmt.Sprintf("%s: link %s: no such file", name, l))
				continue
			}
			if frag == "" {
				continue
			}
			if !strings.HasSuffix(target, ".md") {
				problems = append(problems, fmt.Sprintf("%s: link %s: an anchor into a file that is not Markdown", name, l))
				continue
			}
			anchors, ok := anchorsOf[target]
			if !ok {
				tb, err := os.ReadFile(target)
				if err != nil {
					problems = append(problems, err.Error())
					continue
				}
				anchors = headingAnchors(string(tb))
				anchorsOf[target] = anchors
			}
			if !slices.Contains(anchors, frag) {
				problems = append(problems, fmt.Sprintf("%s: link %s: no such heading", name, l))
			}
		}
	}
	return problems
}

var (
	heading    = regexp.MustCompile(`(?m)^#{1,6}[ \t]+(.+?)[ \t#]*$`)
	inlineLink = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// headingAnchors lists the anchors GitHub gives a Markdown text's headings: lowercased, spaces to
// hyphens, punctuation but "-" and "_" dropped, a repeated anchor suffixed -1, -2, ...
func headingAnchors(md string) []string {
	var out []string
	count := map[string]int{}
	for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(md, ""), -1) {
		text := strings.ReplaceAll(inlineLink.ReplaceAllString(m[1], "$1"), "`", "")
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := count[a]; n > 0 {
			out = append(out, fmt.Sprintf("%s-%d", a, n))
		} else {
			out = append(out, a)
		}
		count[a]++
	}
	return out
}
