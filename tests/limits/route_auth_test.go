package limits

import (
	"slices"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/lookup"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// template.yaml's auth of every HttpApi route (moto does not front API Gateway, so the
// template is what is checked): the webhook routes open to Amazon, the lookup routes IAM; the
// HttpApi enables the IAM authorizer with no default authorizer; the lookup function only reads;
// the invoke policy, a stack output, grants exactly execute-api:Invoke on the two default lookup
// routes (the account routes and their policy: account_lookups_test.go).
func TestWebhookRoutesAreOpenAndLookupRoutesRequireIAM(t *testing.T) {
	tmpl, err := localaws.LoadStack()
	if err != nil {
		t.Fatal(err)
	}
	auth, _ := tmpl.Resources["HttpApi"].Properties["Auth"].(map[string]any)
	if auth["EnableIamAuthorizer"] != true {
		t.Errorf("HttpApi Auth %v: EnableIamAuthorizer must be true", auth)
	}
	if d, ok := auth["DefaultAuthorizer"]; ok {
		t.Errorf("HttpApi has DefaultAuthorizer %v: the webhook routes must stay open", d)
	}
	iamRoutes := map[string]bool{}
	for _, key := range lookup.RouteKeys {
		iamRoutes[key] = true
	}
	seen := map[string]bool{}
	for _, fn := range tmpl.Functions() {
		evs, err := tmpl.FunctionEvents(fn)
		if err != nil {
			t.Fatal(err)
		}
		for name, ev := range evs {
			if ev.Type != "HttpApi" {
				continue
			}
			key := strings.ToUpper(flatScalar(ev.Properties["Method"])) + " " + flatScalar(ev.Properties["Path"])
			a, _ := ev.Properties["Auth"].(map[string]any)
			authorizer := flatScalar(a["Authorizer"])
			switch {
			case iamRoutes[key]:
				seen[key] = true
				if fn != "ShippingLookupFunction" || authorizer != "AWS_IAM" || len(a) != 1 {
					t.Errorf("%s %s (%s): Auth %v, want {Authorizer: AWS_IAM} on ShippingLookupFunction", fn, name, key, a)
				}
			case fn == "ShippingLookupFunction":
				t.Errorf("ShippingLookupFunction serves %s, which is no lookup route", key)
			case a != nil:
				t.Errorf("webhook route %s (%s %s) has Auth %v: Amazon cannot sign requests", key, fn, name, a)
			}
		}
	}
	for key := range iamRoutes {
		if !seen[key] {
			t.Errorf("route %s missing", key)
		}
	}

	// Read-only on exactly the two tables and the one index.
	res := tmpl.Resources
	var grants []string
	for _, s := range statements(t, res, "ShippingLookupFunction") {
		if s["Effect"] != "Allow" {
			continue
		}
		for _, a := range strs(s["Action"]) {
			for _, r := range strs(s["Resource"]) {
				grants = append(grants, a+" "+r)
			}
		}
	}
	want := []string{"dynamodb:GetItem OtpTable.Arn", "dynamodb:Query ${OtpTable.Arn}/index/byAlternateLegTrackingId", "dynamodb:GetItem TrackingTable.Arn"}
	if !sameSet(grants, want) {
		t.Errorf("ShippingLookupFunction may %v, want exactly %v", grants, want)
	}

	p := res["ShippingLookupInvokePolicy"]
	if p.Type != "AWS::IAM::ManagedPolicy" {
		t.Fatalf("ShippingLookupInvokePolicy is %q, want AWS::IAM::ManagedPolicy", p.Type)
	}
	doc, _ := p.Properties["PolicyDocument"].(map[string]any)
	list, _ := doc["Statement"].([]any)
	var invoke []string
	for _, s := range list {
		m, _ := s.(map[string]any)
		if m["Effect"] != "Allow" || !slices.Equal(strs(m["Action"]), []string{"execute-api:Invoke"}) || m["Condition"] != nil {
			t.Errorf("invoke policy statement %v: want Allow execute-api:Invoke only", m)
		}
		invoke = append(invoke, strs(m["Resource"])...)
	}
	prefix := "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*/"
	if !sameSet(invoke, []string{prefix + "GET/shipping/otps/*", prefix + "GET/shipping/tracking/*"}) {
		t.Errorf("invoke policy resources %v, want the two lookup routes of this API only", invoke)
	}
	// The resources match the lookup routes' ARNs and no webhook route's.
	for _, tc := range []struct {
		route string
		match bool
	}{
		{"GET/shipping/otps/1709913037960", true}, {"GET/shipping/tracking/1709913037960", true},
		{"POST/shipping/notifications", false}, {"GET/shipping/notifications", false}, {"POST/shipping/otps/1", false},
		{"POST/aps/transaction-feedback", false}, {"POST/amazon-pay/ipn", false},
	} {
		arn := prefix[:len(prefix)-2] + "/$default/" + tc.route
		matched := slices.ContainsFunc(invoke, func(p string) bool { return glob(p, arn) })
		if matched != tc.match {
			t.Errorf("%s: matched %v, want %v", tc.route, matched, tc.match)
		}
	}
	if out, ok := tmpl.Outputs["ShippingLookupInvokePolicyArn"]; !ok || flatScalar(out.Value) != "ShippingLookupInvokePolicy" || out.Condition != "" {
		t.Errorf("output ShippingLookupInvokePolicyArn %+v, want !Ref ShippingLookupInvokePolicy, always", out)
	}
}

func flatScalar(v any) string {
	s, _ := v.(string)
	return s
}

// The lookup function's own alarms (it is no webhook, so tools/alarms does not write them).
func TestTheLookupFunctionAlarmsOnErrorsThrottlesAndUnavailability(t *testing.T) {
	tmpl, err := localaws.LoadStack()
	if err != nil {
		t.Fatal(err)
	}
	for name, metric := range map[string]string{"ShippingLookupFunctionErrorsAlarm": "Errors", "ShippingLookupFunctionThrottlesAlarm": "Throttles"} {
		a := tmpl.Resources[name].Properties
		if a["Namespace"] != "AWS/Lambda" || a["MetricName"] != metric || !sameDims(dims(a["Dimensions"]), "FunctionName", "ShippingLookupFunction") || a["Threshold"] != 1 {
			t.Errorf("%s: not an alarm on the first %s of ShippingLookupFunction: %v", name, metric, a)
		}
	}
	a := tmpl.Resources["ShippingLookupUnavailableAlarm"].Properties
	if a["Namespace"] != "AmazonWebhookGateway" || a["MetricName"] != "Deliveries" ||
		!sameDims(dims(a["Dimensions"]), "Webhook", lookup.MetricsName, "Outcome", "unavailable") {
		t.Errorf("ShippingLookupUnavailableAlarm: not on the lookups' 503s: %v", a)
	}
}
