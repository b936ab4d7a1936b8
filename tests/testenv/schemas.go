package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// SchemaDir is where the event schemas are, from the repository's top.
const SchemaDir = "docs/schemas"

// ErrNoSchema is the error for an event whose source and detail-type have no schema.
var ErrNoSchema = errors.New("no schema in " + SchemaDir)

// eventSchemas are docs/schemas compiled, by source and detail-type, in test mode: every object
// the published schema leaves open to additive change ("additionalProperties": true with
// "properties") is closed, so a field the gateway emits and the schema lacks (a renamed field, a
// new field without its schema) fails a test while consumers' validators accept it.
type eventSchemas struct {
	bySource map[[2]string]*jsonschema.Schema
	files    map[[2]string]string
}

var loadSchemas = sync.OnceValues(func() (*eventSchemas, error) {
	return compileSchemas(filepath.Join(localaws.RepoRoot(), SchemaDir))
})

func compileSchemas(dir string) (*eventSchemas, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("%s holds no schema", dir)
	}
	s := &eventSchemas{bySource: map[[2]string]*jsonschema.Schema{}, files: map[[2]string]string{}}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		key, err := schemaKey(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if other, dup := s.files[key]; dup {
			return nil, fmt.Errorf("%s and %s both describe %s %q", other, p, key[0], key[1])
		}
		if defs, ok := doc.(map[string]any)["definitions"]; ok {
			closeObjects(defs)
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft4)
		c.AssertFormat()
		url := "file://" + filepath.ToSlash(p)
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		sch, err := c.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if sch.DraftVersion != 4 {
			return nil, fmt.Errorf("%s: compiled as draft %d, want 4", p, sch.DraftVersion)
		}
		s.bySource[key], s.files[key] = sch, filepath.Base(p)
	}
	return s, nil
}

// schemaKey reads the source and detail-type a schema describes: the single value of each enum.
func schemaKey(doc any) ([2]string, error) {
	props, _ := doc.(map[string]any)["properties"].(map[string]any)
	one := func(name string) (string, error) {
		p, _ := props[name].(map[string]any)
		vals, _ := p["enum"].([]any)
		if len(vals) != 1 {
			return "", fmt.Errorf("properties.%s.enum must hold exactly one value", name)
		}
		s, ok := vals[0].(string)
		if !ok {
			return "", fmt.Errorf("properties.%s.enum holds a non-string", name)
		}
		return s, nil
	}
	src, err := one("source")
	if err != nil {
		return [2]string{}, err
	}
	dt, err := one("detail-type")
	return [2]string{src, dt}, err
}

// closeObjects sets "additionalProperties": false on every object schema with properties that
// leaves it true or unset.
func closeObjects(v any) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["properties"]; ok && x["type"] == "object" {
			if ap, set := x["additionalProperties"]; !set || ap == true {
				x["additionalProperties"] = false
			}
		}
		for _, c := range x {
			closeObjects(c)
		}
	case []any:
		for _, c := range x {
			closeObjects(c)
		}
	}
}

// ValidateEvent checks one event, as a consumer's target receives it, against the schema of its
// source and detail-type. The error wraps ErrNoSchema when there is none.
func ValidateEvent(body []byte) error {
	s, err := loadSchemas()
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("event is not JSON: %w", err)
	}
	var head struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
	}
	_ = json.Unmarshal(body, &head)
	key := [2]string{head.Source, head.DetailType}
	sch, ok := s.bySource[key]
	if !ok {
		return fmt.Errorf("%w for source %q detail-type %q: add it to tools/schemas and run make schemas", ErrNoSchema, head.Source, head.DetailType)
	}
	if err := sch.Validate(doc); err != nil {
		return fmt.Errorf("%s %q event does not match %s/%s: %w", head.Source, head.DetailType, SchemaDir, s.files[key], err)
	}
	return nil
}

// ValidateDetail checks an event's detail (a PutEvents entry's, or the full detail of an
// oversized event read from S3) inside the envelope EventBridge would give it.
func ValidateDetail(source, detailType, detail string, resources []string) error {
	if resources == nil {
		resources = []string{}
	}
	env, err := json.Marshal(map[string]any{
		"version": "0", "id": "00000000-0000-0000-0000-000000000000", "detail-type": detailType, "source": source,
		"account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": localaws.Region, "resources": resources,
		"detail": json.RawMessage(detail),
	})
	if err != nil {
		return fmt.Errorf("%s %q detail is not JSON: %w", source, detailType, err)
	}
	return ValidateEvent(env)
}

// ReceiveAll reads a consumer's queue as localaws.ReceiveAll does (until max messages, or the
// queue stays empty for a quiet period), and checks every message against its event schema: no
// test reads an event unchecked.
func ReceiveAll(ctx context.Context, cfg aws.Config, queueURL string, max int) ([]string, error) {
	bodies, err := localaws.ReceiveAll(ctx, cfg, queueURL, max)
	if err != nil {
		return nil, err
	}
	var errs []error
	for i, b := range bodies {
		if err := ValidateEvent(withAccount(b)); err != nil {
			errs = append(errs, fmt.Errorf("message %d of %d: %w", i+1, len(bodies), err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return bodies, nil
}

// withAccount adds the envelope's account when moto left it out: moto 5.2's default target input
// (EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE) has no account, which EventBridge always sends.
func withAccount(body string) []byte {
	var env map[string]json.RawMessage
	if json.Unmarshal([]byte(body), &env) != nil {
		return []byte(body)
	}
	if _, ok := env["account"]; ok {
		return []byte(body)
	}
	env["account"] = json.RawMessage(`"123456789012"`)
	b, err := json.Marshal(env)
	if err != nil {
		return []byte(body)
	}
	return b
}
