package limits

import (
	"slices"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/lookup"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// One account's lookups. moto does not front API Gateway nor evaluate IAM, so
// the template is what is checked: the account routes are IAM routes of ShippingLookupFunction,
// ShippingAccountLookupInvokePolicy grants exactly the routes of the account the caller's
// principal tag names, and neither lookup policy's resources match the other's routes.

// accountTag is the principal tag whose value names the caller's account.
const accountTag = "amazon-webhook-gateway-account"

// apiARN is the template's execute-api ARN of this API, up to the stage, as the policies write it.
const apiARN = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}"

// tagVariable is the policy variable as written inside !Sub (${!...} is a literal ${...}).
const tagVariable = "${!aws:PrincipalTag/" + accountTag + "}"

// invokeResources reads a managed policy of the template that must be only Allow
// execute-api:Invoke statements, without conditions or Not* elements, and returns its resources.
func invokeResources(t *testing.T, res map[string]localaws.Resource, name string) []string {
	t.Helper()
	p := res[name]
	if p.Type != "AWS::IAM::ManagedPolicy" {
		t.Fatalf("%s is %q, want AWS::IAM::ManagedPolicy", name, p.Type)
	}
	doc, _ := p.Properties["PolicyDocument"].(map[string]any)
	if doc["Version"] != "2012-10-17" {
		// Without it, IAM reads ${aws:PrincipalTag/...} as literal text.
		t.Errorf("%s: Version %v, want 2012-10-17 (policy variables)", name, doc["Version"])
	}
	list, _ := doc["Statement"].([]any)
	var out []string
	for _, s := range list {
		m, _ := s.(map[string]any)
		for _, k := range []string{"Condition", "NotAction", "NotResource", "Principal", "NotPrincipal"} {
			if m[k] != nil {
				t.Errorf("%s statement %v has %s", name, m, k)
			}
		}
		if m["Effect"] != "Allow" || !slices.Equal(strs(m["Action"]), []string{"execute-api:Invoke"}) {
			t.Errorf("%s statement %v: want Allow execute-api:Invoke only", name, m)
		}
		out = append(out, strs(m["Resource"])...)
	}
	if len(out) == 0 {
		t.Fatalf("%s grants nothing", name)
	}
	return out
}

// grants reports whether resources allow invoking arn for a caller whose principal tag
// accountTag is tag ("" = the caller has no such tag). A resource with the policy variable is
// ignored when the tag is absent (IAM: the statement does not apply); IAM's "*" matches any run
// of characters, "/" included.
func grants(resources []string, tag, arn string) bool {
	return slices.ContainsFunc(resources, func(r string) bool {
		if strings.Contains(r, tagVariable) {
			if tag == "" {
				return false
			}
			r = strings.ReplaceAll(r, tagVariable, tag)
		}
		return glob(r, arn)
	})
}

// routeARN is the ARN API Gateway checks execute-api:Invoke against for a request to path.
func routeARN(method, path string) string {
	return apiARN + "/$default/" + method + path
}

func TestAccountRoutesAreIAMRoutesOfTheLookupFunction(t *testing.T) {
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	evs, err := tmpl.FunctionEvents("ShippingLookupFunction")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]any{}
	for _, ev := range evs {
		if ev.Type == "HttpApi" {
			a, _ := ev.Properties["Auth"].(map[string]any)
			got[strings.ToUpper(flatScalar(ev.Properties["Method"]))+" "+flatScalar(ev.Properties["Path"])] = a
		}
	}
	for _, key := range []string{lookup.AccountOTPRouteKey, lookup.AccountTrackingRouteKey, lookup.OTPRouteKey, lookup.TrackingRouteKey} {
		t.Run(key, func(t *testing.T) {
			a, ok := got[key]
			if !ok {
				t.Fatalf("ShippingLookupFunction does not serve %s", key)
			}
			if flatScalar(a["Authorizer"]) != "AWS_IAM" || len(a) != 1 {
				t.Errorf("Auth %v, want {Authorizer: AWS_IAM}", a)
			}
		})
	}
	if len(got) != len(lookup.RouteKeys) {
		t.Errorf("ShippingLookupFunction serves %d routes, want the %d of lookup.RouteKeys", len(got), len(lookup.RouteKeys))
	}
}

func TestAccountPolicyIsExactlyThePrincipalTagPattern(t *testing.T) {
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	got := invokeResources(t, tmpl.Resources, "ShippingAccountLookupInvokePolicy")
	want := apiARN + "/*/GET/shipping/accounts/" + tagVariable + "/*"
	if !slices.Equal(got, []string{want}) {
		t.Errorf("resources %v, want exactly [%s]", got, want)
	}
	out, ok := tmpl.Outputs["ShippingAccountLookupInvokePolicyArn"]
	if !ok || flatScalar(out.Value) != "ShippingAccountLookupInvokePolicy" || out.Condition != "" {
		t.Errorf("output ShippingAccountLookupInvokePolicyArn %+v, want !Ref ShippingAccountLookupInvokePolicy, always", out)
	}
	desc := flatScalar(tmpl.Resources["ShippingLookupInvokePolicy"].Properties["Description"])
	if !strings.Contains(desc, "only the default account") {
		t.Errorf("ShippingLookupInvokePolicy's Description %q does not say it reads only the default account", desc)
	}
}

// Each policy against the route ARNs of every route of the template, for callers tagged with
// one account, another, a prefix of it, default, or untagged: the default policy grants the
// default routes only, the account policy the tagged account's routes only, neither a webhook.
func TestNeitherLookupPolicyMatchesTheOthersRoutes(t *testing.T) {
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	def := invokeResources(t, tmpl.Resources, "ShippingLookupInvokePolicy")
	acc := invokeResources(t, tmpl.Resources, "ShippingAccountLookupInvokePolicy")
	for _, tc := range []struct {
		name, method, path string
		// tag is the caller's principal tag; wantDefault and wantAccount are whether each policy
		// grants the request.
		tag                      string
		wantDefault, wantAccount bool
	}{
		{"default OTP route", "GET", "/shipping/otps/T1", "acme-a", true, false},
		{"default tracking route", "GET", "/shipping/tracking/T1", "acme-a", true, false},
		{"default OTP route, untagged caller", "GET", "/shipping/otps/T1", "", true, false},
		{"default route, tag default", "GET", "/shipping/otps/T1", "default", true, false},
		{"own account's OTP route", "GET", "/shipping/accounts/acme-a/otps/T1", "acme-a", false, true},
		{"own account's tracking route", "GET", "/shipping/accounts/acme-a/tracking/T1", "acme-a", false, true},
		{"another account's OTP route", "GET", "/shipping/accounts/acme-b/otps/T1", "acme-a", false, false},
		{"another account's tracking route", "GET", "/shipping/accounts/acme-b/tracking/T1", "acme-a", false, false},
		{"an account whose label extends the tag", "GET", "/shipping/accounts/acme-a/otps/T1", "acme", false, false},
		{"an account whose label the tag extends", "GET", "/shipping/accounts/acme/otps/T1", "acme-a", false, false},
		{"the default account by its account route", "GET", "/shipping/accounts/default/otps/T1", "default", false, true},
		{"the default account's account route, tagged acme-a", "GET", "/shipping/accounts/default/otps/T1", "acme-a", false, false},
		{"an account route, untagged caller", "GET", "/shipping/accounts/acme-a/otps/T1", "", false, false},
		{"a tracking ID named like an account route", "GET", "/shipping/otps/accounts/acme-b/otps/T1", "acme-a", true, false},
		{"own account's route, another method", "POST", "/shipping/accounts/acme-a/otps/T1", "acme-a", false, false},
		{"the Shipping webhook", "POST", "/shipping/notifications", "acme-a", false, false},
		{"the APS webhook", "POST", "/aps/transaction-feedback", "acme-a", false, false},
		{"the Amazon Pay webhook", "POST", "/amazon-pay/ipn", "acme-a", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arn := routeARN(tc.method, tc.path)
			if got := grants(def, tc.tag, arn); got != tc.wantDefault {
				t.Errorf("ShippingLookupInvokePolicy grants %s: %v, want %v", arn, got, tc.wantDefault)
			}
			if got := grants(acc, tc.tag, arn); got != tc.wantAccount {
				t.Errorf("ShippingAccountLookupInvokePolicy (tag %q) grants %s: %v, want %v", tc.tag, arn, got, tc.wantAccount)
			}
		})
	}

	// Every route the template declares, its variables filled in: which policy grants it.
	for _, fn := range tmpl.Functions() {
		evs, err := tmpl.FunctionEvents(fn)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Type != "HttpApi" {
				continue
			}
			method, path := strings.ToUpper(flatScalar(ev.Properties["Method"])), flatScalar(ev.Properties["Path"])
			key := method + " " + path
			path = strings.NewReplacer("{account}", "acme-a", "{trackingId}", "T1").Replace(path)
			arn := routeARN(method, path)
			wantDefault := key == lookup.OTPRouteKey || key == lookup.TrackingRouteKey
			wantAccount := key == lookup.AccountOTPRouteKey || key == lookup.AccountTrackingRouteKey
			if got := grants(def, "acme-a", arn); got != wantDefault {
				t.Errorf("ShippingLookupInvokePolicy grants %s (%s): %v, want %v", key, fn, got, wantDefault)
			}
			if got := grants(acc, "acme-a", arn); got != wantAccount {
				t.Errorf("ShippingAccountLookupInvokePolicy grants %s (%s) to acme-a: %v, want %v", key, fn, got, wantAccount)
			}
			if grants(acc, "acme-b", arn) {
				t.Errorf("ShippingAccountLookupInvokePolicy grants %s (%s, account acme-a) to acme-b", key, fn)
			}
		}
	}
}
