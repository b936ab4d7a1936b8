package limits

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// The template sets the functions' timeout, the API's throttling, the functions' concurrency and
// their alarms, each from a parameter.
func TestTemplateSetsLimitsAndAlarms(t *testing.T) {
	// Intrinsic-function tags (!Ref, !If) are dropped by the decoder: !Ref X reads as "X".
	tmpl, err := localaws.LoadStack()
	if err != nil {
		t.Fatal(err)
	}
	res := tmpl.Resources

	// Amazon Shipping gives up after 5 s: the function must fail (and let it retry) before that.
	if tmpl.Globals.Function.Timeout <= 0 || tmpl.Globals.Function.Timeout >= 5 {
		t.Errorf("function timeout %d s, want below the senders' 5 s", tmpl.Globals.Function.Timeout)
	}
	route := res["HttpApi"].Properties["DefaultRouteSettings"].(map[string]any)
	if route["ThrottlingBurstLimit"] != "ApiThrottlingBurstLimit" || route["ThrottlingRateLimit"] != "ApiThrottlingRateLimit" {
		t.Errorf("API stage throttling is not set by parameters: %v", route)
	}
	for fn, param := range map[string]string{
		"ShippingOtpFunction": "ShippingReservedConcurrency", "ApsFunction": "ApsReservedConcurrency",
		"AmazonPayIpnFunction": "AmazonPayIpnReservedConcurrency",
	} {
		props := res[fn].Properties
		if _, ok := tmpl.Parameters[param]; !ok || !strings.Contains(flatten(props["ReservedConcurrentExecutions"]), param) {
			t.Errorf("%s: reserved concurrency not set by %s", fn, param)
		}
		env := props["Environment"].(map[string]any)["Variables"].(map[string]any)
		if env["PAYLOAD_BUCKET"] != "PayloadBucket" || env["MAX_BODY_BYTES"] == nil {
			t.Errorf("%s: no quarantine bucket or body cap in its environment", fn)
		}
	}

	bucket := res["PayloadBucket"].Properties
	if !strings.Contains(flatten(bucket["BucketEncryption"]), "SSEAlgorithm") ||
		strings.Count(flatten(bucket["PublicAccessBlockConfiguration"]), "true") != 4 ||
		!strings.Contains(flatten(bucket["LifecycleConfiguration"]), "QuarantineRetentionDays") {
		t.Errorf("the quarantine bucket is not encrypted, private and expiring by parameter: %v", bucket)
	}
	if !strings.Contains(flatten(res["PayloadBucketPolicy"].Properties), "aws:SecureTransport") {
		t.Error("the quarantine bucket accepts plain HTTP")
	}

	// Alarms: 5xx, authentication failure spikes, quarantine not empty, publish failures,
	// throttles, all notifying AlarmTopicArn.
	var alarms []string
	for name, r := range res {
		if r.Type == "AWS::CloudWatch::Alarm" {
			alarms = append(alarms, name)
			if !strings.Contains(flatten(r.Properties["AlarmActions"]), "AlarmTopicArn") {
				t.Errorf("%s notifies nobody", name)
			}
		}
	}
	all := strings.Join(alarms, " ")
	for _, want := range []string{"HttpApi5xxAlarm", "ShippingOtpAuthFailuresAlarm", "ApsAuthFailuresAlarm", "AmazonPayIpnAuthFailuresAlarm",
		"QuarantineNotEmptyAlarm", "ShippingOtpDeliveryFailuresAlarm", "ApsDeliveryFailuresAlarm", "AmazonPayIpnDeliveryFailuresAlarm",
		"ShippingOtpFunctionThrottlesAlarm", "ApsFunctionThrottlesAlarm", "AmazonPayIpnFunctionThrottlesAlarm"} {
		if !strings.Contains(all, want) {
			t.Errorf("alarm %s missing", want)
		}
	}
	for _, lg := range []string{"ShippingOtpFunctionLogGroup", "ApsFunctionLogGroup", "AmazonPayIpnFunctionLogGroup"} {
		found := false
		for _, r := range res {
			p := r.Properties
			found = found || (r.Type == "AWS::Logs::MetricFilter" && p["LogGroupName"] == lg && strings.Contains(flatten(p["FilterPattern"]), "delivery quarantined"))
		}
		if !found {
			t.Errorf("%s: quarantined deliveries are not counted", lg)
		}
	}
}

// flatten renders a decoded YAML value for substring checks.
func flatten(v any) string {
	b, _ := yaml.Marshal(v)
	return string(b)
}
