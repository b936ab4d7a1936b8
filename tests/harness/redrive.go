package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// Redrive is how StartDeferring's functions defer and re-drive: in seconds, where the template's
// defaults are minutes and hours.
type Redrive struct {
	Retention, Backoff, MaxBackoff time.Duration
}

// StartDeferring is Start with every webhook deferring what a dependency's outage stops (the
// template's default for APS and Amazon Pay; Shipping's opt-in) and the re-drive path of the
// template built in moto (RouteDeferred): RedriveOnce hands the queues' messages to the functions
// as the event source mappings would.
func StartDeferring(t testing.TB, local *testenv.Local, r Redrive) *Gateway {
	t.Helper()
	var queues map[string]string
	g := start(t, local, func(s *Stack, c Configs) {
		queues = must[map[string]string](t)(localaws.RouteDeferred(context.Background(), s.AWS, s.Template, s.PayloadBucket))
		for webhook, settings := range map[string]*pipeline.Settings{
			"shipping": &c.Shipping.Settings, "aps": &c.APS.Settings, "amazon-pay": &c.AmazonPay.Settings,
		} {
			settings.DeferWhenUnavailable = true
			settings.DeferredRetention, settings.RedriveBackoff, settings.RedriveMaxBackoff = r.Retention, r.Backoff, r.MaxBackoff
			settings.RedriveQueueURL = queues[webhook]
			if settings.RedriveQueueURL == "" {
				t.Fatalf("template.yaml routes no deferred delivery of %s to a queue", webhook)
			}
		}
	})
	g.RedriveQueues = queues
	return g
}

// Redriven is what one RedriveOnce did.
type Redriven struct {
	// Messages were handed to the functions; Failed of them were reported back for a retry.
	Messages, Failed int
}

// RedriveOnce does once what the event source mappings do: it receives what each webhook's
// re-drive queue has visible, hands it to that webhook's function as an SQS batch (one message a
// batch, as the template's BatchSize), and deletes the messages the function did not report as
// failed.
func (g *Gateway) RedriveOnce(t testing.TB) Redriven {
	t.Helper()
	ctx := context.Background()
	var done Redriven
	for webhook, url := range g.RedriveQueues {
		h := map[string]pipeline.LambdaHandler{"shipping": g.Shipping, "aps": g.APS, "amazon-pay": g.AmazonPay}[webhook]
		msgs, err := localaws.ReceiveAnnouncements(ctx, g.Local.Config, url)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			done.Messages++
			batch := events.SQSEvent{Records: []events.SQSMessage{{
				MessageId: m.ID, ReceiptHandle: m.ReceiptHandle, Body: m.Body, Attributes: m.Attributes,
				EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:" + localaws.Region + ":123456789012:" + webhook,
			}}}
			payload, _ := json.Marshal(batch)
			ictx, cancel := context.WithTimeout(ctx, 4*time.Second)
			resp, err := h.Invoke(ictx, payload)
			cancel()
			if err != nil {
				t.Fatalf("%s re-drive batch: %v", webhook, err)
			}
			var r events.SQSEventResponse
			if err := json.Unmarshal(resp, &r); err != nil {
				t.Fatalf("%s re-drive batch answered %s: %v", webhook, resp, err)
			}
			if len(r.BatchItemFailures) > 0 {
				done.Failed++
				continue
			}
			if err := localaws.DeleteAnnouncement(ctx, g.Local.Config, url, m.ReceiptHandle); err != nil {
				t.Fatal(err)
			}
		}
	}
	return done
}

// RedriveAll runs RedriveOnce until nothing is left under deferred/ and the queues have nothing
// visible, or fails t after within.
func (g *Gateway) RedriveAll(t testing.TB, within time.Duration) {
	t.Helper()
	end := time.Now().Add(within)
	for {
		g.RedriveOnce(t)
		left, err := g.Quarantine.ListIn(context.Background(), quarantine.DeferredPrefix, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%d deferred deliveries still not re-driven after %s: %v", len(left), within, left)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// DeadLetters lists the deferred deliveries moved to the dead-letter place.
func (g *Gateway) DeadLetters(t testing.TB) []quarantine.Item {
	t.Helper()
	items, err := g.Quarantine.ListIn(context.Background(), quarantine.DeadPrefix, "")
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// String names r for a test's log.
func (r Redriven) String() string {
	return fmt.Sprintf("%d re-driven, %d to retry", r.Messages, r.Failed)
}
