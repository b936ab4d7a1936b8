package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// tailPattern matches every event the gateway's functions publish.
const tailPattern = `{"source":["amazon-webhook-gateway.shipping","amazon-webhook-gateway.aps","amazon-webhook-gateway.amazon-pay"]}`

// envFile is the functions' local environment, shared with `sam local invoke --env-vars`.
type envFile map[string]map[string]string

func loadEnvFile(root string) (envFile, error) {
	b, err := os.ReadFile(filepath.Join(root, "events", "env.json"))
	if err != nil {
		return nil, err
	}
	var env envFile
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("events/env.json: %w", err)
	}
	return env, nil
}

// localSecrets maps the secret names events/env.json uses to the development values.
var localSecrets = map[string]string{
	"amazon-webhook-gateway/dev/shipping-auth":          "events/dev/credentials.json",
	"amazon-webhook-gateway/dev/aps-merchant":           "events/dev/aps-merchant.json",
	"amazon-webhook-gateway/dev/amazon-pay-credentials": "events/dev/amazon-pay-credentials.json",
}

// resources are the local stand-ins of the template's resources, named as events/env.json names them.
type resources struct {
	tailQueueURL   string
	archiveArn     string   // the template's EventArchive, OTP events excluded (the default)
	payloadBuckets []string // every function's PAYLOAD_BUCKET
	skipped        []string // what the template has and the local stack does not create (notLocal)
}

// notLocal are the template's resource types moto cannot create, and why.
var notLocal = map[string]string{
	"AWS::EventSchemas::Registry": "moto has no EventBridge schema registry; the schemas are docs/schemas/*.json",
	"AWS::EventSchemas::Schema":   "moto has no EventBridge schema registry; the schemas are docs/schemas/*.json",
}

// skippedResources says, one line per reason, which of tmpl's resources are not created locally.
func skippedResources(tmpl *localaws.Template) []string {
	counts := map[string]map[string]int{} // reason -> type -> resources
	for _, r := range tmpl.Resources {
		if why, ok := notLocal[r.Type]; ok {
			if counts[why] == nil {
				counts[why] = map[string]int{}
			}
			counts[why][r.Type]++
		}
	}
	var lines []string
	for why, types := range counts {
		var parts []string
		for typ, n := range types {
			parts = append(parts, fmt.Sprintf("%d %s", n, typ))
		}
		slices.Sort(parts)
		lines = append(lines, fmt.Sprintf("%s (%s)", strings.Join(parts, ", "), why))
	}
	slices.Sort(lines)
	return lines
}

// createResources creates, in moto, the tables (from template.yaml's definitions), the bus, the
// archive of its events (template.yaml's EventArchive), the development secrets, and a rule sending every gateway event to a queue the tail reads.
func createResources(ctx context.Context, cfg aws.Config, root string, env envFile) (*resources, error) {
	tmpl, err := localaws.ReadStack(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	shipping := env["ShippingOtpFunction"]
	for logicalID, name := range map[string]string{
		"OtpTable":         shipping["OTP_TABLE_NAME"],
		"TrackingTable":    shipping["TRACKING_TABLE_NAME"],
		"IdempotencyTable": shipping["IDEMPOTENCY_TABLE_NAME"],
	} {
		if err := localaws.CreateTableNamed(ctx, cfg, tmpl, logicalID, name); err != nil {
			return nil, err
		}
	}
	// Every function's PAYLOAD_BUCKET (quarantined deliveries, oversized event details).
	buckets := payloadBuckets(env)
	for _, bucket := range buckets {
		if err := localaws.CreateBucketNamed(ctx, cfg, bucket); err != nil {
			return nil, err
		}
	}
	bus := shipping["EVENT_BUS_NAME"]
	eb := eventbridge.NewFromConfig(cfg)
	// The stack's moto is new, so "already exists" means the SDK retried a request moto cut short.
	var exists *ebtypes.ResourceAlreadyExistsException
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: &bus}); err != nil && !errors.As(err, &exists) {
		return nil, fmt.Errorf("creating bus %s: %w", bus, err)
	}
	// The template's archive as deployed with the defaults, so that `make replay-events` works here.
	archiveArn, err := localaws.CreateArchive(ctx, cfg, tmpl, bus, "amazon-webhook-gateway-archive", false)
	if err != nil {
		return nil, err
	}
	sm := secretsmanager.NewFromConfig(cfg)
	for name, file := range localSecrets {
		value, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			return nil, err
		}
		var smExists *smtypes.ResourceExistsException
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(value))}); err != nil && !errors.As(err, &smExists) {
			return nil, fmt.Errorf("creating secret %s: %w", name, err)
		}
	}
	q := sqs.NewFromConfig(cfg)
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("amazon-webhook-gateway-tail")})
	if err != nil {
		return nil, err
	}
	rule := "amazon-webhook-gateway-tail"
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: &rule, EventBusName: &bus, EventPattern: aws.String(tailPattern)}); err != nil {
		return nil, err
	}
	arn := fmt.Sprintf("arn:aws:sqs:%s:123456789012:amazon-webhook-gateway-tail", localaws.Region)
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: &rule, EventBusName: &bus, Targets: []ebtypes.Target{{Id: aws.String("tail"), Arn: &arn}}}); err != nil {
		return nil, err
	}
	return &resources{tailQueueURL: aws.ToString(out.QueueUrl), archiveArn: archiveArn, payloadBuckets: buckets, skipped: skippedResources(tmpl)}, nil
}

// payloadBuckets are the distinct PAYLOAD_BUCKETs of env's functions, sorted.
func payloadBuckets(env envFile) []string {
	var buckets []string
	for _, vars := range env {
		if b := vars["PAYLOAD_BUCKET"]; b != "" && !slices.Contains(buckets, b) {
			buckets = append(buckets, b)
		}
	}
	slices.Sort(buckets)
	return buckets
}
