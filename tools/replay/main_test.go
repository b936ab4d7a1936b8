package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/amazon-webhook-gateway/gateway/shared/aps"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

var local *testenv.Local

func TestMain(m *testing.M) { os.Exit(testenv.RunWithLocal(m, &local)) }

const (
	goodArchive = "arn:aws:events:eu-west-1:123456789012:archive/gateway-archive"
	goodRule    = "arn:aws:events:eu-west-1:123456789012:rule/amazon-webhook-gateway/orders"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// Every bad command line is refused before any AWS call, with a message naming the problem.
func TestReplayRefusesBadCommandLinesBeforeCallingAWS(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"no archive", []string{"-from", "2026-11-27T08:00:00Z", "-to", "2026-11-27T09:00:00Z", "-rule", goodRule}, "", "-archive is required"},
		{"archive not an arn", []string{"-archive", "gateway-archive", "-from", "2026-11-27T08:00:00Z", "-to", "2026-11-27T09:00:00Z", "-rule", goodRule}, "", "not an archive ARN"},
		{"bus arn as archive", []string{"-from", "2026-11-27T08:00:00Z", "-to", "2026-11-27T09:00:00Z", "-rule", goodRule}, "arn:aws:events:eu-west-1:123456789012:event-bus/b", "not an archive ARN"},
		{"no from", []string{"-archive", goodArchive, "-to", "2026-11-27T09:00:00Z", "-rule", goodRule}, "", "-from is required"},
		{"from not rfc 3339", []string{"-archive", goodArchive, "-from", "2026-11-27 08:00", "-to", "2026-11-27T09:00:00Z", "-rule", goodRule}, "", `-from "2026-11-27 08:00" is not an RFC 3339 time`},
		{"no to", []string{"-archive", goodArchive, "-from", "2026-11-27T08:00:00Z", "-rule", goodRule}, "", "-to is required"},
		{"to before from", []string{"-archive", goodArchive, "-from", "2026-11-27T09:00:00Z", "-to", "2026-11-27T08:00:00Z", "-rule", goodRule}, "", "is not before -to"},
		{"empty range", []string{"-archive", goodArchive, "-from", "2026-11-27T09:00:00Z", "-to", "2026-11-27T09:00:00Z", "-rule", goodRule}, "", "is not before -to"},
		{"from in the future", []string{"-archive", goodArchive, "-from", "2026-11-28T09:00:00Z", "-to", "2026-11-28T10:00:00Z", "-rule", goodRule}, "", "in the future"},
		{"no rule", []string{"-archive", goodArchive, "-from", "2026-11-27T08:00:00Z", "-to", "2026-11-27T09:00:00Z"}, "", "-rule is required"},
		{"rule and all rules", []string{"-archive", goodArchive, "-from", "2026-11-27T08:00:00Z", "-to", "2026-11-27T09:00:00Z", "-rule", goodRule, "-all-rules"}, "", "exclude each other"},
		{"rule name only", []string{"-archive", goodArchive, "-from", "2026-11-27T08:00:00Z", "-to", "2026-11-27T09:00:00Z", "-rule", "orders"}, "", `-rule "orders" is not the ARN`},
		{"default-bus rule", []string{"-archive", goodArchive, "-from", "2026-11-27T08:00:00Z", "-to", "2026-11-27T09:00:00Z", "-rule", "arn:aws:events:eu-west-1:123456789012:rule/orders"}, "", "is not the ARN of a rule on a custom bus"},
		{"bad replay name", []string{"-archive", goodArchive, "-from", "2026-11-27T08:00:00Z", "-to", "2026-11-27T09:00:00Z", "-rule", goodRule, "-name", "two words"}, "", `-name "two words"`},
		{"zero poll", []string{"-archive", goodArchive, "-from", "2026-11-27T08:00:00Z", "-to", "2026-11-27T09:00:00Z", "-rule", goodRule, "-poll", "0s"}, "", "-poll 0s must be positive"},
		{"stray argument", []string{"-archive", goodArchive, "extra"}, "", `unexpected argument "extra"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			dialed := false
			code := run(context.Background(), tc.args, func(string) string { return tc.env }, func() time.Time { return now }, &stdout, &stderr,
				func(context.Context) (API, error) { dialed = true; return nil, fmt.Errorf("no AWS in this test") })
			if code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), exitUsage, tc.want)
			}
			if dialed {
				t.Error("AWS was called for a bad command line")
			}
		})
	}
}

// The archive defaults to the environment's, -from and -to take any RFC 3339 offset, and -rule
// may be given several times and holds a comma-separated list.
func TestReplayDefaultsFromEnvironmentAndSplitsRules(t *testing.T) {
	r, err := parse([]string{"-from", "2026-11-27T08:00:00+02:00", "-to", "2026-11-27T09:00:00Z", "-rule", goodRule + ", " + goodRule + "2", "-rule", goodRule + "3"},
		func(k string) string { return map[string]string{archiveEnv: goodArchive}[k] }, now, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if r.archive != goodArchive || r.archiveNm != "gateway-archive" || len(r.rules) != 3 || r.name != "gateway-replay-20261127T120000Z" {
		t.Errorf("parsed %+v", r)
	}
	if !r.from.Equal(time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)) {
		t.Errorf("from %s: the offset was not applied", r.from)
	}
}

// consumer creates on bus a rule with pattern that targets a new queue, as a consumer team
// would, and returns the rule's ARN and the queue's URL.
func consumer(t *testing.T, bus, name, pattern string) (string, string) {
	t.Helper()
	ctx := context.Background()
	q, err := sqs.NewFromConfig(local.Config).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(bus + "-" + name)})
	if err != nil {
		t.Fatal(err)
	}
	eb := eventbridge.NewFromConfig(local.Config)
	rule, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: &name, EventBusName: &bus, EventPattern: &pattern})
	if err != nil {
		t.Fatal(err)
	}
	arn := fmt.Sprintf("arn:aws:sqs:%s:123456789012:%s-%s", localaws.Region, bus, name)
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: &name, EventBusName: &bus, Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: &arn}}}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(rule.RuleArn), aws.ToString(q.QueueUrl)
}

type event struct {
	ID         string `json:"id"`
	DetailType string `json:"detail-type"`
	ReplayName string `json:"replay-name"`
	Detail     struct {
		Metadata struct {
			IdempotencyKey string `json:"idempotencyKey"`
		} `json:"metadata"`
	} `json:"detail"`
}

// keys are the events' distinct detail-type and idempotency key pairs, sorted: a publish the SDK
// retried after moto cut an answer short reaches the queues twice, and consumers dedupe on the key.
func keys(evs []event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.DetailType+" "+e.Detail.Metadata.IdempotencyKey)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// The real functions publish one delivery of each webhook (a Shipping OTP, an APS capture, an
// Amazon Pay charge) to a bus carrying template.yaml's archive; make replay-events' tool replays
// the range to one consumer's rule. The archive keeps every gateway event but the OTP one unless
// ArchiveOtpEvents opts in, and the replayed events carry the original idempotency keys.
// moto replays the whole archive to every rule whose pattern matches (it ignores FilterArns and
// the time range), so the -rule case uses a consumer that only takes APS events, and the request
// itself is checked through DescribeReplay.
func TestArchivedEventsReplayToAConsumerWithTheirIdempotencyKeys(t *testing.T) {
	cases := []struct {
		name      string
		otpOptIn  bool
		allRules  bool
		wantTypes []string // detail-types of the replayed events the consumer receives
	}{
		{"default: one consumer's rule", false, false, []string{"APS Purchase Succeeded"}},
		{"default: every rule, no OTP kept", false, true, []string{"APS Purchase Succeeded", "Amazon Pay Charge Changed", "Amazon Pay Charge Notification"}},
		{"ArchiveOtpEvents=true: every rule", true, true, []string{"APS Purchase Succeeded", "Amazon Pay Charge Changed", "Amazon Pay Charge Notification", shipping.DetailTypeOTP}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			g := harness.Start(t, local)
			eb := eventbridge.NewFromConfig(local.Config)
			archive, err := localaws.CreateArchive(ctx, local.Config, local.Template, g.Bus, "archive-"+g.Bus, tc.otpOptIn)
			if err != nil {
				t.Fatal(err)
			}
			apsRule, apsQueue := consumer(t, g.Bus, "aps-orders", fmt.Sprintf(`{"source":[%q]}`, aps.EventSource))
			_, allQueue := consumer(t, g.Bus, "everything", harness.EventSources)

			from := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
			ttl := time.Now().Add(time.Hour).UnixMilli()
			for _, req := range []events.APIGatewayV2HTTPRequest{
				harness.Shipping(harness.ShippingBody(fmt.Sprintf("env-%d", i), time.Now(), harness.OTP{TrackingID: "T1", Code: "123987", TTL: ttl})),
				harness.APS("/aps/transaction-feedback", harness.SignAPS(harness.APSParams(fmt.Sprintf("ORDER-%d", i), "F1")), false),
				harness.AmazonPay(g.Notification(fmt.Sprintf("m-%d", i), harness.ChargeMessage("C1"))),
			} {
				// A 503 asks the sender to retry, as Amazon's senders do: on a loaded machine a
				// delivery can outrun the function's 4 s budget; the retry is deduped.
				resp := g.Deliver(req)
				for attempt := 1; resp.StatusCode == 503 && attempt < 5; attempt++ {
					resp = g.Deliver(req)
				}
				if resp.StatusCode != 200 {
					t.Fatalf("%s: %d %s", req.RawPath, resp.StatusCode, resp.Body)
				}
			}
			originals := testenv.Consume[event](t, local.Config, allQueue, 10)
			// The Amazon Pay v2 charge has two: its own and the deprecated India one, still
			// published for one release.
			if n := len(keys(originals)); n != 4 {
				t.Fatalf("%d events published, want 4: %+v", n, originals)
			}
			var archivable int64 // as published, duplicates included: the archive saw the same
			for _, o := range originals {
				if tc.otpOptIn || o.DetailType != shipping.DetailTypeOTP {
					archivable++
				}
			}
			testenv.Consume[event](t, local.Config, apsQueue, 10)
			d, err := eb.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String(archive[strings.LastIndex(archive, "/")+1:])})
			if err != nil {
				t.Fatal(err)
			}
			if d.EventCount != archivable {
				t.Errorf("archive holds %d events, want %d", d.EventCount, archivable)
			}

			to := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
			name := "replay-" + g.Bus
			args := []string{"-archive", archive, "-from", from.Format(time.RFC3339), "-to", to.Format(time.RFC3339), "-name", name, "-wait", "-poll", "10ms"}
			queue := allQueue
			if tc.allRules {
				args = append(args, "-all-rules")
			} else {
				args = append(args, "-rule", apsRule)
				queue = apsQueue
			}
			var stdout, stderr bytes.Buffer
			if code := run(ctx, args, func(string) string { return "" }, time.Now, &stdout, &stderr,
				func(context.Context) (API, error) { return eb, nil }); code != exitOK {
				t.Fatalf("exit %d: %s%s", code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), "replay "+name+" COMPLETED") || !strings.Contains(stdout.String(), "detail.metadata.idempotencyKey") {
				t.Errorf("output does not report completion and the dedupe key:\n%s", stdout.String())
			}

			replayed := testenv.Consume[event](t, local.Config, queue, 10)
			var types []string
			for _, e := range replayed {
				types = append(types, e.DetailType)
				if e.ReplayName != name {
					t.Errorf("%s replayed with replay-name %q, want %q", e.DetailType, e.ReplayName, name)
				}
			}
			slices.Sort(types)
			types = slices.Compact(types)
			if !slices.Equal(types, tc.wantTypes) {
				t.Errorf("consumer received %v, want %v", types, tc.wantTypes)
			}
			// Same idempotency keys as the originals: a consumer that already had them drops them.
			var same []event
			for _, o := range originals {
				if slices.Contains(tc.wantTypes, o.DetailType) {
					same = append(same, o)
				}
			}
			if got, want := keys(replayed), keys(same); !slices.Equal(got, want) {
				t.Errorf("replayed %v, want the originals' %v", got, want)
			}

			r, err := eb.DescribeReplay(ctx, &eventbridge.DescribeReplayInput{ReplayName: &name})
			if err != nil {
				t.Fatal(err)
			}
			wantFilter := []string{apsRule}
			if tc.allRules {
				wantFilter = nil
			}
			if !slices.Equal(r.Destination.FilterArns, wantFilter) || aws.ToString(r.EventSourceArn) != archive ||
				!aws.ToTime(r.EventStartTime).Equal(from) || !aws.ToTime(r.EventEndTime).Equal(to) {
				t.Errorf("replay asked for %v from %s to %s of %s; want %v, %s, %s, %s", r.Destination.FilterArns,
					aws.ToTime(r.EventStartTime), aws.ToTime(r.EventEndTime), aws.ToString(r.EventSourceArn), wantFilter, from, to, archive)
			}
		})
	}
}

// Requests AWS would refuse, or that would reach nobody, fail with the reason before StartReplay.
func TestReplayRefusesWhatTheArchiveCannotServe(t *testing.T) {
	ctx := context.Background()
	g := harness.Start(t, local)
	eb := eventbridge.NewFromConfig(local.Config)
	archive, err := localaws.CreateArchive(ctx, local.Config, local.Template, g.Bus, "archive-"+g.Bus, false)
	if err != nil {
		t.Fatal(err)
	}
	otherBus, err := localaws.CreateBus(ctx, local.Config)
	if err != nil {
		t.Fatal(err)
	}
	ruleElsewhere, _ := consumer(t, otherBus, "elsewhere", harness.EventSources)
	ownRule, _ := consumer(t, g.Bus, "own", harness.EventSources)
	missingRule := ownRule[:strings.LastIndex(ownRule, "/")+1] + "no-such-rule"
	missingArchive := archive[:strings.LastIndex(archive, "/")+1] + "no-such-archive"
	from, to := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339)
	cases := []struct {
		name, archive, rule, want string
	}{
		{"unknown archive", missingArchive, ownRule, "archive " + missingArchive},
		{"rule on another bus", archive, ruleElsewhere, "is not on the archive's bus"},
		{"unknown rule", archive, missingRule, "-rule " + missingRule},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := []string{"-archive", tc.archive, "-from", from, "-to", to, "-rule", tc.rule, "-name", "never"}
			if code := run(ctx, args, func(string) string { return "" }, time.Now, &stdout, &stderr,
				func(context.Context) (API, error) { return eb, nil }); code != exitFail || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), exitFail, tc.want)
			}
		})
	}
	if _, err := eb.DescribeReplay(ctx, &eventbridge.DescribeReplayInput{ReplayName: aws.String("never")}); err == nil {
		t.Error("a refused request started a replay")
	}
}
