package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// docs/schemas and template-schemas.yaml are what `make generate` writes: a hand edit of either,
// or an edit of the catalog without `make generate`, fails here.
func TestSchemaFilesAndTheirChildTemplateAreGenerated(t *testing.T) {
	if err := checkFiles(localaws.RepoRoot()); err != nil {
		t.Fatal(err)
	}
}

// -check names a stale, a missing and an extra file; a write repairs them all.
func TestCheckNamesEveryStaleFileAndWriteRepairsThem(t *testing.T) {
	root := t.TempDir()
	if err := write(root); err != nil {
		t.Fatal(err)
	}
	if err := checkFiles(root); err != nil {
		t.Fatalf("just written: %v", err)
	}
	schemaFiles, _ := filepath.Glob(filepath.Join(root, schemaDir, "*.json"))
	if len(schemaFiles) == 0 {
		t.Fatal("no schema written")
	}
	if err := os.WriteFile(schemaFiles[0], []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, childFile)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, schemaDir, "gone@Old.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := checkFiles(root)
	for _, name := range []string{filepath.Base(schemaFiles[0]), childFile, "gone@Old.json"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("-check: %v, want it to name %s", err, name)
		}
	}
	if err := write(root); err != nil {
		t.Fatal(err)
	}
	if err := checkFiles(root); err != nil {
		t.Errorf("after a write: %v", err)
	}
}

// The deployed stack registers exactly the files of docs/schemas, content inlined as is; read with the
// template reader, not the generator, so that a hand edit of either side fails.
func TestTemplateRegistersEverySchemaFile(t *testing.T) {
	root := localaws.RepoRoot()
	tmpl, err := localaws.LoadStack()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, schemaDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no schema files: %v", err)
	}
	registries := 0
	registered := map[string]string{}
	for id, r := range tmpl.Resources {
		switch r.Type {
		case "AWS::EventSchemas::Registry":
			registries++
		case "AWS::EventSchemas::Schema":
			name, _ := r.Properties["SchemaName"].(string)
			content, _ := r.Properties["Content"].(string)
			if r.Properties["Type"] != "JSONSchemaDraft4" || r.Properties["RegistryName"] != "EventSchemaRegistry.RegistryName" {
				t.Errorf("%s: Type %v, RegistryName %v", id, r.Properties["Type"], r.Properties["RegistryName"])
			}
			registered[name+".json"] = content
		}
	}
	if registries != 1 {
		t.Errorf("%d schema registries, want 1", registries)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		content, ok := registered[filepath.Base(f)]
		if !ok {
			t.Errorf("%s is not registered in template.yaml", filepath.Base(f))
			continue
		}
		delete(registered, filepath.Base(f))
		var fromFile, fromTemplate any
		if err := json.Unmarshal(b, &fromFile); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := json.Unmarshal([]byte(content), &fromTemplate); err != nil {
			t.Errorf("%s: template Content is not JSON: %v", filepath.Base(f), err)
			continue
		}
		a, _ := json.Marshal(fromFile)
		c, _ := json.Marshal(fromTemplate)
		if !bytes.Equal(a, c) {
			t.Errorf("%s: template Content differs from the file: run make schemas", filepath.Base(f))
		}
	}
	for name := range registered {
		t.Errorf("template.yaml registers %s, which docs/schemas lacks", name)
	}
}

// draft4Keywords are the keywords of JSON Schema Draft 4, the only draft EventBridge's registry
// takes: a later keyword (const, if, examples...) would be ignored there, silently.
var draft4Keywords = []string{
	"$schema", "id", "$ref", "title", "description", "default", "multipleOf", "maximum", "exclusiveMaximum",
	"minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "additionalItems", "items", "maxItems",
	"minItems", "uniqueItems", "maxProperties", "minProperties", "required", "additionalProperties",
	"definitions", "properties", "patternProperties", "dependencies", "enum", "type", "allOf", "anyOf", "oneOf",
	"not", "format",
}

func TestSchemasUseDraft4Only(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(localaws.RepoRoot(), schemaDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no schema files: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if doc["$schema"] != "http://json-schema.org/draft-04/schema#" {
			t.Errorf("%s: $schema %v", filepath.Base(f), doc["$schema"])
		}
		for _, p := range foreignKeywords(doc, "#") {
			t.Errorf("%s: %s is not a Draft 4 keyword", filepath.Base(f), p)
		}
	}
}

// foreignKeywords lists the paths of keywords outside Draft 4 in schema s.
func foreignKeywords(s any, at string) []string {
	m, ok := s.(map[string]any)
	if !ok {
		return nil
	}
	var out []string
	for k, v := range m {
		switch {
		case !slices.Contains(draft4Keywords, k):
			out = append(out, at+"/"+k)
		case k == "properties" || k == "definitions" || k == "patternProperties":
			for name, sub := range v.(map[string]any) {
				out = append(out, foreignKeywords(sub, at+"/"+k+"/"+name)...)
			}
		case k == "items" || k == "additionalProperties" || k == "additionalItems" || k == "not":
			out = append(out, foreignKeywords(v, at+"/"+k)...)
		case k == "allOf" || k == "anyOf" || k == "oneOf":
			for i, sub := range v.([]any) {
				out = append(out, foreignKeywords(sub, at+"/"+k+"/"+strconv.Itoa(i))...)
			}
		case (k == "exclusiveMinimum" || k == "exclusiveMaximum"):
			if _, isBool := v.(bool); !isBool {
				out = append(out, at+"/"+k+" (a number: Draft 6 semantics)")
			}
		}
	}
	return out
}

func TestForeignKeywordsAreFound(t *testing.T) {
	doc := map[string]any{"type": "object", "properties": map[string]any{
		"a": map[string]any{"const": "x"},
		"b": map[string]any{"oneOf": []any{map[string]any{"if": true}}},
		"c": map[string]any{"exclusiveMinimum": 1},
	}}
	if got := foreignKeywords(doc, "#"); len(got) != 3 {
		t.Errorf("found %q, want 3", got)
	}
}
