package repo

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// ticketName matches a name taken from the tracker instead of the behaviour: Issue13, IS14,
// RT07, Item3, Goal2, Finding4, AsBefore. A later reader knows none of these.
var ticketName = regexp.MustCompile(`Issue[0-9_]|IS[0-9]{2}|RT-?[0-9]{2}|Item[0-9]|Goal[0-9]|Finding[0-9]|AsBefore`)

// ticketFile matches a file or folder named after a ticket (issue18_test.go, rt03_test.go,
// schemas_is14_test.go, redteam_test.go).
var ticketFile = regexp.MustCompile(`(?i)issue[0-9]|(^|[_-])is[0-9]{2}([_.-]|$)|(^|[_-])rt-?[0-9]{2}([_.-]|$)|red-?team`)

// testFunc is one Test, Fuzz, Benchmark or Example function of a _test.go file.
type testFunc struct {
	name, file string
}

// testFiles lists the tracked and untracked _test.go files, by path from dir.
func testFiles(t *testing.T, dir string) []string {
	t.Helper()
	out, err := exec.Command("git", "-C", dir, "ls-files", "--cached", "--others", "--exclude-standard", "*_test.go").Output()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range strings.Fields(string(out)) {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			files = append(files, f)
		}
	}
	return files
}

// testFuncs parses every _test.go file: its test functions, and the literal names of its subtests
// (t.Run("name", ...)).
func testFuncs(t *testing.T, dir string) (funcs []testFunc, subtests []testFunc) {
	t.Helper()
	fset := token.NewFileSet()
	for _, f := range testFiles(t, dir) {
		file, err := parser.ParseFile(fset, filepath.Join(dir, f), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && isTestName(fn.Name.Name) {
				funcs = append(funcs, testFunc{fn.Name.Name, f})
			}
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Run" {
				if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						subtests = append(subtests, testFunc{s, f})
					}
				}
			}
			return true
		})
	}
	return funcs, subtests
}

func isTestName(name string) bool {
	for _, p := range []string{"Test", "Fuzz", "Benchmark", "Example"} {
		if rest, ok := strings.CutPrefix(name, p); ok && (rest == "" || rest[0] < 'a' || rest[0] > 'z') {
			return true
		}
	}
	return false
}

// Tests, fuzz targets, benchmarks, subtests and files are named after what they prove, never
// after a ticket.
func TestNoTestOrFileIsNamedAfterATicket(t *testing.T) {
	dir := root(t)
	funcs, subtests := testFuncs(t, dir)
	if len(funcs) < 300 {
		t.Fatalf("found %d test functions: the scan is broken", len(funcs))
	}
	for _, f := range append(funcs, subtests...) {
		if ticketName.MatchString(f.name) {
			t.Errorf("%s: %q is named after a ticket: name it after the behaviour it proves", f.file, f.name)
		}
	}
	out, err := exec.Command("git", "-C", dir, "ls-files", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range strings.Fields(string(out)) {
		for _, part := range strings.Split(path, "/") {
			if ticketFile.MatchString(part) {
				t.Errorf("%s: %q is named after a ticket: name it after the feature its contents cover", path, part)
			}
		}
	}
}

func TestTicketPatternsCatchTicketsAndSpareBehaviour(t *testing.T) {
	for name, ticket := range map[string]bool{
		"TestIssue13_EntriesAsBefore": true, "TestIS14_Schemas": true, "TestRT07_NarrowRole": true,
		"TestIssue12Item3_Alarms": true, "TestIssue14Goal2_Load": true, "FuzzResplitsAsBefore": true,
		"TestTheCertificateMustBeOnePEMBlockNamingAnSNSHost": false, "TestIssuedCertificatesVerify": false,
		"TestLookupNeverServesAnExpiredOTP": false, "TestRTTIsMeasured": false,
	} {
		if got := ticketName.MatchString(name); got != ticket {
			t.Errorf("%s: ticket %t, want %t", name, got, ticket)
		}
	}
	for name, ticket := range map[string]bool{
		"issue18_test.go": true, "rt03_test.go": true, "schemas_is14_test.go": true, "redteam_test.go": true,
		"rt04-injection": true, "forged_messages_test.go": false, "isolation_test.go": false, "start_test.go": false,
	} {
		if got := ticketFile.MatchString(name); got != ticket {
			t.Errorf("%s: ticket %t, want %t", name, got, ticket)
		}
	}
}

// A fuzz target's seed corpus is found by the target's name (testdata/fuzz/<FuzzName>/): a
// folder no target of its package is named after holds regression seeds nothing runs.
func TestEverySeedCorpusBelongsToAFuzzTarget(t *testing.T) {
	dir := root(t)
	funcs, _ := testFuncs(t, dir)
	targets := map[string]bool{} // "<package dir>/<FuzzName>"
	for _, f := range funcs {
		if strings.HasPrefix(f.name, "Fuzz") {
			targets[filepath.Dir(f.file)+"/"+f.name] = true
		}
	}
	corpora, _ := filepath.Glob(filepath.Join(dir, "*", "*", "testdata", "fuzz", "*"))
	deeper, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*", "testdata", "fuzz", "*"))
	corpora = append(corpora, deeper...)
	if len(corpora) == 0 {
		t.Fatal("no seed corpus found: the scan is broken")
	}
	for _, c := range corpora {
		rel, _ := filepath.Rel(dir, c)
		pkg := filepath.Dir(filepath.Dir(filepath.Dir(rel)))
		if !targets[pkg+"/"+filepath.Base(c)] {
			t.Errorf("%s: no fuzz target %s in %s runs these seeds", rel, filepath.Base(c), pkg)
		}
	}
}

// citedName is a test, fuzz target or benchmark named in prose; a trailing * cites a prefix.
var citedName = regexp.MustCompile(`\b((?:Test|Fuzz|Benchmark)[A-Z][A-Za-z0-9_]*)(\*?)`)

// notTests are names the prose uses that look like tests and are not.
var notTests = map[string]string{
	"TestEventPattern": "EventBridge's API that evaluates an event pattern",
	"FuzzName":         "the placeholder of testdata/fuzz/<FuzzName>/",
}

// Every test the documentation or the Makefile cites exists: a renamed test leaves no stale
// proof behind in docs/guarantees.md.
func TestEveryTestTheDocsCiteExists(t *testing.T) {
	dir := root(t)
	funcs, _ := testFuncs(t, dir)
	names := make([]string, 0, len(funcs))
	for _, f := range funcs {
		names = append(names, f.name)
	}
	docs, _ := filepath.Glob(filepath.Join(dir, "docs", "*.md"))
	docs = append(docs, filepath.Join(dir, "README.md"), filepath.Join(dir, "Makefile"))
	cited := 0
	for _, doc := range docs {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range citedName.FindAllStringSubmatch(string(b), -1) {
			cited++
			name, prefix := m[1], m[2] == "*"
			if _, ok := notTests[name]; ok {
				continue
			}
			found := slices.ContainsFunc(names, func(n string) bool { return n == name || prefix && strings.HasPrefix(n, name) })
			if !found {
				rel, _ := filepath.Rel(dir, doc)
				t.Errorf("%s cites %s%s, which no _test.go file defines", rel, name, m[2])
			}
		}
	}
	if cited < 20 {
		t.Fatalf("%d citations found: the scan is broken", cited)
	}
}
