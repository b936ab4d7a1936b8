package localaws

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
)

// ArchiveLogicalID is the template's archive of the gateway's events.
const ArchiveLogicalID = "EventArchive"

// ArchiveSettings are the archive's properties as template.yaml resolves them for one value of
// the ArchiveOtpEvents parameter: the event pattern (JSON) and the retention in days.
type ArchiveSettings struct {
	Pattern       string
	RetentionDays int32
}

// ArchiveFromTemplate resolves EventArchive's EventPattern (an !If on the condition named by its
// first element) and RetentionDays (the parameter's default) as CloudFormation would with
// ArchiveOtpEvents=otpOptIn. The decoder drops the !If tag, leaving [condition, then, else].
func ArchiveFromTemplate(t *Template, otpOptIn bool) (ArchiveSettings, error) {
	r, ok := t.Resources[ArchiveLogicalID]
	if !ok || r.Type != "AWS::Events::Archive" {
		return ArchiveSettings{}, fmt.Errorf("template.yaml has no archive %s", ArchiveLogicalID)
	}
	if tag := t.Node("Resources", ArchiveLogicalID, "Properties", "EventPattern"); tag == nil || tag.Tag != "!If" {
		return ArchiveSettings{}, fmt.Errorf("%s: EventPattern is not an !If on the OTP opt-in", ArchiveLogicalID)
	}
	branches, _ := r.Properties["EventPattern"].([]any)
	if len(branches) != 3 {
		return ArchiveSettings{}, fmt.Errorf("%s: EventPattern !If has %d elements, want 3", ArchiveLogicalID, len(branches))
	}
	pattern := branches[2]
	if otpOptIn {
		pattern = branches[1]
	}
	b, err := json.Marshal(pattern)
	if err != nil {
		return ArchiveSettings{}, fmt.Errorf("%s: EventPattern: %w", ArchiveLogicalID, err)
	}
	param, _ := r.Properties["RetentionDays"].(string) // !Ref P reads as "P"
	days, err := strconv.Atoi(fmt.Sprint(t.Parameters[param].Default))
	if err != nil {
		return ArchiveSettings{}, fmt.Errorf("%s: RetentionDays: parameter %q has no numeric default", ArchiveLogicalID, param)
	}
	return ArchiveSettings{Pattern: string(b), RetentionDays: int32(days)}, nil
}

// CreateArchive creates on bus (a name) the archive template.yaml declares, resolved for
// ArchiveOtpEvents=otpOptIn, and returns its ARN.
func CreateArchive(ctx context.Context, cfg aws.Config, t *Template, bus, name string, otpOptIn bool) (string, error) {
	a, err := ArchiveFromTemplate(t, otpOptIn)
	if err != nil {
		return "", err
	}
	eb := eventbridge.NewFromConfig(cfg)
	d, err := eb.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: &bus})
	if err != nil {
		return "", fmt.Errorf("archive %s: bus %s: %w", name, bus, err)
	}
	out, err := eb.CreateArchive(ctx, &eventbridge.CreateArchiveInput{
		ArchiveName:    &name,
		EventSourceArn: d.Arn,
		EventPattern:   &a.Pattern,
		RetentionDays:  &a.RetentionDays,
	})
	if err != nil {
		return "", fmt.Errorf("creating archive %s: %w", name, err)
	}
	return aws.ToString(out.ArchiveArn), nil
}
