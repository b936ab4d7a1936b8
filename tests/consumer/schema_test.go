package consumer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/examples/consumer/consumer"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// Every field the example's types read exists in the gateway's published schema of its
// detail-type (docs/schemas, what the schema registry serves), with a compatible JSON type: a
// renamed or retyped field fails here, before a consumer copies it.
func TestTheConsumerTypesMatchThePublishedSchemas(t *testing.T) {
	for _, tc := range []struct {
		source, detailType string
		event              any
	}{
		{"amazon-webhook-gateway.shipping", consumer.DetailTypeOTPGenerated, consumer.Event[consumer.OTPGenerated]{}},
		{"amazon-webhook-gateway.amazon-pay", consumer.DetailTypeChargeChanged, consumer.Event[consumer.ChargeChanged]{}},
	} {
		t.Run(tc.detailType, func(t *testing.T) {
			file := filepath.Join(localaws.RepoRoot(), "docs", "schemas", tc.source+"@"+strings.ReplaceAll(tc.detailType, " ", "")+".json")
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var schema map[string]any
			if err := json.Unmarshal(b, &schema); err != nil {
				t.Fatal(err)
			}
			for _, p := range mismatches(schema, schema, reflect.TypeOf(tc.event), "") {
				t.Error(p)
			}
		})
	}
}

// mismatches lists the fields of typ (a struct) that node, a JSON Schema object, lacks or types
// otherwise.
func mismatches(root, node map[string]any, typ reflect.Type, path string) []string {
	node = resolve(root, node)
	props, _ := node["properties"].(map[string]any)
	var out []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		p, ok := props[name].(map[string]any)
		if !ok {
			out = append(out, path+name+": not in the schema")
			continue
		}
		p = resolve(root, p)
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		want := map[reflect.Kind]string{reflect.String: "string", reflect.Bool: "boolean", reflect.Int64: "integer", reflect.Map: "object", reflect.Struct: "object"}[ft.Kind()]
		if got, _ := p["type"].(string); got != "" && got != want {
			out = append(out, path+name+": the schema says "+got+", the type "+want)
		}
		if ft.Kind() == reflect.Struct {
			out = append(out, mismatches(root, p, ft, path+name+".")...)
		}
	}
	return out
}

// resolve follows a "$ref": "#/definitions/X".
func resolve(root, node map[string]any) map[string]any {
	ref, ok := node["$ref"].(string)
	if !ok {
		return node
	}
	defs, _ := root["definitions"].(map[string]any)
	d, _ := defs[strings.TrimPrefix(ref, "#/definitions/")].(map[string]any)
	return d
}
