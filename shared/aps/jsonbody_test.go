package aps

import (
	"maps"
	"testing"
)

// TestParseParamsJSONDecodesEscapesAndSpacing: a JSON body's strings are read with their escapes
// decoded, numbers keep their text, and white space between tokens counts for nothing.
func TestParseParamsJSONDecodesEscapesAndSpacing(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       map[string]string
	}{
		{"escapes", `{"a":"x\"y\u00e9\\","b":"plain"}`, map[string]string{"a": `x"yé\`, "b": "plain"}},
		{"separators inside strings", `{"a":"1,2","b":"{[,]}"}`, map[string]string{"a": "1,2", "b": "{[,]}"}},
		{"white space around tokens", " \n{ \"a\" : \"1\" ,\t\"b\":2 }\r\n", map[string]string{"a": "1", "b": "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseParams(MediaJSON, []byte(tc.body))
			if err != nil || !maps.Equal(got, tc.want) {
				t.Fatalf("ParseParams = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestParseParamsJSONRefusesANameRepeatedThroughAnEscape: a name spelt a second time through a
// \u escape is the same name, and refused as a repeated one.
func TestParseParamsJSONRefusesANameRepeatedThroughAnEscape(t *testing.T) {
	got, err := ParseParams(MediaJSON, []byte(`{"a":"1","\u0061":"2"}`))
	if field, ok := fieldOf(err); !ok || field != "a" {
		t.Fatalf("ParseParams = %q, %v; want a *FieldError on \"a\"", got, err)
	}
}
