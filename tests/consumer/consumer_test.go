// Package consumer proves examples/consumer, the consumer a team copies, against the gateway: its
// rule and queue created in moto as its template declares them, deliveries sent through the
// gateway's functions, and its handler driven with the messages the queue received (the local AWS
// has no event source mappings and no imports, so the test plays both).
package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/amazon-webhook-gateway/gateway/examples/consumer/consumer"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/snstest"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

var local *testenv.Local

func TestMain(m *testing.M) { os.Exit(testenv.RunWithLocal(m, &local)) }

func exampleTemplate(t *testing.T) *localaws.Template {
	t.Helper()
	tmpl, err := localaws.ReadTemplate(filepath.Join(localaws.RepoRoot(), "examples", "consumer", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// example is the example's stack in moto, on the gateway's bus: its queues, rule and table.
type example struct {
	queueURL, table string
	handler         *consumer.Handler
	otps            []consumer.Event[consumer.OTPGenerated]
	charges         []consumer.Event[consumer.ChargeChanged]
	fail            bool // the actions fail, as a team's would when their own dependency is down
}

func deployExample(t *testing.T, g *harness.Gateway) *example {
	t.Helper()
	ctx := context.Background()
	cfg := local.Config
	tmpl := exampleTemplate(t)
	q := sqs.NewFromConfig(cfg)
	attrs := func(id string) map[string]string {
		out := map[string]string{}
		for k, v := range tmpl.Resources[id].Properties {
			if k == "VisibilityTimeout" || k == "MessageRetentionPeriod" {
				out[k] = fmt.Sprint(v)
			}
		}
		return out
	}
	dlq, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("consumer-dlq-%d", time.Now().UnixNano())), Attributes: attrs("DeadLetterQueue")})
	if err != nil {
		t.Fatal(err)
	}
	dlqArn := queueArn(t, q, *dlq.QueueUrl)
	redrive, _ := tmpl.Resources["EventsQueue"].Properties["RedrivePolicy"].(map[string]any)
	main := attrs("EventsQueue")
	main["RedrivePolicy"] = fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%v}`, dlqArn, redrive["maxReceiveCount"])
	queue, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("consumer-events-%d", time.Now().UnixNano())), Attributes: main})
	if err != nil {
		t.Fatal(err)
	}
	// The rule as the template declares it, on the bus the gateway's export names.
	rule := tmpl.Resources["GatewayEventsRule"].Properties
	pattern, err := json.Marshal(rule["EventPattern"])
	if err != nil {
		t.Fatal(err)
	}
	eb := eventbridge.NewFromConfig(cfg)
	name := fmt.Sprintf("consumer-rule-%d", time.Now().UnixNano())
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: &name, EventBusName: &g.Bus, EventPattern: aws.String(string(pattern))}); err != nil {
		t.Fatal(err)
	}
	target := queueArn(t, q, *queue.QueueUrl)
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: &name, EventBusName: &g.Bus, Targets: []ebtypes.Target{
		{Id: aws.String("events-queue"), Arn: &target, DeadLetterConfig: &ebtypes.DeadLetterConfig{Arn: &dlqArn}},
	}}); err != nil {
		t.Fatal(err)
	}
	table := fmt.Sprintf("consumer-dedupe-%d", time.Now().UnixNano())
	if err := localaws.CreateTableNamed(ctx, cfg, tmpl, "DedupeTable", table); err != nil {
		t.Fatal(err)
	}
	e := &example{queueURL: *queue.QueueUrl, table: table}
	e.handler = &consumer.Handler{
		DB: dynamodb.NewFromConfig(cfg), Table: table, Remember: 72 * time.Hour, InProgressFor: time.Minute,
		Log: slog.New(slog.NewJSONHandler(g.Logs, nil)), Now: time.Now,
		Actions: consumer.Actions{
			OTPGenerated: func(_ context.Context, ev consumer.Event[consumer.OTPGenerated]) error {
				if e.fail {
					return errors.New("the team's own service is down")
				}
				e.otps = append(e.otps, ev)
				return nil
			},
			ChargeChanged: func(_ context.Context, ev consumer.Event[consumer.ChargeChanged]) error {
				if e.fail {
					return errors.New("the team's own service is down")
				}
				e.charges = append(e.charges, ev)
				return nil
			},
		},
	}
	return e
}

func queueArn(t *testing.T, q *sqs.Client, url string) string {
	t.Helper()
	out, err := q.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
}

// batch is what the event source mapping would hand the function: the queue's messages now.
func (e *example) batch(t *testing.T) events.SQSEvent {
	t.Helper()
	bodies, err := testenv.ReceiveAll(context.Background(), local.Config, e.queueURL, 100)
	if err != nil {
		t.Fatal(err)
	}
	var b events.SQSEvent
	for i, body := range bodies {
		b.Records = append(b.Records, events.SQSMessage{MessageId: "m-" + strconv.Itoa(i), Body: body})
	}
	return b
}

func (e *example) handle(t *testing.T, b events.SQSEvent) events.SQSEventResponse {
	t.Helper()
	resp, err := e.handler.Handle(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// The example's rule receives exactly its two detail-types from real deliveries, and its handler
// acts once per event however often the event reaches it; a failed action is retried and then
// succeeds once.
func TestTheConsumerExampleHandlesEachEventOnce(t *testing.T) {
	g := harness.Start(t, local)
	e := deployExample(t, g)
	ttl := time.Now().Add(time.Hour).UnixMilli()
	ship := harness.Shipping(harness.ShippingBody(harness.Unique("env"), time.Now(), harness.OTP{TrackingID: "T-consumer", Code: "860413", TTL: ttl}))
	payID := snstest.MessageID(harness.Unique("m"))
	pay := harness.AmazonPay(g.Notification(payID, harness.ChargeMessage("C-consumer")))
	aps := harness.APS("/aps/transaction-feedback", harness.SignAPS(harness.APSParams("ORDER-consumer", "F-consumer")), false)
	for _, req := range []events.APIGatewayV2HTTPRequest{ship, pay, aps, ship} { // the last: Amazon redelivers
		if resp := g.Send(t, req); resp.StatusCode != 200 {
			t.Fatalf("delivery: %d %s", resp.StatusCode, resp.Body)
		}
	}

	b := e.batch(t)
	got := map[string]int{}
	for _, r := range b.Records {
		var ev consumer.Event[json.RawMessage]
		_ = json.Unmarshal([]byte(r.Body), &ev)
		got[ev.DetailType]++
	}
	if len(got) != 2 || got[consumer.DetailTypeOTPGenerated] == 0 || got[consumer.DetailTypeChargeChanged] == 0 {
		t.Fatalf("the example's queue received %v, want its two detail-types only", got)
	}

	// The team's service is down: every message is reported for retry and no key is kept.
	e.fail = true
	if resp := e.handle(t, b); len(resp.BatchItemFailures) != len(b.Records) {
		t.Errorf("%d of %d messages reported for retry while the actions fail", len(resp.BatchItemFailures), len(b.Records))
	}
	// SQS redelivers them; now they succeed, once per idempotency key, and copies change nothing.
	e.fail = false
	for range 2 {
		if resp := e.handle(t, b); len(resp.BatchItemFailures) != 0 {
			t.Errorf("retry: %v reported", resp.BatchItemFailures)
		}
	}
	if len(e.otps) != 1 || e.otps[0].Detail.Data.TrackingID != "T-consumer" || e.otps[0].Detail.Data.VerificationCode != "860413" || !e.otps[0].Detail.Data.VerificationCodeIncluded {
		t.Errorf("OTP actions: %+v, want one for T-consumer with its code", e.otps)
	}
	if len(e.charges) != 1 || e.charges[0].Detail.Data.ObjectID == "" || e.charges[0].Detail.Metadata.IdempotencyKey != "amazonpay:v2:"+payID {
		t.Errorf("charge actions: %+v, want one under amazonpay:v2:%s", e.charges, payID)
	}
}

// The example's rule is put on the bus the gateway exports, under the export's name.
func TestTheConsumerExampleImportsTheGatewaysBus(t *testing.T) {
	gateway, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	if got := gateway.Outputs["EventBusName"].Export.Name; got != "${AWS::StackName}-EventBusName" {
		t.Fatalf("the gateway exports its bus as %q", got)
	}
	bus, _ := exampleTemplate(t).Resources["GatewayEventsRule"].Properties["EventBusName"].(map[string]any)
	if got := bus["Fn::ImportValue"]; got != "${GatewayStackName}-EventBusName" {
		t.Errorf("the example's rule imports %v, want the gateway's export ${GatewayStackName}-EventBusName", got)
	}
}
