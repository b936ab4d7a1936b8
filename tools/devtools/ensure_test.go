// Package devtools holds the script that makes the Python tools (moto_server, cfn-lint) available to
// make; these tests run it, and `make tools`, on a PATH built for each case.
package devtools

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// systemTools are what the script and make need besides the tools under test.
var systemTools = []string{"bash", "dirname", "rm", "mkdir", "cat", "cp", "chmod", "make", "grep", "sed", "column"}

// sandboxPath is a bin folder holding the system tools and the given fake executables.
func sandboxPath(t *testing.T, fakes map[string]string) string {
	t.Helper()
	bin := t.TempDir()
	for _, name := range systemTools {
		p, err := exec.LookPath(name)
		if err != nil {
			continue // column serves only `make help`
		}
		if err := os.Symlink(p, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	for name, script := range fakes {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/bash\n"+script+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

// fakePython makes a venv whose pip either fails or "installs" the two tools.
func fakePython(pipWorks bool) string {
	pip := "echo 'ERROR: No matching distribution found for moto[server]==5.2.1' >&2; exit 1"
	if pipWorks {
		pip = `d=$(dirname "$0"); printf '#!/bin/bash\n' > "$d/moto_server"; cp "$d/moto_server" "$d/cfn-lint"; chmod +x "$d/moto_server" "$d/cfn-lint"`
	}
	return `[ "$1 $2" = "-m venv" ] || exit 2
mkdir -p "$3/bin"
cat > "$3/bin/pip" <<'PIP'
#!/bin/bash
` + pip + `
PIP
chmod +x "$3/bin/pip"`
}

func TestEnsure(t *testing.T) {
	present := "exit 0"
	cases := []struct {
		name      string
		fakes     map[string]string
		wantOK    bool
		wantVenv  bool     // the venv exists afterwards
		wantInErr []string // the message names these
	}{
		{
			name:   "both on PATH: nothing installed",
			fakes:  map[string]string{"moto_server": present, "cfn-lint": present, "python3": "exit 3"},
			wantOK: true,
		},
		{
			name:      "missing, no python3",
			fakes:     map[string]string{},
			wantInErr: []string{"missing: moto_server cfn-lint", "no python3", "apt-get install python3 python3-venv", "python3 -m pip install -r tools/devtools/requirements.txt"},
		},
		{
			name:      "one missing, pip cannot reach its index",
			fakes:     map[string]string{"cfn-lint": present, "python3": fakePython(false)},
			wantInErr: []string{"missing: moto_server (", "failed", "pip install -r tools/devtools/requirements.txt"},
		},
		{
			name:     "missing, installed into the venv",
			fakes:    map[string]string{"python3": fakePython(true)},
			wantOK:   true,
			wantVenv: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			venv := filepath.Join(t.TempDir(), "venv")
			cmd := exec.Command("bash", "ensure.sh", "moto_server", "cfn-lint")
			cmd.Env = []string{"PATH=" + sandboxPath(t, c.fakes), "VENV=" + venv, "HOME=" + t.TempDir()}
			out, err := cmd.CombinedOutput()
			if (err == nil) != c.wantOK {
				t.Fatalf("err = %v, want ok %v; output:\n%s", err, c.wantOK, out)
			}
			for _, s := range c.wantInErr {
				if !strings.Contains(string(out), s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
			if _, err := os.Stat(venv); (err == nil) != c.wantVenv {
				t.Errorf("venv exists = %v, want %v (a failed install must not leave a half-made one)", err == nil, c.wantVenv)
			}
		})
	}
}

// TestMakeStopsWhenToolsCannotBeInstalled runs the targets themselves: `make test` and `make run`
// must stop before running anything, with the message, when the tools are missing and cannot be
// installed (here: no python3 at all).
func TestMakeStopsWhenToolsCannotBeInstalled(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	path := sandboxPath(t, map[string]string{"go": "echo go must not run >&2; exit 7"})
	for _, target := range []string{"test", "run", "lint"} {
		t.Run(target, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(path, "make"), "-s", "-C", root, target, "VENV="+filepath.Join(t.TempDir(), "venv"))
			cmd.Env = []string{"PATH=" + path, "HOME=" + t.TempDir()}
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("make %s succeeded without moto_server or cfn-lint:\n%s", target, out)
			}
			for _, s := range []string{"missing: moto_server cfn-lint", "python3 -m pip install -r tools/devtools/requirements.txt"} {
				if !strings.Contains(string(out), s) {
					t.Errorf("make %s output lacks %q:\n%s", target, s, out)
				}
			}
			if strings.Contains(string(out), "go must not run") {
				t.Errorf("make %s ran go before its tools were there:\n%s", target, out)
			}
		})
	}
}
