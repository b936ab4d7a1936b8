package limits

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// parameterSets turn on what each parameter section of docs/configuration.md configures, with
// values the template accepts: the transform must succeed for every documented configuration,
// not only the defaults. A new section needs a set here (TestEveryConfigurationSectionHasAParameterSet).
var parameterSets = map[string]map[string]string{
	"General": {"EventBusName": "orders-gateway"},
	"Amazon Shipping OTP webhook": {
		"ShippingAuthModes": "api_key,query,basic", "ShippingApiKeyHeaderName": "X-Shipping-Key",
		"ShippingQueryParameterName": "key",
		"ShippingAuthSecretArn":      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shipping-AbCdEf",
	},
	"Amazon Shipping OTP webhook: OAuth 2.0 (auth mode `oauth`)": {
		"ShippingAuthModes": "oauth", "ShippingOAuthCreateCognito": "true", "ShippingOAuthDomainPrefix": "orders-otp-webhook",
	},
	"Amazon Shipping OTP webhook: several accounts": {
		"ShippingAccountSecretArns":   "eu=arn:aws:secretsmanager:eu-west-1:123456789012:secret:ship-eu-AbCdEf,us=arn:aws:secretsmanager:eu-west-1:123456789012:secret:ship-us-AbCdEf",
		"ShippingAuthModes":           "api_key,oauth",
		"ShippingOAuthIssuer":         "https://idp.example.com",
		"ShippingOAuthAudiences":      "client-eu,client-us",
		"ShippingOAuthClientAccounts": "eu=client-eu,us=client-us",
	},
	"Amazon Payment Services (APS) webhook": {
		"ApsSignatureAlgorithm": "HMAC-SHA512",
		"ApsMerchantSecretArn":  "arn:aws:secretsmanager:eu-west-1:123456789012:secret:aps-AbCdEf",
	},
	"Amazon Payment Services (APS) webhook: custom domain (required by APS)": {
		"ApsCustomDomainName": "payments.example.com", "ApsBasePath": "aps",
		"ApsCertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e",
	},
	"Amazon Pay IPN webhook": {
		"AmazonPayIpnTopicArns":         "arn:aws:sns:eu-west-1:291180941288:A2DOVOMHD4LS5G",
		"AmazonPaySafelistOnDeploy":     "true",
		"AmazonPayCredentialsSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pay-AbCdEf",
		"AmazonPaySandbox":              "true",
		"AmazonPayApiKeySecretArn":      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pay-v2-AbCdEf",
	},
	"Amazon Pay IPN webhook: several merchants": {"AmazonPayMerchantIds": "A1B2C3D4E5F6G7,AZYXWVUTSRQPON"},
	"Amazon Shipping OTP webhook: tuning": {
		"IncludeOtpInEvents": "true", "ShippingOtpMaxTtlDays": "2", "ShippingMaxBodyBytes": "65536",
		"TrackingRetentionDays": "30", "ShippingOAuthMaxTokenLifetime": "1h",
	},
	"Amazon Payment Services (APS) webhook: tuning": {
		"ApsIncludeCardFields": "true", "ApsDetailTypesByCommand": "true", "ApsMaxBodyBytes": "65536", "ApsDedupeRetentionDays": "30",
	},
	"Amazon Pay IPN webhook: tuning": {"AmazonPayIncludeBuyerData": "true", "AmazonPayIpnMaxBodyBytes": "65536"},
	"All webhooks: tuning": {
		"SecretRefreshInterval": "1m", "ApiThrottlingBurstLimit": "50", "ApiThrottlingRateLimit": "20",
		"PublishDeprecatedDetailTypes": "false",
	},
	"Operations": {
		"LogLevel": "DEBUG", "LogRetentionDays": "30", "AlarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:ops",
		"ShippingReservedConcurrency": "10", "ApsReservedConcurrency": "5", "AmazonPayIpnReservedConcurrency": "0",
		"ShippingNoDeliveryAlarmHours": "24", "ApsNoDeliveryAlarmHours": "168", "AmazonPayIpnNoDeliveryAlarmHours": "1",
	},
	"Deferred deliveries (a dependency outage)": {
		"ShippingDeferWhenUnavailable": "false", "DeferredRetentionHours": "24", "DeferredRedriveConcurrency": "5",
		"ApsRedriveEnabled": "false", "DeferredAgeAlarmMinutes": "60",
	},
	"Event archive and replay": {"ArchiveRetentionDays": "7", "ArchiveOtpEvents": "true"},
}

// configurationSections are the headings of docs/configuration.md followed by a parameter table.
func configurationSections(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(localaws.RepoRoot(), "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sections []string
	heading := ""
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if h, ok := strings.CutPrefix(line, "## "); ok {
			heading = h
		}
		if strings.HasPrefix(line, "| Parameter |") && heading != "" {
			sections = append(sections, heading)
			heading = ""
		}
	}
	return sections
}

func TestEveryConfigurationSectionHasAParameterSet(t *testing.T) {
	sections := configurationSections(t)
	if len(sections) < 10 {
		t.Fatalf("%d parameter sections in docs/configuration.md: the reader is broken", len(sections))
	}
	for _, s := range sections {
		if _, ok := parameterSets[s]; !ok {
			t.Errorf("docs/configuration.md section %q has no parameter set in parameterSets", s)
		}
	}
	for s := range parameterSets {
		if !slices.Contains(sections, s) {
			t.Errorf("parameterSets has %q, which is not a parameter section of docs/configuration.md", s)
		}
	}
}

// samPython is a Python with AWS SAM's translator: the one of make tools' virtualenv, else the
// one on PATH (cfn-lint depends on the translator, so where cfn-lint is, it is).
func samPython(t *testing.T) string {
	t.Helper()
	candidates := []string{filepath.Join(localaws.RepoRoot(), ".venv", "bin", "python3"), "python3"}
	if v := os.Getenv("VENV"); v != "" {
		candidates = append([]string{filepath.Join(v, "bin", "python3")}, candidates...)
	}
	for _, py := range candidates {
		if exec.Command(py, "-c", "import samtranslator").Run() == nil {
			return py
		}
	}
	t.Fatalf("no Python with samtranslator among %v: run make tools", candidates)
	return ""
}

// The parent template goes through AWS SAM's translator, as sam deploy sends it (CodeUri and the
// children's Location replaced by S3 locations, as sam package does), for the defaults and for
// each documented configuration: each yields plain CloudFormation with the five functions and
// the two child stacks at their packaged URLs.
func TestTheTemplateTransformsForEveryDocumentedParameterSet(t *testing.T) {
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	py := samPython(t)
	script := filepath.Join(localaws.RepoRoot(), "tools", "devtools", "samtransform.py")
	sets := map[string]map[string]string{"defaults": {}}
	for name, set := range parameterSets {
		sets[name] = set
	}
	for name, set := range sets {
		for k, v := range set {
			p, ok := tmpl.Parameters[k]
			if !ok {
				t.Fatalf("%s: %s is not a parameter of template.yaml", name, k)
			}
			if err := p.Accepts(v); err != nil {
				t.Fatalf("%s: %s=%q: %v", name, k, v, err)
			}
		}
	}
	in, _ := json.Marshal(sets)
	cmd := exec.Command(py, script, filepath.Join(localaws.RepoRoot(), "template.yaml"))
	cmd.Stdin = bytes.NewReader(in)
	// The translator asks boto3 for the region only; an AWS_PROFILE the tests' environment
	// names (or leaves empty) would make boto3 look for a profile that does not exist.
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "AWS_PROFILE=") || strings.HasPrefix(kv, "AWS_DEFAULT_PROFILE=")
	}), "AWS_DEFAULT_REGION=eu-west-1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("transform failed: %v\n%s", err, stderr.String())
	}
	var results map[string]struct {
		Errors   []string `json:"errors"`
		Template struct {
			Transform any `json:"Transform"`
			Resources map[string]struct {
				Type       string         `json:"Type"`
				Properties map[string]any `json:"Properties"`
			} `json:"Resources"`
		} `json:"template"`
	}
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatal(err)
	}
	for name := range sets {
		t.Run(name, func(t *testing.T) {
			res, ok := results[name]
			if !ok {
				t.Fatal("no result")
			}
			if len(res.Errors) > 0 {
				t.Fatalf("the transform refuses the template: %q", res.Errors)
			}
			cfn := res.Template
			if cfn.Transform != nil {
				t.Errorf("Transform left in the output: %v", cfn.Transform)
			}
			functions := 0
			for id, r := range cfn.Resources {
				if strings.HasPrefix(r.Type, "AWS::Serverless::") {
					t.Errorf("%s is still %s", id, r.Type)
				}
				if r.Type == "AWS::Lambda::Function" {
					functions++
				}
			}
			if want := len(tmpl.Functions()); functions != want {
				t.Errorf("%d Lambda functions, want %d", functions, want)
			}
			for id, file := range map[string]string{"Schemas": "template-schemas.yaml", "Alarms": "template-alarms.yaml"} {
				r := cfn.Resources[id]
				if r.Type != "AWS::CloudFormation::Stack" || r.Properties["TemplateURL"] != "https://sam-artifacts.s3.amazonaws.com/"+file {
					t.Errorf("%s: %s at %v, want a nested stack at the packaged %s", id, r.Type, r.Properties["TemplateURL"], file)
				}
			}
		})
	}
}
