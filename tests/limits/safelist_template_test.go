package limits

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/amazon-webhook-gateway/gateway/shared/safelist"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// The safelisting function gets what to safelist from its environment, wired from exactly
// the values of the custom resource's Endpoint and Sandbox properties (same intrinsic function,
// same arguments), so that a genuine event always matches and an invocation cannot choose them.
// The resource bounds CloudFormation's wait, and ResponseURL mismatches are counted and alarmed.
func TestSafelistEnvironmentEqualsTheResourcesProperties(t *testing.T) {
	tmpl, err := localaws.LoadStack()
	if err != nil {
		t.Fatal(err)
	}
	fn := tmpl.Resources["AmazonPaySafelistFunction"].Properties
	res := tmpl.Resources["AmazonPayIpnSafelist"].Properties
	env, _ := fn["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	if res == nil || vars == nil {
		t.Fatal("AmazonPaySafelistFunction's environment or AmazonPayIpnSafelist's properties are missing")
	}

	// The decoder drops tags (!Sub, !Ref): compare the nodes too, so that a plain string in one
	// place and !Sub in the other cannot pass as equal.
	for envName, prop := range map[string]string{"AMAZON_PAY_IPN_ENDPOINT": "Endpoint", "AMAZON_PAY_SANDBOX": "Sandbox"} {
		if vars[envName] == nil || flatten(vars[envName]) != flatten(res[prop]) {
			t.Errorf("%s = %v, property %s = %v; want equal", envName, vars[envName], prop, res[prop])
		}
		envNode := tmpl.Node("Resources", "AmazonPaySafelistFunction", "Properties", "Environment", "Variables", envName)
		propNode := tmpl.Node("Resources", "AmazonPayIpnSafelist", "Properties", prop)
		if envNode == nil || propNode == nil || !sameNode(envNode, propNode) {
			t.Errorf("%s and property %s are not the same YAML (tag and value)", envName, prop)
		}
	}
	if n := tmpl.Node("Resources", "AmazonPayIpnSafelist", "Properties", "Endpoint"); n == nil || n.Tag != "!Sub" || !strings.HasSuffix(n.Value, "/amazon-pay/ipn") {
		t.Errorf("Endpoint is not the stack's own IPN URL: %+v", n)
	}
	if n := tmpl.Node("Resources", "AmazonPayIpnSafelist", "Properties", "Sandbox"); n == nil || n.Tag != "!Ref" || n.Value != "AmazonPaySandbox" {
		t.Errorf("Sandbox is not the AmazonPaySandbox parameter: %+v", n)
	}

	// CloudFormation waits an hour by default for an answer that never comes.
	timeout, _ := res["ServiceTimeout"].(int)
	fnTimeout, _ := fn["Timeout"].(int)
	if timeout <= fnTimeout || timeout > 3600 {
		t.Errorf("ServiceTimeout %v, want above the function's timeout %d s and at most 3600", res["ServiceTimeout"], fnTimeout)
	}

	var metric string
	for _, r := range tmpl.Resources {
		if r.Type == "AWS::Logs::MetricFilter" && r.Properties["LogGroupName"] == "AmazonPaySafelistFunctionLogGroup" &&
			strings.Contains(flatten(r.Properties["FilterPattern"]), `$.msg = "`+safelist.MsgResponseURLMismatch+`"`) {
			mt, _ := r.Properties["MetricTransformations"].([]any)
			if len(mt) == 1 {
				metric, _ = mt[0].(map[string]any)["MetricName"].(string)
			}
		}
	}
	if metric == "" {
		t.Fatal("no metric filter counts ResponseURL mismatches in the safelisting function's log group")
	}
	alarmed := false
	for _, r := range tmpl.Resources {
		alarmed = alarmed || r.Type == "AWS::CloudWatch::Alarm" && r.Properties["MetricName"] == metric &&
			strings.Contains(flatten(r.Properties["AlarmActions"]), "AlarmTopicArn")
	}
	if !alarmed {
		t.Errorf("no alarm on %s notifies AlarmTopicArn", metric)
	}
}

// sameNode compares kind, tag, value and children, not positions or comments.
func sameNode(a, b *yaml.Node) bool {
	if a.Kind != b.Kind || a.Tag != b.Tag || a.Value != b.Value || len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !sameNode(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}
