package repo

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// queueReads are the ways to read a consumer's queue without testenv's schema check.
var queueReads = regexp.MustCompile(`\.ReceiveMessage\(|localaws\.ReceiveAll\b`)

// No test reads emitted events from a queue but through testenv.ReceiveAll or testenv.Consume,
// which validate every event against its schema in docs/schemas.
func TestEventsAreReadThroughTheSchemaCheck(t *testing.T) {
	dir := root(t)
	// Where reading a queue directly is the point: the checked reader itself, the testing-free
	// local AWS it wraps, and the local stack's tail, which prints events for a person.
	allowed := map[string]bool{
		"tests/testenv/schemas.go": true, "tools/localaws/stack.go": true, "tools/localstack/main.go": true,
	}
	found := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != dir || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() || !strings.HasSuffix(rel, ".go") || allowed[rel] {
			return nil
		}
		if !strings.HasSuffix(rel, "_test.go") && !strings.HasPrefix(rel, "tests/") {
			return nil // production code reads no consumer queue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found++
		if loc := queueReads.FindIndex(b); loc != nil {
			t.Errorf("%s reads a queue directly (%q): use testenv.ReceiveAll or testenv.Consume, which check each event against its schema", rel, b[loc[0]:loc[1]])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 20 {
		t.Fatalf("scanned %d test files: the walk is broken", found)
	}
}
