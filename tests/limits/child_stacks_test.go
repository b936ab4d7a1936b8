package limits

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// physicalNames are the explicitly named resources of the deployed stack (children included),
// as "<property> <name as written>", a schema as "SchemaName <registry>/<schema>".
func physicalNames(t *testing.T, tmpl *localaws.Template) map[string]string {
	t.Helper()
	names := map[string]string{}
	for id, r := range tmpl.Resources {
		for _, prop := range []string{"AlarmName", "DashboardName", "RegistryName"} {
			if r.Type == "AWS::EventSchemas::Schema" {
				continue
			}
			if v, ok := r.Properties[prop].(string); ok {
				names[prop+" "+v] = id
			}
		}
		if r.Type == "AWS::EventSchemas::Schema" {
			registry := strings.TrimSuffix(r.Properties["RegistryName"].(string), ".RegistryName")
			regName, _ := tmpl.Resources[registry].Properties["RegistryName"].(string)
			names["SchemaName "+regName+"/"+r.Properties["SchemaName"].(string)] = id
		}
	}
	return names
}

// CloudFormation creates a child stack's resources before it deletes the parent's old copies: a
// moved resource keeping its old physical name would fail "already exists" and roll the update
// back. So no named resource may carry a name the stack held before the children existed, and
// an existing stack updates in one deploy.
func TestMovedResourcesNeverReuseANameTheStackStillHolds(t *testing.T) {
	tmpl, err := localaws.LoadStack()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join("testdata", "names-before-child-stacks.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before := map[string]bool{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := s.Text(); line != "" && !strings.HasPrefix(line, "#") {
			before[line] = true
		}
	}
	if len(before) < 29+47 {
		t.Fatalf("%d names before the child stacks, want the 29+ alarms, 47 schemas, registry and dashboard", len(before))
	}
	names := physicalNames(t, tmpl)
	kinds := map[string]int{}
	for name, id := range names {
		kinds[strings.Fields(name)[0]]++
		if before[name] {
			t.Errorf("%s is named %q, a name the stack already holds: the update would fail", id, name)
		}
	}
	if kinds["AlarmName"] < 29 || kinds["SchemaName"] < 47 || kinds["DashboardName"] != 1 || kinds["RegistryName"] != 1 {
		t.Errorf("named resources %v: fewer than before, the check reads the wrong thing", kinds)
	}
}

// Inside a child ${AWS::StackName} is the child's own name (<parent>-Alarms-XYZ): every name there
// derives from GatewayStackName, which the parent sets to its own name.
func TestChildStacksNameThingsAfterTheParent(t *testing.T) {
	root := localaws.RepoRoot()
	parent, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	children, err := parent.Children(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(children) != 2 {
		t.Fatalf("%d child stacks, want Schemas and Alarms", len(children))
	}
	for id := range children {
		loc := parent.Resources[id].Properties["Location"].(string)
		raw, err := os.ReadFile(filepath.Join(root, loc))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(raw), "\n") {
			if strings.Contains(line, "${AWS::StackName}") || strings.Contains(line, "!Ref AWS::StackName") {
				t.Errorf("%s:%d uses the child's own stack name: %s", loc, i+1, strings.TrimSpace(line))
			}
		}
		if n := parent.Node("Resources", id, "Properties", "Parameters", "GatewayStackName"); n == nil || n.Tag != "!Ref" || n.Value != "AWS::StackName" {
			t.Errorf("%s: GatewayStackName is not the parent's !Ref AWS::StackName", id)
		}
	}
	tmpl, err := localaws.LoadStack()
	if err != nil {
		t.Fatal(err)
	}
	for name, id := range physicalNames(t, tmpl) {
		if !strings.Contains(name, "${AWS::StackName}") && !strings.HasPrefix(name, "SchemaName ") {
			t.Errorf("%s: %q is not derived from the stack's name (two stacks in one account would clash)", id, name)
		}
	}
}

// The hand-written parent stays readable (≤ 100 KB, what is generated lives in the children), and
// every template stays well inside CloudFormation's 1 MB limit for a template read from S3.
func TestTemplatesStayWithinTheirSizes(t *testing.T) {
	root := localaws.RepoRoot()
	files, _ := filepath.Glob(filepath.Join(root, "template-*.yaml"))
	if len(files) != 2 {
		t.Fatalf("child templates %v, want two", files)
	}
	for _, f := range append(files, filepath.Join(root, "template.yaml")) {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		limit := int64(800 << 10)
		if filepath.Base(f) == "template.yaml" {
			limit = 100 << 10
		}
		if fi.Size() > limit {
			t.Errorf("%s is %d bytes, over %d", filepath.Base(f), fi.Size(), limit)
		}
	}
}
