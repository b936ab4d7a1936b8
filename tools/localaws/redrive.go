package localaws

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// RouteDeferred builds, in moto, the path template.yaml gives a deferred delivery to its re-drive:
// the bucket announces its objects to EventBridge, and each of the template's rules on the default
// bus for S3's "Object Created" (its pattern as written, bucket name filled in) targets a new
// queue. It returns each queue's URL by the webhook the rule's key prefix names
// (deferred/<webhook>/). moto delivers S3's announcements to every bus's rules, as S3 does to the
// default bus; it runs no event source mappings, so the caller hands the queue's messages to the
// function as the mapping would.
func RouteDeferred(ctx context.Context, cfg aws.Config, t *Template, bucket string) (map[string]string, error) {
	_, err := S3(cfg).PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket:                    &bucket,
		NotificationConfiguration: &s3types.NotificationConfiguration{EventBridgeConfiguration: &s3types.EventBridgeConfiguration{}},
	})
	if err != nil {
		return nil, fmt.Errorf("bucket notifications: %w", err)
	}
	queues := map[string]string{}
	for id, r := range t.Resources {
		if r.Type != "AWS::Events::Rule" {
			continue
		}
		pattern, webhook, ok := deferredPattern(r.Properties["EventPattern"], bucket)
		if !ok {
			continue
		}
		q := sqs.NewFromConfig(cfg)
		qname := unique(id)
		out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &qname})
		if err != nil {
			return nil, err
		}
		rule := unique(id)
		eb := eventbridge.NewFromConfig(cfg)
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: &rule, EventPattern: &pattern}); err != nil {
			return nil, fmt.Errorf("rule %s: %w", id, err)
		}
		arn := fmt.Sprintf("arn:aws:sqs:%s:123456789012:%s", Region, qname)
		_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: &rule, Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: &arn}}})
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", id, err)
		}
		queues[webhook] = *out.QueueUrl
	}
	if len(queues) == 0 {
		return nil, fmt.Errorf("template.yaml has no rule for S3's Object Created under deferred/")
	}
	return queues, nil
}

// deferredPattern is a rule's event pattern with the bucket's name in place of !Ref PayloadBucket,
// and the webhook whose deferred/<webhook>/ prefix it matches; false for any other rule.
func deferredPattern(p any, bucket string) (string, string, bool) {
	b, err := json.Marshal(p)
	if err != nil || !strings.Contains(string(b), `"aws.s3"`) {
		return "", "", false
	}
	var pat struct {
		Detail struct {
			Object struct {
				Key []struct {
					Prefix string `json:"prefix"`
				} `json:"key"`
			} `json:"object"`
		} `json:"detail"`
	}
	if json.Unmarshal(b, &pat) != nil || len(pat.Detail.Object.Key) != 1 {
		return "", "", false
	}
	webhook, ok := strings.CutPrefix(pat.Detail.Object.Key[0].Prefix, "deferred/")
	if !ok {
		return "", "", false
	}
	return strings.Replace(string(b), `"PayloadBucket"`, fmt.Sprintf("%q", bucket), 1), strings.TrimSuffix(webhook, "/"), true
}

// Announcement is one message of a re-drive queue: S3's announcement of a deferred object.
type Announcement struct {
	ID, ReceiptHandle, Body string
	// Attributes are the message's system attributes (ApproximateReceiveCount).
	Attributes map[string]string
}

// ReceiveAnnouncements receives what a re-drive queue has visible (up to ten), as an event source
// mapping's poller does, with the receive count.
func ReceiveAnnouncements(ctx context.Context, cfg aws.Config, queueURL string) ([]Announcement, error) {
	out, err := sqs.NewFromConfig(cfg).ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: &queueURL, MaxNumberOfMessages: 10,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		return nil, err
	}
	var as []Announcement
	for _, m := range out.Messages {
		as = append(as, Announcement{ID: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body), Attributes: m.Attributes})
	}
	return as, nil
}

// DeleteAnnouncement deletes a message the function did not report as failed, as the mapping does.
func DeleteAnnouncement(ctx context.Context, cfg aws.Config, queueURL, receiptHandle string) error {
	_, err := sqs.NewFromConfig(cfg).DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &queueURL, ReceiptHandle: &receiptHandle})
	return err
}
