package docs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// exported are the outputs consumer stacks import.
var exported = []string{"EventBusName", "EventBusArn", "EventSchemaRegistryName", "ShippingLookupInvokePolicyArn", "ShippingAccountLookupInvokePolicyArn"}

// The outputs consumers build on are exported as <stack>-<Output>, and outputs.md names each
// export; no other output is exported (an export cannot change while imported).
func TestConsumerOutputsAreExportedUnderTheStacksName(t *testing.T) {
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(localaws.RepoRoot(), "docs", "outputs.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name, o := range tmpl.Outputs {
		want := ""
		for _, e := range exported {
			if e == name {
				want = "${AWS::StackName}-" + name
			}
		}
		if o.Export.Name != want {
			t.Errorf("output %s: export %q, want %q", name, o.Export.Name, want)
		}
	}
	for _, e := range exported {
		if _, ok := tmpl.Outputs[e]; !ok {
			t.Errorf("template.yaml has no output %s", e)
		}
		if !strings.Contains(string(doc), "`"+e+"`") {
			t.Errorf("docs/outputs.md does not name the export of %s", e)
		}
	}
}
