package localaws

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"

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

// Accepts is CloudFormation's check of a value for p: AllowedValues, AllowedPattern, and for
// numbers MinValue and MaxValue.
func (p Parameter) Accepts(value string) error {
	if len(p.AllowedValues) > 0 && !slices.ContainsFunc(p.AllowedValues, func(v any) bool { return fmt.Sprint(v) == value }) {
		return fmt.Errorf("not one of %v", p.AllowedValues)
	}
	if p.AllowedPattern != "" && !regexp.MustCompile(`^(?:`+p.AllowedPattern+`)$`).MatchString(value) {
		return fmt.Errorf("does not match %s", p.AllowedPattern)
	}
	if p.Type == "Number" {
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return fmt.Errorf("not a number")
		}
		for _, b := range []struct {
			limit any
			below bool
		}{{p.MinValue, true}, {p.MaxValue, false}} {
			if b.limit == nil {
				continue
			}
			l, _ := strconv.ParseFloat(fmt.Sprint(b.limit), 64)
			if b.below && n < l || !b.below && n > l {
				return fmt.Errorf("outside [%v, %v]", p.MinValue, p.MaxValue)
			}
		}
	}
	return nil
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
		n = nodeKey(n, k)
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

// Children are the template's generated child stacks (AWS::Serverless::Application with a local
// Location), read from beside the template at path, by logical ID.
func (t *Template) Children(path string) (map[string]*Template, error) {
	out := map[string]*Template{}
	for id, r := range t.Resources {
		if r.Type != "AWS::Serverless::Application" {
			continue
		}
		loc, ok := r.Properties["Location"].(string)
		if !ok || loc == "" {
			return nil, fmt.Errorf("resource %s: Location is not a local file", id)
		}
		child, err := ReadTemplate(filepath.Join(filepath.Dir(path), loc))
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", id, err)
		}
		out[id] = child
	}
	return out, nil
}

// LoadStack reads the project's template.yaml as one template: each child stack's resources and
// conditions merged in, every reference to a child parameter replaced by what the parent passes
// to it (a !Ref by the parent's value, a ${Param} of a !Sub by the parent's !Ref or !GetAtt).
// What it returns is what the template would be with the children inlined, so the checks of a
// resource hold wherever it lives, and a parameter the parent fails to pass is an error. A
// condition both define keeps the parent's definition.
func LoadStack() (*Template, error) {
	return ReadStack(filepath.Join(RepoRoot(), "template.yaml"))
}

// ReadStack is LoadStack for the template at path.
func ReadStack(path string) (*Template, error) {
	t, err := ReadTemplate(path)
	if err != nil {
		return nil, err
	}
	children, err := t.Children(path)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(children))
	for id := range children {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		c := children[id]
		passed := map[string]*yaml.Node{}
		if n := t.Node("Resources", id, "Properties", "Parameters"); n != nil {
			for i := 0; i+1 < len(n.Content); i += 2 {
				name := n.Content[i].Value
				if _, ok := c.Parameters[name]; !ok {
					return nil, fmt.Errorf("resource %s passes %s, which the child does not declare", id, name)
				}
				passed[name] = n.Content[i+1]
			}
		}
		for name, p := range c.Parameters {
			if _, ok := passed[name]; ok {
				continue
			}
			if p.Default == nil {
				return nil, fmt.Errorf("resource %s does not pass %s, which the child needs", id, name)
			}
			passed[name] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(p.Default)}
		}
		for _, section := range []string{"Resources", "Conditions"} {
			src := c.Node(section)
			if src == nil {
				continue
			}
			if err := substitute(src, "!Ref", passed); err != nil {
				return nil, fmt.Errorf("child %s: %w", id, err)
			}
			if section == "Resources" {
				resolveOwnCondition(src)
			}
			dst := t.Node(section)
			for i := 0; i+1 < len(src.Content); i += 2 {
				key := src.Content[i].Value
				if nodeKey(dst, key) == nil {
					dst.Content = append(dst.Content, src.Content[i], src.Content[i+1])
				} else if section == "Resources" {
					return nil, fmt.Errorf("child %s: resource %s is also in the parent or another child", id, key)
				}
			}
		}
	}
	// The parent's reads of a child's outputs become what the child outputs.
	for _, id := range ids {
		outs := children[id].Node("Outputs")
		if outs == nil {
			continue
		}
		values := map[string]*yaml.Node{}
		for i := 0; i+1 < len(outs.Content); i += 2 {
			if v := nodeKey(outs.Content[i+1], "Value"); v != nil {
				values[id+".Outputs."+outs.Content[i].Value] = v
			}
		}
		for _, section := range []string{"Resources", "Outputs"} {
			if n := t.Node(section); n != nil {
				if err := substitute(n, "!GetAtt", values); err != nil {
					return nil, err
				}
			}
		}
	}
	merged := &Template{root: t.root}
	if err := t.root.Decode(merged); err != nil {
		return nil, fmt.Errorf("%s with its children: %w", path, err)
	}
	return merged, nil
}

// substitute replaces, under n, every scalar tagged tag (!Ref: a child's parameters; !GetAtt:
// "Child.Outputs.Name") whose name is a key of values by that value, and every ${name} of a !Sub
// string by the value's ${...} form (a plain string: its text).
func substitute(n *yaml.Node, tag string, values map[string]*yaml.Node) error {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == tag:
		if v, ok := values[n.Value]; ok {
			*n = *v
		}
		return nil
	case n.Kind == yaml.ScalarNode && n.Tag == "!Sub":
		return substituteSub(n, values)
	case n.Kind == yaml.SequenceNode && n.Tag == "!Sub" && len(n.Content) > 0:
		// [string, {Var: value}]: only the string names them; the values are walked below.
		if err := substituteSub(n.Content[0], values); err != nil {
			return err
		}
		for _, c := range n.Content[1:] {
			if err := substitute(c, tag, values); err != nil {
				return err
			}
		}
		return nil
	}
	for _, c := range n.Content {
		if err := substitute(c, tag, values); err != nil {
			return err
		}
	}
	return nil
}

func substituteSub(n *yaml.Node, values map[string]*yaml.Node) error {
	for name, v := range values {
		ref := "${" + name + "}"
		if !strings.Contains(n.Value, ref) {
			continue
		}
		var with string
		switch {
		case v.Kind == yaml.ScalarNode && (v.Tag == "!Ref" || v.Tag == "!GetAtt"):
			with = "${" + v.Value + "}"
		case v.Kind == yaml.ScalarNode && v.Tag == "!!str":
			with = v.Value
		default:
			return fmt.Errorf("!Sub names ${%s}, whose value (%s) a !Sub cannot carry", name, v.Tag)
		}
		n.Value = strings.ReplaceAll(n.Value, ref, with)
	}
	return nil
}

// resolveOwnCondition replaces, in each resource of the mapping node resources that has a
// Condition C, every !If [C, a, b] by a: the resource exists only when C holds. It is how a child
// receives a value of a conditional resource of the parent.
func resolveOwnCondition(resources *yaml.Node) {
	for i := 0; i+1 < len(resources.Content); i += 2 {
		r := resources.Content[i+1]
		if c := nodeKey(r, "Condition"); c != nil {
			resolveIf(r, c.Value)
		}
	}
}

func resolveIf(n *yaml.Node, cond string) {
	if n.Kind == yaml.SequenceNode && n.Tag == "!If" && len(n.Content) == 3 && n.Content[0].Value == cond {
		*n = *n.Content[1]
	}
	for _, c := range n.Content {
		resolveIf(c, cond)
	}
}

// nodeKey is the value of key in the mapping node m, or nil.
func nodeKey(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
