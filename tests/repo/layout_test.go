package repo

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/amazon-webhook-gateway/gateway"

// goList runs `go list args...` at the repository root and returns its output's lines.
func goList(t *testing.T, dir string, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	return strings.Fields(string(out))
}

// Test support lives under tests/: outside it, only _test.go files may import testing, so no
// product package or tool can link it. Every .go file is parsed, whatever its build tags.
func TestNoNonTestFileOutsideTestsImportsTesting(t *testing.T) {
	dir := root(t)
	checked := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			// tests/ is where test support belongs; dot folders (.git, .venv) hold no project code.
			if rel == "tests" || (rel != "." && strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "testing" || strings.HasPrefix(p, "testing/") {
				t.Errorf("%s imports %s: test support belongs under tests/", rel, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("checked %d files: the walk is broken", checked)
	}
}

// No binary built from functions/ or tools/ links package testing; tools/localstack, which runs
// the local AWS, is named so that it cannot drop out of the check unseen.
func TestBinariesLinkNoTesting(t *testing.T) {
	dir := root(t)
	mains := goList(t, dir, "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`, "./functions/...", "./tools/...")
	if !slices.Contains(mains, module+"/tools/localstack") {
		t.Fatalf("tools/localstack is not among the main packages %v", mains)
	}
	for _, m := range mains {
		if slices.Contains(goList(t, dir, "-deps", m), "testing") {
			t.Errorf("%s links package testing", m)
		}
	}
}

// shared/ holds only what the functions link: every package under it is a dependency of some
// function, so test support and tools cannot settle there.
func TestSharedHoldsOnlyWhatFunctionsLink(t *testing.T) {
	dir := root(t)
	linked := goList(t, dir, "-deps", "./functions/...")
	shared := goList(t, dir, "./shared/...")
	if len(shared) == 0 {
		t.Fatal("no package under shared/")
	}
	for _, p := range shared {
		if !slices.Contains(linked, p) {
			t.Errorf("%s is under shared/ but no function links it: move it to tests/ or tools/", p)
		}
	}
}
