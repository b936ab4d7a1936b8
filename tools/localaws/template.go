package localaws

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Template is template.yaml as the tests and the local stack read it: the one reader of the
// template. The decoder drops intrinsic-function tags (!Ref X reads as "X", !GetAtt R.Arn as
// "R.Arn", !Sub "s" as "s"), which leaves plain values for everything read locally; Node keeps the
// tags for the checks that must tell a !Sub from a plain string.
type Template struct {
	Description string               `yaml:"Description"`
	Globals     Globals              `yaml:"Globals"`
	Parameters  map[string]Parameter `yaml:"Parameters"`
	Conditions  map[string]any       `yaml:"Conditions"`
	Resources   map[string]Resource  `yaml:"Resources"`
	Outputs     map[string]Output    `yaml:"Outputs"`

	root *yaml.Node // the document's top mapping; nil for an empty file
}

// Globals is the template's Globals section, as far as it is read.
type Globals struct {
	Function struct {
		Timeout     int `yaml:"Timeout"`
		Environment struct {
			Variables map[string]any `yaml:"Variables"`
		} `yaml:"Environment"`
	} `yaml:"Function"`
}

// Parameter is one template parameter.
type Parameter struct {
	Type          string `yaml:"Type"`
	Description   string `yaml:"Description"`
	Default       any    `yaml:"Default"`
	MinValue      any    `yaml:"MinValue"`
	MaxValue      any    `yaml:"MaxValue"`
	AllowedValues []any  `yaml:"AllowedValues"`
	// AllowedPattern is a regular expression the whole value must match.
	AllowedPattern string `yaml:"AllowedPattern"`
}

// Resource is one resource of the template.
type Resource struct {
	Type       string         `yaml:"Type"`
	Condition  string         `yaml:"Condition"`
	Properties map[string]any `yaml:"Properties"`
}

// Output is one template output.
type Output struct {
	Description string `yaml:"Description"`
	Condition   string `yaml:"Condition"`
	Value       any    `yaml:"Value"`
	// Export is the output's export: Name, as written (a !Sub's text).
	Export struct {
		Name string `yaml:"Name"`
	} `yaml:"Export"`
}

// Event is one entry of an AWS::Serverless::Function's Events: its Type (HttpApi, SQS, ...) and
// its Properties.
type Event struct {
	Type       string         `yaml:"Type"`
	Properties map[string]any `yaml:"Properties"`
}

// RepoRoot is the repository's top folder, found from this source file (for the tests; the local
// stack's binary finds it from its working directory).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// LoadTemplate reads the project's template.yaml.
func LoadTemplate() (*Template, error) {
	return ReadTemplate(filepath.Join(RepoRoot(), "template.yaml"))
}

// ReadTemplate reads the SAM template at path.
func ReadTemplate(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t := &Template{}
	if len(doc.Content) == 0 {
		return t, nil
	}
	if err := doc.Decode(t); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t.root = doc.Content[0]
	return t, nil
}

// Node is the YAML node at the mapping keys' path from the document's top ("Resources", "Fn",
// "Properties"), tag and all; nil when a key is missing.
func (t *Template) Node(keys ...string) *yaml.Node {
	n := t.root
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

// Functions lists the logical IDs of the AWS::Serverless::Function resources, sorted.
func (t *Template) Functions() []string {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == "AWS::Serverless::Function" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// FunctionEvents is the Events property of the function logicalID, by event name (nil when it
// has none).
func (t *Template) FunctionEvents(logicalID string) (map[string]Event, error) {
	n := t.Node("Resources", logicalID, "Properties", "Events")
	if n == nil {
		return nil, nil
	}
	var events map[string]Event
	if err := n.Decode(&events); err != nil {
		return nil, fmt.Errorf("resource %s: Events: %w", logicalID, err)
	}
	return events, nil
}

// FunctionEnv lists the environment variable names a function gets, its own and the Globals'.
func (t *Template) FunctionEnv(logicalID string) []string {
	var names []string
	for k := range t.Globals.Function.Environment.Variables {
		names = append(names, k)
	}
	env, _ := t.Resources[logicalID].Properties["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	for k := range vars {
		names = append(names, k)
	}
	return names
}
