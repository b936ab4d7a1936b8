package main

import (
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// The schema registry (a child stack), which moto lacks, is left out of the local stack and
// `make run` says so.
func TestSchemaRegistryIsSkippedAndSaidSo(t *testing.T) {
	tmpl, err := localaws.LoadStack()
	if err != nil {
		t.Fatal(err)
	}
	lines := skippedResources(tmpl)
	if len(lines) != 1 {
		t.Fatalf("skipped %q, want one line", lines)
	}
	for _, want := range []string{"1 AWS::EventSchemas::Registry", "AWS::EventSchemas::Schema", "moto has no EventBridge schema registry", "docs/schemas"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("%q lacks %q", lines[0], want)
		}
	}
}
