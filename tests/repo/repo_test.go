// Package repo checks the repository itself: nothing built is tracked, and nothing a build writes
// into the tree can be committed by accident.
package repo

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxTracked is the size over which a tracked file needs a reason (none has one today).
const maxTracked = 1 << 20

func root(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestNoTrackedFileOver1MB(t *testing.T) {
	dir := root(t)
	out, err := exec.Command("git", "-C", dir, "ls-files", "-z").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			continue // deleted in the work tree, not yet in the index
		}
		if fi.Size() > maxTracked {
			t.Errorf("%s is tracked and %d bytes (over 1 MB): build outputs and data this large stay out of git", name, fi.Size())
		}
	}
}

// TestGoBuildOutputsAreIgnored: `go build ./functions/x` (or ./tools/x) at the root writes ./x.
func TestGoBuildOutputsAreIgnored(t *testing.T) {
	dir := root(t)
	list := exec.Command("go", "list", "-f", `{{if eq .Name "main"}}{{.Dir}}{{end}}`, "./...")
	list.Dir = dir
	out, err := list.Output()
	if err != nil {
		t.Fatal(err)
	}
	mains := strings.Fields(string(out))
	if len(mains) < 5 {
		t.Fatalf("found %d main packages, want the four functions and the tools: %q", len(mains), mains)
	}
	for _, m := range append(mains, "bootstrap") {
		name := filepath.Base(m)
		for _, path := range []string{name, name + ".exe", filepath.Join(".aws-sam", "build", "x", "bootstrap")} {
			check := exec.Command("git", "-C", dir, "check-ignore", "-q", "--no-index", path)
			if err := check.Run(); err != nil {
				t.Errorf("%s (go build output of %s) is not ignored by .gitignore", path, m)
			}
		}
	}
}
