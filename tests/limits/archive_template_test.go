package limits

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpay"
	"github.com/amazon-webhook-gateway/gateway/shared/aps"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// The archive keeps the gateway's events for ArchiveRetentionDays (never "for ever": EventBridge
// reads 0 so), and keeps "Shipping OTP Generated" only when ArchiveOtpEvents=true. moto has no
// TestEventPattern, so the patterns' matching is tested end to end in tools/replay; this holds
// the template to its shape.
func TestTheArchiveKeepsEventsForLimitedDaysAndOTPEventsOnlyOnOptIn(t *testing.T) {
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	r, ok := tmpl.Resources["EventArchive"]
	if !ok || r.Type != "AWS::Events::Archive" {
		t.Fatalf("no AWS::Events::Archive EventArchive: %+v", r)
	}
	if n := tmpl.Node("Resources", "EventArchive", "Properties", "SourceArn"); n == nil || n.Tag != "!GetAtt" || n.Value != "EventBus.Arn" {
		t.Errorf("SourceArn is not !GetAtt EventBus.Arn: %+v", n)
	}
	if n := tmpl.Node("Resources", "EventArchive", "Properties", "RetentionDays"); n == nil || n.Tag != "!Ref" || n.Value != "ArchiveRetentionDays" {
		t.Errorf("RetentionDays is not !Ref ArchiveRetentionDays: %+v", n)
	}
	if _, named := r.Properties["ArchiveName"]; named {
		t.Error("ArchiveName is set: a name built from the stack name can pass the 48-character limit")
	}
	if r.Condition != "" {
		t.Errorf("EventArchive has condition %s: the archive is always there", r.Condition)
	}

	days := tmpl.Parameters["ArchiveRetentionDays"]
	if min, def := fmt.Sprint(days.MinValue), fmt.Sprint(days.Default); days.Type != "Number" || min == "<nil>" || min == "0" || strings.HasPrefix(min, "-") || def == "0" {
		t.Errorf("ArchiveRetentionDays must be a Number with MinValue >= 1 (0 = keep for ever): %+v", days)
	}
	optIn := tmpl.Parameters["ArchiveOtpEvents"]
	if fmt.Sprint(optIn.Default) != "false" || fmt.Sprint(optIn.AllowedValues) != "[true false]" {
		t.Errorf("ArchiveOtpEvents must default to false: %+v", optIn)
	}
	cond := tmpl.Node("Conditions", "ArchivesOtpEvents")
	if cond == nil || cond.Tag != "!Equals" || len(cond.Content) != 2 || cond.Content[0].Tag != "!Ref" ||
		cond.Content[0].Value != "ArchiveOtpEvents" || cond.Content[1].Value != "true" {
		t.Errorf(`condition ArchivesOtpEvents is not !Equals [!Ref ArchiveOtpEvents, "true"]: %+v`, cond)
	}
	if ifNode := tmpl.Node("Resources", "EventArchive", "Properties", "EventPattern"); ifNode == nil || len(ifNode.Content) != 3 || ifNode.Content[0].Value != "ArchivesOtpEvents" {
		t.Error("EventPattern is not an !If on ArchivesOtpEvents")
	}
	if o, ok := tmpl.Outputs["EventArchiveArn"]; !ok || fmt.Sprint(o.Value) != "EventArchive.Arn" {
		t.Errorf("no output EventArchiveArn = !GetAtt EventArchive.Arn: %+v", o)
	}

	sources := []string{shipping.EventSource, aps.EventSource, amazonpay.EventSource}
	for _, tc := range []struct {
		optIn   bool
		exclude []string
	}{
		{false, []string{shipping.DetailTypeOTP}},
		{true, nil},
	} {
		a, err := localaws.ArchiveFromTemplate(tmpl, tc.optIn)
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Source []struct {
				Prefix string `json:"prefix"`
			} `json:"source"`
			DetailType []struct {
				AnythingBut []string `json:"anything-but"`
			} `json:"detail-type"`
		}
		dec := json.NewDecoder(strings.NewReader(a.Pattern))
		dec.DisallowUnknownFields() // a new field would be a new filter this test does not know
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("ArchiveOtpEvents=%v: pattern %s: %v", tc.optIn, a.Pattern, err)
		}
		if len(p.Source) != 1 || p.Source[0].Prefix != "amazon-webhook-gateway." {
			t.Errorf("ArchiveOtpEvents=%v: source %s is not the gateway's prefix", tc.optIn, a.Pattern)
		}
		for _, s := range sources {
			if !strings.HasPrefix(s, p.Source[0].Prefix) {
				t.Errorf("source %s is not archived", s)
			}
		}
		var excluded []string
		for _, d := range p.DetailType {
			excluded = append(excluded, d.AnythingBut...)
		}
		if fmt.Sprint(excluded) != fmt.Sprint(tc.exclude) || (tc.exclude == nil && p.DetailType != nil) {
			t.Errorf("ArchiveOtpEvents=%v: excludes %v, want %v (%s)", tc.optIn, excluded, tc.exclude, a.Pattern)
		}
		if a.RetentionDays < 1 {
			t.Errorf("retention %d days by default", a.RetentionDays)
		}
	}
}
