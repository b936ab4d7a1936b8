package localaws

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const parentYAML = `Conditions:
  Big: !Equals [!Ref Size, "big"]
Resources:
  Topic:
    Type: AWS::SNS::Topic
  Queue:
    Type: AWS::SQS::Queue
    Condition: Big
  Child:
    Type: AWS::Serverless::Application
    Properties:
      Location: child.yaml
      Parameters:
%s
Outputs:
  Dash:
    Value: !Sub https://x/${Child.Outputs.Name}
  Direct:
    Value: !GetAtt Child.Outputs.Name
`

const childYAML = `Parameters:
  StackName: {Type: String}
  TopicArn: {Type: String}
  QueueName: {Type: String, Default: ""}
Conditions:
  HasQueue: !Not [!Equals [!Ref QueueName, ""]]
Resources:
  Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub ${StackName}-alarm
      AlarmActions: [!Ref TopicArn]
  QueueAlarm:
    Type: AWS::CloudWatch::Alarm
    Condition: Big
    Properties:
      Dimensions: [{Name: QueueName, Value: !Ref QueueName}]
Outputs:
  Name:
    Value: !Ref Alarm
`

func writeStack(t *testing.T, params string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "template.yaml"), []byte(strings.Replace(parentYAML, "%s", params, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "child.yaml"), []byte(childYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "template.yaml")
}

// ReadStack inlines a child: its parameters become what the parent passes, its outputs what the
// parent reads, and a value the parent passes under the resource's own condition is that value.
func TestReadStackInlinesAChildAsIfWrittenInTheParent(t *testing.T) {
	path := writeStack(t, `        StackName: !Ref AWS::StackName
        TopicArn: !Ref Topic
        QueueName: !If [Big, !GetAtt Queue.QueueName, ""]`)
	tmpl, err := ReadStack(path)
	if err != nil {
		t.Fatal(err)
	}
	alarm := tmpl.Resources["Alarm"]
	if got := alarm.Properties["AlarmName"]; got != "${AWS::StackName}-alarm" {
		t.Errorf("AlarmName %v, want the parent's stack name", got)
	}
	if n := tmpl.Node("Resources", "Alarm", "Properties", "AlarmActions"); n == nil || n.Content[0].Tag != "!Ref" || n.Content[0].Value != "Topic" {
		t.Errorf("AlarmActions is not the parent's !Ref Topic")
	}
	if n := tmpl.Node("Resources", "QueueAlarm", "Properties", "Dimensions"); n == nil || n.Content[0].Content[3].Tag != "!GetAtt" || n.Content[0].Content[3].Value != "Queue.QueueName" {
		t.Errorf("the queue dimension is not the parent's !GetAtt Queue.QueueName under the alarm's own condition")
	}
	if _, ok := tmpl.Conditions["HasQueue"]; !ok {
		t.Error("the child's condition is not merged")
	}
	if got := tmpl.Outputs["Dash"].Value; got != "https://x/${Alarm}" {
		t.Errorf("output Dash %v, want the child's output inlined", got)
	}
	if n := tmpl.Node("Outputs", "Direct", "Value"); n == nil || n.Tag != "!Ref" || n.Value != "Alarm" {
		t.Errorf("output Direct is not the child's !Ref Alarm")
	}
}

func TestReadStackRefusesAParameterNotPassedOrNotDeclared(t *testing.T) {
	for name, params := range map[string]string{
		"missing":    "        StackName: !Ref AWS::StackName",
		"undeclared": "        StackName: !Ref AWS::StackName\n        TopicArn: !Ref Topic\n        Colour: blue",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ReadStack(writeStack(t, params)); err == nil {
				t.Error("no error")
			}
		})
	}
}
