// Command schemas writes the JSON Schema Draft 4 file of every detail-type the gateway emits to
// docs/schemas/ and registers them in template.yaml's event schema registry (the region between
// the BEGIN and END markers), content inlined.
//
//	go run ./tools/schemas        (make schemas)
//
// tools/schemas' tests fail when the files or the template differ from what it writes.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const (
	schemaDir   = "docs/schemas"
	beginMarker = "  # BEGIN event schemas: generated with docs/schemas by `make schemas` (go run ./tools/schemas); do not edit.\n"
	endMarker   = "  # END event schemas\n"
)

func main() {
	root, err := os.Getwd()
	if err == nil {
		err = write(root)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "schemas:", err)
		os.Exit(1)
	}
}

// render is a schema file: indented JSON, keys sorted, a final newline.
func render(doc obj) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// compact is a schema as the template inlines it.
func compact(file []byte) (string, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, file); err != nil {
		return "", err
	}
	return b.String(), nil
}

// files is every schema file by name.
func files() (map[string][]byte, error) {
	types := catalog()
	if err := checkCatalog(types); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, e := range types {
		b, err := render(e.Document())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.File(), err)
		}
		out[e.File()] = b
	}
	return out, nil
}

// region is the template's generated resources for the schema files.
func region(schemaFiles map[string][]byte) (string, error) {
	var b strings.Builder
	b.WriteString(beginMarker)
	b.WriteString(`  # moto has no schema registry: the local stack (make run) skips these.
  EventSchemaRegistry:
    Type: AWS::EventSchemas::Registry
    Properties:
      RegistryName: !Sub ${AWS::StackName}-events
      Description: JSON Schema Draft 4 schemas of the events the Amazon webhook gateway publishes (docs/schemas), for validation and code bindings.
`)
	for _, e := range catalog() {
		content, err := compact(schemaFiles[e.File()])
		if err != nil {
			return "", fmt.Errorf("%s: %w", e.File(), err)
		}
		fmt.Fprintf(&b, `
  %s:
    Type: AWS::EventSchemas::Schema
    Properties:
      RegistryName: !GetAtt EventSchemaRegistry.RegistryName
      SchemaName: %s
      Type: JSONSchemaDraft4
      Description: %s
      Content: '%s'
`, e.LogicalID(), e.Name(), yamlQuote(e.DetailType+" events (docs/schemas/"+e.File()+")"), strings.ReplaceAll(content, "'", "''"))
	}
	b.WriteString(endMarker)
	return b.String(), nil
}

func yamlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// withRegion replaces the template's generated region.
func withRegion(template []byte, region string) ([]byte, error) {
	t := string(template)
	begin := strings.Index(t, beginMarker)
	end := strings.Index(t, endMarker)
	if begin < 0 || end < begin {
		return nil, errors.New("template.yaml has no event schema region (markers " + strings.TrimSpace(beginMarker) + " ... " + strings.TrimSpace(endMarker) + ")")
	}
	return []byte(t[:begin] + region + t[end+len(endMarker):]), nil
}

// generated is what the schema folder and the template should hold.
func generated(root string) (map[string][]byte, []byte, error) {
	schemaFiles, err := files()
	if err != nil {
		return nil, nil, err
	}
	tmpl, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, nil, err
	}
	reg, err := region(schemaFiles)
	if err != nil {
		return nil, nil, err
	}
	tmpl, err = withRegion(tmpl, reg)
	return schemaFiles, tmpl, err
}

// write rewrites the schema folder (removing files no detail-type has) and the template region.
func write(root string) error {
	schemaFiles, tmpl, err := generated(root)
	if err != nil {
		return err
	}
	dir := filepath.Join(root, schemaDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, p := range old {
		if _, ok := schemaFiles[filepath.Base(p)]; !ok {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	for name, b := range schemaFiles {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(root, "template.yaml"), tmpl, 0o644)
}
