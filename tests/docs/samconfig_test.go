package docs

import (
	"path/filepath"
	"regexp"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// samconfig is samconfig.toml: environment -> command -> "parameters" -> key.
type samconfig map[string]any

func readSamconfig(t *testing.T) samconfig {
	t.Helper()
	var cfg samconfig
	if _, err := toml.DecodeFile(filepath.Join(localaws.RepoRoot(), "samconfig.toml"), &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// table is the parameters of env's cmd (nil when absent).
func (c samconfig) table(env, cmd string) map[string]any {
	cmds, _ := c[env].(map[string]any)
	sec, _ := cmds[cmd].(map[string]any)
	params, _ := sec["parameters"].(map[string]any)
	return params
}

func (c samconfig) get(env, cmd, key string) any { return c.table(env, cmd)[key] }

// samconfig.toml has a development environment (default, what sam deploy and sam sync --watch
// use) and a production one (prod), on different stacks; production confirms every change set.
func TestSamconfigSeparatesDevelopmentFromProduction(t *testing.T) {
	cfg := readSamconfig(t)
	for _, env := range []string{"default", "prod"} {
		if _, ok := cfg[env]; !ok {
			t.Fatalf("samconfig.toml has no %s environment", env)
		}
		if got := cfg.get(env, "deploy", "capabilities"); got != "CAPABILITY_IAM CAPABILITY_AUTO_EXPAND" {
			t.Errorf("%s: capabilities %v, want CAPABILITY_IAM CAPABILITY_AUTO_EXPAND (unnamed roles; a transform with nested stacks), no more", env, got)
		}
		if got := cfg.get(env, "build", "build_in_source"); got != true {
			t.Errorf("%s: build_in_source %v, want true (sam build would copy the repository per function)", env, got)
		}
		if cfg.get(env, "logs", "stack_name") != cfg.get(env, "global", "stack_name") {
			t.Errorf("%s: sam logs reads stack %v, the environment deploys %v", env, cfg.get(env, "logs", "stack_name"), cfg.get(env, "global", "stack_name"))
		}
	}
	dev, prod := cfg.get("default", "global", "stack_name"), cfg.get("prod", "global", "stack_name")
	if dev == nil || dev == prod {
		t.Errorf("default deploys stack %v and prod %v: sam deploy and sam sync --watch would hit production", dev, prod)
	}
	if got := cfg.get("prod", "deploy", "confirm_changeset"); got != true {
		t.Errorf("prod: confirm_changeset %v, want true", got)
	}
	if cfg.table("prod", "sync") != nil {
		t.Error("prod has sync parameters: sam sync is for development stacks")
	}
}

var override = regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)

// Every parameter_overrides of samconfig.toml names template parameters with values the template
// accepts, so that `sam deploy --config-env prod` works on its first run.
func TestSamconfigOverridesAreValidParameters(t *testing.T) {
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	cfg := readSamconfig(t)
	if cfg.get("prod", "deploy", "parameter_overrides") == nil {
		t.Error("prod has no parameter_overrides placeholders")
	}
	for env := range cfg {
		if env == "version" {
			continue
		}
		s, _ := cfg.get(env, "deploy", "parameter_overrides").(string)
		for _, m := range override.FindAllStringSubmatch(s, -1) {
			name, value := m[1], m[2]
			p, ok := tmpl.Parameters[name]
			if !ok {
				t.Errorf("%s: parameter_overrides names %s, which template.yaml lacks", env, name)
				continue
			}
			if err := p.Accepts(value); err != nil {
				t.Errorf("%s: %s=%q: %v", env, name, value, err)
			}
		}
	}
}
