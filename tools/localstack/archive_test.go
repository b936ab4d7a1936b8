package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// The local stack builds template.yaml's EventArchive on its bus as deployed with the defaults
// (OTP events excluded), so that make replay-events can be tried against `make run`.
func TestTheLocalStackCreatesTheTemplatesArchive(t *testing.T) {
	skipWithoutMoto(t)
	moto, err := localaws.StartMoto()
	if err != nil {
		t.Fatal(err)
	}
	defer moto.Stop()
	ctx := context.Background()
	cfg, err := localaws.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env, err := loadEnvFile(localaws.RepoRoot())
	if err != nil {
		t.Fatal(err)
	}
	res, err := createResources(ctx, cfg, localaws.RepoRoot(), env)
	if err != nil {
		t.Fatal(err)
	}
	if res.archiveArn == "" {
		t.Fatal("no archive ARN")
	}
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	want, err := localaws.ArchiveFromTemplate(tmpl, false)
	if err != nil {
		t.Fatal(err)
	}
	a, err := eventbridge.NewFromConfig(cfg).DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String(res.archiveArn[strings.LastIndex(res.archiveArn, "/")+1:])})
	if err != nil {
		t.Fatal(err)
	}
	bus := env["ShippingOtpFunction"]["EVENT_BUS_NAME"]
	if !strings.HasSuffix(aws.ToString(a.EventSourceArn), ":event-bus/"+bus) || aws.ToString(a.EventPattern) != want.Pattern ||
		aws.ToInt32(a.RetentionDays) != want.RetentionDays || !strings.Contains(want.Pattern, shipping.DetailTypeOTP) {
		t.Errorf("archive on %s with %s, %d days; want bus %s, %s, %d days", aws.ToString(a.EventSourceArn), aws.ToString(a.EventPattern),
			aws.ToInt32(a.RetentionDays), bus, want.Pattern, want.RetentionDays)
	}
}
