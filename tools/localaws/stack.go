package localaws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/amazon-webhook-gateway/gateway/shared/delivery"
)

var seq atomic.Int64

// unique names a resource so that tests sharing one moto_server do not collide.
func unique(base string) string { return fmt.Sprintf("%s-%d-%d", base, os.Getpid(), seq.Add(1)) }

// CreateTable creates the DynamoDB table declared as logicalID in template.yaml (keys, indexes,
// TTL), so tests run against the table layout that is deployed. It returns the table name.
func CreateTable(ctx context.Context, cfg aws.Config, t *Template, logicalID string) (string, error) {
	name := unique(logicalID)
	return name, CreateTableNamed(ctx, cfg, t, logicalID, name)
}

// CreateTableNamed is CreateTable with a chosen table name.
func CreateTableNamed(ctx context.Context, cfg aws.Config, t *Template, logicalID, name string) error {
	r, ok := t.Resources[logicalID]
	if !ok || r.Type != "AWS::DynamoDB::Table" {
		return fmt.Errorf("template.yaml has no table %s", logicalID)
	}
	// The SDK's input types carry CloudFormation's property names, so a JSON round trip maps them.
	var in dynamodb.CreateTableInput
	subset := map[string]any{}
	for _, k := range []string{"AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode"} {
		if v, ok := r.Properties[k]; ok {
			subset[k] = v
		}
	}
	b, _ := json.Marshal(subset)
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("table %s: %w", logicalID, err)
	}
	in.TableName = &name
	db := dynamodb.NewFromConfig(cfg)
	// Names are unique to the caller, so a table that already exists is this call's own: moto
	// sometimes cuts a response short, the SDK retries, and the retry finds the table made.
	var inUse *ddbtypes.ResourceInUseException
	if _, err := db.CreateTable(ctx, &in); err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("creating %s: %w", logicalID, err)
	}
	if spec, ok := r.Properties["TimeToLiveSpecification"].(map[string]any); ok {
		attr, _ := spec["AttributeName"].(string)
		enabled, _ := spec["Enabled"].(bool)
		_, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               &name,
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: &attr, Enabled: &enabled},
		})
		if err != nil {
			return fmt.Errorf("TTL on %s: %w", logicalID, err)
		}
	}
	return nil
}

// CreateBucket creates an S3 bucket and returns its name.
func CreateBucket(ctx context.Context, cfg aws.Config) (string, error) {
	name := strings.ToLower(unique("payloads"))
	return name, CreateBucketNamed(ctx, cfg, name)
}

// CreateBucketNamed creates the bucket name. One that exists already is this caller's own (names
// are unique to the caller; the SDK may have retried a request moto cut short).
func CreateBucketNamed(ctx context.Context, cfg aws.Config, name string) error {
	var owned *s3types.BucketAlreadyOwnedByYou
	_, err := S3(cfg).CreateBucket(ctx, &s3.CreateBucketInput{
		Bucket:                    &name,
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(Region)},
	})
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("creating bucket %s: %w", name, err)
	}
	return nil
}

// S3 is an S3 client as the functions make it.
func S3(cfg aws.Config) *s3.Client { return delivery.Objects(cfg) }

// CreateBus creates an event bus and returns its name. One that exists already is this caller's
// own, as with buckets: the SDK retried a request moto cut short.
func CreateBus(ctx context.Context, cfg aws.Config) (string, error) {
	name := unique("bus")
	var exists *ebtypes.ResourceAlreadyExistsException
	_, err := eventbridge.NewFromConfig(cfg).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: &name})
	if err != nil && !errors.As(err, &exists) {
		return "", err
	}
	return name, nil
}

// RouteToQueue creates, on bus, a rule with pattern that targets a new SQS queue, as a consumer
// team would, and returns the queue URL.
func RouteToQueue(ctx context.Context, cfg aws.Config, bus, pattern string) (string, error) {
	q := sqs.NewFromConfig(cfg)
	qname := unique("consumer")
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &qname})
	if err != nil {
		return "", err
	}
	arn := fmt.Sprintf("arn:aws:sqs:%s:123456789012:%s", Region, qname)
	eb := eventbridge.NewFromConfig(cfg)
	rule := unique("rule")
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: &rule, EventBusName: &bus, EventPattern: &pattern}); err != nil {
		return "", err
	}
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: &rule, EventBusName: &bus,
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: &arn}},
	})
	if err != nil {
		return "", err
	}
	return *out.QueueUrl, nil
}

// quietPeriod is how long a queue must stay empty before ReceiveAll takes it to hold nothing more:
// one empty receive proves nothing (SQS's short polls sample a subset of its servers, and a copy
// of an event can still be on its way from an attempt executed late).
const quietPeriod = 250 * time.Millisecond

// ReceiveAll reads the queue, deleting what it reads, until it has max messages or the queue has
// stayed empty for quietPeriod.
func ReceiveAll(ctx context.Context, cfg aws.Config, queueURL string, max int) ([]string, error) {
	q := sqs.NewFromConfig(cfg)
	var bodies []string
	var emptySince time.Time
	for len(bodies) < max {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &queueURL, MaxNumberOfMessages: int32(min(max-len(bodies), 10)), WaitTimeSeconds: 0})
		if err != nil {
			return nil, err
		}
		if len(out.Messages) == 0 {
			switch {
			case emptySince.IsZero():
				emptySince = time.Now()
			case time.Since(emptySince) >= quietPeriod:
				return bodies, nil
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(quietPeriod / 5):
			}
			continue
		}
		emptySince = time.Time{}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &queueURL, ReceiptHandle: m.ReceiptHandle}); err != nil {
				return nil, err
			}
		}
	}
	return bodies, nil
}

// CreateSecret stores value as a new secret and returns its ARN.
func CreateSecret(ctx context.Context, cfg aws.Config, value string) (string, error) {
	name := unique("secret")
	sm := secretsmanager.NewFromConfig(cfg)
	out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: &name, SecretString: &value})
	var exists *smtypes.ResourceExistsException
	if errors.As(err, &exists) {
		// This caller's own, made by an attempt whose answer moto cut short.
		d, derr := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: &name})
		if derr != nil {
			return "", derr
		}
		return aws.ToString(d.ARN), nil
	}
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ARN), nil
}

// PutSecret stores a new current value, as a rotation does.
func PutSecret(ctx context.Context, cfg aws.Config, arn, value string) error {
	_, err := secretsmanager.NewFromConfig(cfg).PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: &arn, SecretString: &value})
	return err
}
