package localaws

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const sample = `AWSTemplateFormatVersion: "2010-09-09"
Description: a sample
Parameters:
  Days: {Type: Number, Default: 30, MinValue: 2, MaxValue: 90}
  Mode: {Type: String, Default: a, AllowedValues: [a, b]}
Conditions:
  IsA: !Equals [!Ref Mode, a]
Globals:
  Function:
    Timeout: 4
    Environment:
      Variables:
        LOG_LEVEL: INFO
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Condition: IsA
    Properties:
      TableName: !Sub "${AWS::StackName}-t"
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          TABLE: !Ref Table
      Events:
        Post:
          Type: HttpApi
          Properties: {Method: POST, Path: /x}
        FromQueue:
          Type: SQS
          Properties:
            Queue: !GetAtt Q.Arn
  Bare:
    Type: AWS::Serverless::Function
Outputs:
  Url:
    Condition: IsA
    Value: !Sub "https://${Api}/x"
  Name:
    Value: !Ref Table
`

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadTemplate(t *testing.T) {
	tmpl, err := ReadTemplate(write(t, sample))
	if err != nil {
		t.Fatal(err)
	}
	env := tmpl.FunctionEnv("Fn")
	slices.Sort(env)
	events, err := tmpl.FunctionEvents("Fn")
	if err != nil {
		t.Fatal(err)
	}
	bare, err := tmpl.FunctionEvents("Bare")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"description", tmpl.Description, "a sample"},
		{"parameter", tmpl.Parameters["Days"], Parameter{Type: "Number", Default: 30, MinValue: 2, MaxValue: 90}},
		{"allowed values", tmpl.Parameters["Mode"].AllowedValues, []any{"a", "b"}},
		{"condition (tags dropped)", tmpl.Conditions["IsA"], []any{"Mode", "a"}},
		{"globals timeout", tmpl.Globals.Function.Timeout, 4},
		{"resource", tmpl.Resources["Table"], Resource{Type: "AWS::DynamoDB::Table", Condition: "IsA", Properties: map[string]any{"TableName": "${AWS::StackName}-t"}}},
		{"functions", tmpl.Functions(), []string{"Bare", "Fn"}},
		{"function env", env, []string{"LOG_LEVEL", "TABLE"}},
		{"events", events, map[string]Event{
			"Post":      {Type: "HttpApi", Properties: map[string]any{"Method": "POST", "Path": "/x"}},
			"FromQueue": {Type: "SQS", Properties: map[string]any{"Queue": "Q.Arn"}},
		}},
		{"no events", bare, map[string]Event(nil)},
		{"output with condition", tmpl.Outputs["Url"], Output{Condition: "IsA", Value: "https://${Api}/x"}},
		{"output without", tmpl.Outputs["Name"].Condition, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

// Node keeps what the decoder drops: the tag of an intrinsic function.
func TestTemplateNode(t *testing.T) {
	tmpl, err := ReadTemplate(write(t, sample))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		keys     []string
		tag, val string // tag "" means no node
	}{
		{[]string{"Resources", "Fn", "Properties", "Environment", "Variables", "TABLE"}, "!Ref", "Table"},
		{[]string{"Outputs", "Url", "Value"}, "!Sub", "https://${Api}/x"},
		{[]string{"Description"}, "!!str", "a sample"},
		{[]string{"Resources", "Missing", "Type"}, "", ""},
		{[]string{"Description", "NotAMapping"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.keys, "."), func(t *testing.T) {
			n := tmpl.Node(tt.keys...)
			switch {
			case tt.tag == "" && n != nil:
				t.Errorf("got %+v, want no node", n)
			case tt.tag != "" && (n == nil || n.Tag != tt.tag || n.Value != tt.val):
				t.Errorf("got %+v, want %s %q", n, tt.tag, tt.val)
			}
		})
	}
}

func TestReadTemplateErrors(t *testing.T) {
	tests := []struct{ name, body, wantErr string }{
		{"not yaml", "Resources: [unclosed", "yaml"},
		{"events not a mapping", "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events: [a]\n", "Events"},
		{"resources not a mapping", "Resources: [a]\n", "yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := ReadTemplate(write(t, tt.body))
			if err == nil {
				_, err = tmpl.FunctionEvents("Fn")
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := ReadTemplate(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing file: want an error")
	}
	empty, err := ReadTemplate(write(t, ""))
	if err != nil || len(empty.Resources) != 0 || empty.Node("Resources") != nil {
		t.Errorf("empty file: %+v, %v; want an empty template", empty, err)
	}
}

// The project's own template reads, and every function in it has its events decoded.
func TestLoadTemplateReadsTheProjectTemplate(t *testing.T) {
	tmpl, err := LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	fns := tmpl.Functions()
	if len(fns) < 4 {
		t.Fatalf("functions %v, want the four of the gateway", fns)
	}
	for _, fn := range fns {
		if _, err := tmpl.FunctionEvents(fn); err != nil {
			t.Error(err)
		}
	}
}
