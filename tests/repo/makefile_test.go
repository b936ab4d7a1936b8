package repo

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// dryRun is what `make -n target vars...` would run.
func dryRun(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("make", append([]string{"-n", "--no-print-directory"}, args...)...)
	cmd.Dir = localaws.RepoRoot()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// What the Makefile's variables do to the commands people run: make run and make invoke serve the
// development JWKS on a free port unless JWKS_ADDR pins one (so they run together); make logs reads
// the development stack of samconfig.toml unless STACK names another; make test-unit is -short.
func TestMakefileVariables(t *testing.T) {
	sc, err := os.ReadFile(filepath.Join(localaws.RepoRoot(), "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)\[default\.global\.parameters\]\s*stack_name = "([^"]+)"`).FindSubmatch(sc)
	if m == nil {
		t.Fatal("samconfig.toml has no default stack_name")
	}
	devStack := string(m[1])
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"run"}, []string{"localstack run -addr 127.0.0.1:3000 -jwks-addr 127.0.0.1:0"}},
		{[]string{"run", "ADDR=127.0.0.1:3100", "JWKS_ADDR=127.0.0.1:4010"}, []string{"localstack run -addr 127.0.0.1:3100 -jwks-addr 127.0.0.1:4010"}},
		{[]string{"invoke"}, []string{"localstack invoke -fn ShippingOtpFunction -event events/shipping-otp-valid.json -jwks-addr 127.0.0.1:0"}},
		{[]string{"logs", "FN=ApsFunction"}, []string{"sam logs -n ApsFunction --stack-name " + devStack}},
		{[]string{"logs", "FN=ApsFunction", "STACK=prod-stack", "TAIL=1"}, []string{"sam logs -n ApsFunction --stack-name prod-stack --tail"}},
		{[]string{"test-unit"}, []string{"test -short ./..."}},
		{[]string{"env-json", "STACK=my-stack"}, []string{"run ./tools/envjson -stack 'my-stack'"}},
		{[]string{"test"}, []string{"test -count=1 -race ./..."}},
	}
	for _, tc := range tests {
		got := dryRun(t, tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("make %s runs:\n%s\nwant a command with %q", strings.Join(tc.args, " "), got, w)
			}
		}
	}
}

// sam build runs build-<LogicalId> for each function of template.yaml: the Makefile must build
// every one of them, each from its own folder under functions/, and no folder may be left out.
func TestEveryTemplateFunctionBuildsFromItsOwnFolder(t *testing.T) {
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	folders := map[string]string{} // folder -> logical ID
	for _, id := range tmpl.Functions() {
		out := dryRun(t, "build-"+id, "ARTIFACTS_DIR=/tmp/artifacts")
		m := regexp.MustCompile(`\./functions/([a-z0-9-]+)`).FindStringSubmatch(out)
		if m == nil {
			t.Errorf("make build-%s builds no functions/ folder:\n%s", id, out)
			continue
		}
		if other, ok := folders[m[1]]; ok {
			t.Errorf("%s and %s both build functions/%s", other, id, m[1])
		}
		folders[m[1]] = id
		if _, err := os.Stat(filepath.Join(localaws.RepoRoot(), "functions", m[1], "main.go")); err != nil {
			t.Errorf("%s builds functions/%s, which has no main.go", id, m[1])
		}
	}
	entries, err := os.ReadDir(filepath.Join(localaws.RepoRoot(), "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := folders[e.Name()]; e.IsDir() && !ok {
			t.Errorf("functions/%s is no template function's build", e.Name())
		}
	}
}

// Dependabot proposes Go module updates with the AWS SDK's modules in one group: they move
// together or not at all.
func TestDependabotGroupsTheAWSSDK(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(localaws.RepoRoot(), ".github", "dependabot.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Updates []struct {
			Ecosystem string `yaml:"package-ecosystem"`
			Groups    map[string]struct {
				Patterns []string `yaml:"patterns"`
			} `yaml:"groups"`
		} `yaml:"updates"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, u := range cfg.Updates {
		if u.Ecosystem != "gomod" {
			continue
		}
		for _, g := range u.Groups {
			if slices.Contains(g.Patterns, "github.com/aws/aws-sdk-go-v2/*") && slices.Contains(g.Patterns, "github.com/aws/smithy-go") {
				return
			}
		}
	}
	t.Error("no gomod update groups the AWS SDK's modules with smithy-go")
}
