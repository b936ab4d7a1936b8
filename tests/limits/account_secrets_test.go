package limits

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// evaluate is CloudFormation's evaluation of the intrinsic functions a statement's Resource uses
// (!Split, !Join, !Ref of a parameter), on node, with params as the stack's parameter values.
func evaluate(t *testing.T, n *yaml.Node, params map[string]string) any {
	t.Helper()
	switch {
	case n.Tag == "!Ref":
		v, ok := params[n.Value]
		if !ok {
			t.Fatalf("!Ref %s: no such parameter given", n.Value)
		}
		return v
	case n.Tag == "!Split" || n.Tag == "!Join":
		if n.Kind != yaml.SequenceNode || len(n.Content) != 2 || n.Content[0].Kind != yaml.ScalarNode || n.Content[0].Tag != "!!str" {
			t.Fatalf("%s at line %d: want [a literal delimiter, a value]", n.Tag, n.Line)
		}
		delim, arg := n.Content[0].Value, evaluate(t, n.Content[1], params)
		if n.Tag == "!Split" {
			s, ok := arg.(string)
			if !ok {
				t.Fatalf("!Split at line %d of a list", n.Line)
			}
			return strings.Split(s, delim)
		}
		list, ok := arg.([]string)
		if !ok {
			t.Fatalf("!Join at line %d of a string", n.Line)
		}
		return strings.Join(list, delim)
	case n.Kind == yaml.SequenceNode:
		var out []string
		for _, c := range n.Content {
			s, ok := evaluate(t, c, params).(string)
			if !ok {
				t.Fatalf("a list in a list at line %d", c.Line)
			}
			out = append(out, s)
		}
		return out
	case n.Kind == yaml.ScalarNode && (n.Tag == "!!str" || n.Tag == ""):
		return n.Value
	}
	t.Fatalf("line %d: %s is not evaluated here", n.Line, n.Tag)
	return nil
}

// readAccountSecrets is the Resource of ShippingOtpFunction's ReadAccountSecrets statement.
func readAccountSecrets(t *testing.T, tmpl *localaws.Template) *yaml.Node {
	t.Helper()
	policies := tmpl.Node("Resources", "ShippingOtpFunction", "Properties", "Policies")
	var found *yaml.Node
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == "Sid" && n.Content[i+1].Value == "ReadAccountSecrets" {
					for j := 0; j+1 < len(n.Content); j += 2 {
						if n.Content[j].Value == "Resource" {
							found = n.Content[j+1]
						}
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	if policies != nil {
		walk(policies)
	}
	if found == nil {
		t.Fatal("ShippingOtpFunction has no ReadAccountSecrets statement")
	}
	return found
}

// Labels are bound in ShippingAccountSecretArns ("label=arn"), and bare ARNs still work; the role
// may read exactly the configured secrets: every resource is one of them or an ARN of a type
// Secrets Manager does not have (a label's), which matches nothing.
func TestTheRoleReadsExactlyTheConfiguredAccountSecrets(t *testing.T) {
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	pattern := regexp.MustCompile(tmpl.Parameters["ShippingAccountSecretArns"].AllowedPattern)
	arn := func(name string) string {
		return "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + name + "-AbCdEf"
	}
	harmless := regexp.MustCompile(`^arn:aws:secretsmanager:\*:\*:label:[a-z0-9._-]*$`)
	for _, tc := range []struct {
		name  string
		value string
		want  []string
	}{
		{"one labelled", "acme-a=" + arn("a"), []string{arn("a")}},
		{"one bare", arn("a"), []string{arn("a")}},
		{"labelled and bare, a name with = and a label with dots", "acme-a=" + arn("a") + "," + arn("b=c") + ",eu.west_2=" + arn("d"), []string{arn("a"), arn("b=c"), arn("d")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !pattern.MatchString(tc.value) {
				t.Fatalf("the parameter's AllowedPattern refuses %q", tc.value)
			}
			got, ok := evaluate(t, readAccountSecrets(t, tmpl), map[string]string{"ShippingAccountSecretArns": tc.value}).([]string)
			if !ok {
				t.Fatal("the Resource is not a list")
			}
			var secrets []string
			for _, r := range got {
				switch {
				case strings.Contains(r, ":secret:"):
					secrets = append(secrets, r)
				case !harmless.MatchString(r):
					t.Errorf("resource %q is neither a configured secret nor a label's ARN: %v", r, got)
				}
			}
			if !slices.Equal(secrets, tc.want) {
				t.Errorf("secrets %v, want %v (all: %v)", secrets, tc.want, got)
			}
		})
	}
	for _, bad := range []string{"Acme=" + arn("a"), "acme=" + arn("a") + " ", "acme=x", fmt.Sprintf("acme=%s,", arn("a"))} {
		if pattern.MatchString(bad) {
			t.Errorf("the AllowedPattern accepts %q", bad)
		}
	}
}
