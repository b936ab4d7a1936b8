package repo

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpay"
	"github.com/amazon-webhook-gateway/gateway/shared/aps"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// The re-drive of deferred deliveries, as template.yaml wires it: S3 announces each object under
// deferred/<webhook>/ on the default bus, a rule per webhook queues it, and the queue's event source
// mapping hands it to that webhook's own function. A wrong link re-drives a delivery through
// another webhook's function (which refuses it: wrong_function), or never. Nothing here runs on
// AWS, and moto runs no event source mappings: these read the template (intrinsic-function tags
// dropped: !GetAtt Q.Arn reads as "Q.Arn", !Ref F as "F").

// redriveFunctions are the webhook functions and the webhook their code names in its keys.
var redriveFunctions = map[string]string{
	"ShippingOtpFunction":  shipping.Webhook,
	"ApsFunction":          aps.Webhook,
	"AmazonPayIpnFunction": amazonpay.Webhook,
}

// redriveLink is one webhook's path from its deferred prefix to its function.
type redriveLink struct {
	rule, queue, mapping, function string
	webhook                        string // the rule's deferred/<webhook>/ prefix
}

func loadRedriveTemplate(t *testing.T) *localaws.Template {
	t.Helper()
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// arnOf reads a decoded !GetAtt X.Arn as X.
func arnOf(v any) string {
	s, _ := v.(string)
	if r, ok := strings.CutSuffix(s, ".Arn"); ok {
		return r
	}
	return ""
}

// redriveLinks follows every rule on S3's announcements to the function that ends up with them,
// failing on any broken or ambiguous link.
func redriveLinks(t *testing.T, tmpl *localaws.Template) []redriveLink {
	t.Helper()
	var links []redriveLink
	for id, r := range tmpl.Resources {
		if r.Type != "AWS::Events::Rule" {
			continue
		}
		pattern, _ := json.Marshal(r.Properties["EventPattern"])
		if !strings.Contains(string(pattern), `"aws.s3"`) {
			continue
		}
		l := redriveLink{rule: id}
		var p struct {
			Detail struct {
				Object struct {
					Key []struct {
						Prefix string `json:"prefix"`
					} `json:"key"`
				} `json:"object"`
			} `json:"detail"`
		}
		_ = json.Unmarshal(pattern, &p)
		if len(p.Detail.Object.Key) == 1 {
			if w, ok := strings.CutPrefix(p.Detail.Object.Key[0].Prefix, quarantine.DeferredPrefix); ok {
				l.webhook = strings.TrimSuffix(w, "/")
			}
		}
		targets, _ := r.Properties["Targets"].([]any)
		if len(targets) != 1 {
			t.Errorf("rule %s has %d targets, want its re-drive queue only", id, len(targets))
			continue
		}
		l.queue = arnOf(targets[0].(map[string]any)["Arn"])
		for mid, m := range tmpl.Resources {
			if m.Type == "AWS::Lambda::EventSourceMapping" && arnOf(m.Properties["EventSourceArn"]) == l.queue && l.queue != "" {
				if l.mapping != "" {
					t.Errorf("queue %s feeds two mappings: %s and %s", l.queue, l.mapping, mid)
				}
				l.mapping, l.function = mid, fmt.Sprint(m.Properties["FunctionName"])
			}
		}
		links = append(links, l)
	}
	slices.SortFunc(links, func(a, b redriveLink) int { return strings.Compare(a.rule, b.rule) })
	return links
}

// TestEachWebhookRedrivesOnlyItsOwnDeferredPrefix: each rule matches exactly S3's "Object Created"
// of PayloadBucket under one webhook's deferred/<webhook>/ on the default bus, and targets the queue
// whose event source mapping feeds that webhook's own function; every webhook has one.
func TestEachWebhookRedrivesOnlyItsOwnDeferredPrefix(t *testing.T) {
	tmpl := loadRedriveTemplate(t)
	links := redriveLinks(t, tmpl)
	seen := map[string]string{}
	for _, l := range links {
		r := tmpl.Resources[l.rule]
		want := fmt.Sprintf(`{"detail":{"bucket":{"name":["PayloadBucket"]},"object":{"key":[{"prefix":"deferred/%s/"}]}},"detail-type":["Object Created"],"source":["aws.s3"]}`, l.webhook)
		if got, _ := json.Marshal(r.Properties["EventPattern"]); string(got) != want {
			t.Errorf("rule %s: pattern %s, want %s", l.rule, got, want)
		}
		if n := tmpl.Node("Resources", l.rule, "Properties", "EventPattern", "detail", "bucket", "name"); n == nil || len(n.Content) != 1 || n.Content[0].Tag != "!Ref" {
			t.Errorf("rule %s: the bucket name is not !Ref PayloadBucket", l.rule)
		}
		// S3 sends its events to the account's default bus only.
		if bus, ok := r.Properties["EventBusName"]; ok {
			t.Errorf("rule %s is on bus %v: S3 announces objects on the default bus", l.rule, bus)
		}
		if state := r.Properties["State"]; state != "ENABLED" {
			t.Errorf("rule %s: State %v", l.rule, state)
		}
		if l.function == "" {
			t.Errorf("rule %s targets %q, which no event source mapping reads", l.rule, l.queue)
			continue
		}
		if got := redriveFunctions[l.function]; got != l.webhook {
			t.Errorf("rule %s sends deferred/%s/ to %s (via %s, %s), whose webhook is %q", l.rule, l.webhook, l.function, l.queue, l.mapping, got)
		}
		if other, dup := seen[l.webhook]; dup {
			t.Errorf("deferred/%s/ has two rules: %s and %s", l.webhook, other, l.rule)
		}
		seen[l.webhook] = l.rule
	}
	for fn, w := range redriveFunctions {
		if _, ok := seen[w]; !ok {
			t.Errorf("no rule re-drives deferred/%s/ (%s)", w, fn)
		}
	}
	// The announcements exist: the bucket sends its object events to EventBridge.
	nc, _ := tmpl.Resources["PayloadBucket"].Properties["NotificationConfiguration"].(map[string]any)
	if eb, _ := nc["EventBridgeConfiguration"].(map[string]any); eb["EventBridgeEnabled"] != true {
		t.Errorf("PayloadBucket does not send its object events to EventBridge: %v", nc)
	}
}

// TestRedriveMappingsReportFailuresAndFollowTheirSwitches: one deferred delivery per invocation,
// failures reported per message (the function answers batchItemFailures), concurrency capped by
// DeferredRedriveConcurrency, and each webhook's mapping enabled by its own pause switch.
func TestRedriveMappingsReportFailuresAndFollowTheirSwitches(t *testing.T) {
	tmpl := loadRedriveTemplate(t)
	switches := map[string]bool{}
	for _, l := range redriveLinks(t, tmpl) {
		if l.mapping == "" {
			t.Errorf("rule %s: no event source mapping", l.rule)
			continue
		}
		m := tmpl.Resources[l.mapping].Properties
		if rt, _ := m["FunctionResponseTypes"].([]any); len(rt) != 1 || rt[0] != "ReportBatchItemFailures" {
			t.Errorf("%s: FunctionResponseTypes %v, want [ReportBatchItemFailures]", l.mapping, m["FunctionResponseTypes"])
		}
		if m["BatchSize"] != 1 {
			t.Errorf("%s: BatchSize %v, want 1", l.mapping, m["BatchSize"])
		}
		if n := tmpl.Node("Resources", l.mapping, "Properties", "ScalingConfig", "MaximumConcurrency"); n == nil || n.Tag != "!Ref" || n.Value != "DeferredRedriveConcurrency" {
			t.Errorf("%s: ScalingConfig.MaximumConcurrency is not !Ref DeferredRedriveConcurrency", l.mapping)
		}
		n := tmpl.Node("Resources", l.mapping, "Properties", "Enabled")
		if n == nil || n.Tag != "!Ref" {
			t.Errorf("%s: Enabled is not a parameter (the pause switch)", l.mapping)
			continue
		}
		p, ok := tmpl.Parameters[n.Value]
		if !ok || fmt.Sprint(p.Default) != "true" || fmt.Sprint(p.AllowedValues) != "[true false]" {
			t.Errorf("%s: Enabled from %s %+v, want a parameter allowing true/false, default true", l.mapping, n.Value, p)
		}
		if switches[n.Value] {
			t.Errorf("%s shares its pause switch %s with another webhook", l.mapping, n.Value)
		}
		switches[n.Value] = true
	}
	// 2 is the least MaximumConcurrency Lambda accepts for SQS.
	if p := tmpl.Parameters["DeferredRedriveConcurrency"]; fmt.Sprint(p.MinValue) != "2" || fmt.Sprint(p.Default) != "2" || fmt.Sprint(p.MaxValue) != "1000" {
		t.Errorf("DeferredRedriveConcurrency: %+v, want Default 2, MinValue 2, MaxValue 1000", p)
	}
}

// TestEachRedriveQueueAcceptsOnlyItsOwnRule: EventBridge may send to a re-drive queue only for the
// rule that targets it, and to the dead-letter queue only for the re-drive rules.
func TestEachRedriveQueueAcceptsOnlyItsOwnRule(t *testing.T) {
	tmpl := loadRedriveTemplate(t)
	links := redriveLinks(t, tmpl)
	allowed := map[string][]string{} // queue -> the rules its policy lets send
	policies := map[string]int{}
	for id, r := range tmpl.Resources {
		if r.Type != "AWS::SQS::QueuePolicy" {
			continue
		}
		queues, _ := r.Properties["Queues"].([]any)
		doc, _ := r.Properties["PolicyDocument"].(map[string]any)
		stmts, _ := doc["Statement"].([]any)
		for _, q := range queues {
			queue := fmt.Sprint(q)
			policies[queue]++
			for _, st := range stmts {
				s, _ := st.(map[string]any)
				principal, _ := s["Principal"].(map[string]any)
				if s["Effect"] != "Allow" || principal["Service"] != "events.amazonaws.com" || s["Action"] != "sqs:SendMessage" || arnOf(s["Resource"]) != queue {
					t.Errorf("%s: statement %v: %v %v %v on %v; want Allow events.amazonaws.com sqs:SendMessage on %s", id, s["Sid"], s["Effect"], principal, s["Action"], s["Resource"], queue)
				}
				cond, _ := s["Condition"].(map[string]any)
				arnEquals, _ := cond["ArnEquals"].(map[string]any)
				if len(cond) != 1 || len(arnEquals) != 1 {
					t.Errorf("%s: statement %v: condition %v, want ArnEquals aws:SourceArn only", id, s["Sid"], cond)
				}
				var sources []string
				switch v := arnEquals["aws:SourceArn"].(type) {
				case string:
					sources = []string{v}
				case []any:
					for _, e := range v {
						sources = append(sources, fmt.Sprint(e))
					}
				}
				for _, src := range sources {
					allowed[queue] = append(allowed[queue], arnOf(src))
				}
			}
		}
	}
	var rules []string
	for _, l := range links {
		rules = append(rules, l.rule)
		if got := allowed[l.queue]; !slices.Equal(got, []string{l.rule}) || policies[l.queue] != 1 {
			t.Errorf("queue %s: %d policies letting %v send, want one letting %s only", l.queue, policies[l.queue], got, l.rule)
		}
		targets, _ := tmpl.Resources[l.rule].Properties["Targets"].([]any)
		tg, _ := targets[0].(map[string]any)
		dl, _ := tg["DeadLetterConfig"].(map[string]any)
		retry, _ := tg["RetryPolicy"].(map[string]any)
		if arnOf(dl["Arn"]) != "RedriveDeadLetterQueue" || retry["MaximumEventAgeInSeconds"] != 86400 {
			t.Errorf("rule %s: DeadLetterConfig %v, RetryPolicy %v; want RedriveDeadLetterQueue and a day", l.rule, dl, retry)
		}
	}
	got := slices.Sorted(slices.Values(allowed["RedriveDeadLetterQueue"]))
	if !slices.Equal(got, rules) || policies["RedriveDeadLetterQueue"] != 1 {
		t.Errorf("RedriveDeadLetterQueue: %d policies letting %v send, want one letting %v", policies["RedriveDeadLetterQueue"], got, rules)
	}
}

// TestDeferredDeliveriesOutliveTheirRetention: nothing drops a deferred delivery the re-drive
// still owns. The bucket keeps deferred/ longer than the longest DeferredRetentionHours, each queue
// keeps its messages as long, and the visibility timeout outlasts the function's run.
func TestDeferredDeliveriesOutliveTheirRetention(t *testing.T) {
	tmpl := loadRedriveTemplate(t)
	maxHours, err := strconv.Atoi(fmt.Sprint(tmpl.Parameters["DeferredRetentionHours"].MaxValue))
	if err != nil {
		t.Fatalf("DeferredRetentionHours has no MaxValue: %v", err)
	}
	lc, _ := tmpl.Resources["PayloadBucket"].Properties["LifecycleConfiguration"].(map[string]any)
	rules, _ := lc["Rules"].([]any)
	expiry := map[string]any{}
	for _, r := range rules {
		m, _ := r.(map[string]any)
		if m["Status"] == "Enabled" {
			expiry[fmt.Sprint(m["Prefix"])] = m["ExpirationInDays"]
		}
	}
	days, ok := expiry[quarantine.DeferredPrefix].(int)
	if !ok || days*24 < maxHours {
		t.Errorf("deferred/ expires after %v days: shorter than DeferredRetentionHours' MaxValue %d h", expiry[quarantine.DeferredPrefix], maxHours)
	}
	if expiry[quarantine.DeadPrefix] != "QuarantineRetentionDays" {
		t.Errorf("deferred-dead/ expires after %v, want QuarantineRetentionDays (dead letters wait for a person)", expiry[quarantine.DeadPrefix])
	}
	for _, l := range redriveLinks(t, tmpl) {
		q := tmpl.Resources[l.queue].Properties
		if q["MessageRetentionPeriod"] != 1209600 || 1209600 < maxHours*3600 {
			t.Errorf("%s: MessageRetentionPeriod %v, want SQS's 14 days, at least %d h", l.queue, q["MessageRetentionPeriod"], maxHours)
		}
		if q["SqsManagedSseEnabled"] != true {
			t.Errorf("%s is not encrypted", l.queue)
		}
		timeout := tmpl.Globals.Function.Timeout
		if v, ok := tmpl.Resources[l.function].Properties["Timeout"].(int); ok {
			timeout = v
		}
		if vt, _ := q["VisibilityTimeout"].(int); vt <= timeout {
			t.Errorf("%s: VisibilityTimeout %v, not above %s's timeout %d s", l.queue, q["VisibilityTimeout"], l.function, timeout)
		}
	}
}

// TestEachFunctionRedrivesFromItsOwnQueue: the queue a function sets visibilities on
// (REDRIVE_QUEUE_URL) is the one its mapping reads, it defers by its own switch, and the durations
// it reads are Go durations equal to the code's defaults at the parameters' defaults.
func TestEachFunctionRedrivesFromItsOwnQueue(t *testing.T) {
	tmpl := loadRedriveTemplate(t)
	links := redriveLinks(t, tmpl)
	deferSwitches := map[string]bool{}
	for fn := range redriveFunctions {
		t.Run(fn, func(t *testing.T) {
			env := func(name string) string {
				t.Helper()
				e, _ := tmpl.Resources[fn].Properties["Environment"].(map[string]any)
				vars, _ := e["Variables"].(map[string]any)
				return fmt.Sprint(vars[name])
			}
			i := slices.IndexFunc(links, func(l redriveLink) bool { return l.function == fn })
			if i < 0 {
				t.Fatalf("no event source mapping feeds %s", fn)
			}
			if got := env("REDRIVE_QUEUE_URL"); got != links[i].queue {
				t.Errorf("REDRIVE_QUEUE_URL is %s, but %s reads %s", got, links[i].mapping, links[i].queue)
			}
			if n := tmpl.Node("Resources", fn, "Properties", "Environment", "Variables", "REDRIVE_QUEUE_URL"); n == nil || n.Tag != "!Ref" {
				t.Errorf("REDRIVE_QUEUE_URL is not !Ref of the queue (its URL)")
			}
			sw := env("DEFER_WHEN_UNAVAILABLE")
			if p, ok := tmpl.Parameters[sw]; !ok || fmt.Sprint(p.AllowedValues) != "[true false]" || deferSwitches[sw] {
				t.Errorf("DEFER_WHEN_UNAVAILABLE from %q: want a true/false parameter of its own", sw)
			}
			deferSwitches[sw] = true
			for name, want := range map[string]time.Duration{
				"DEFERRED_RETENTION":  pipeline.DefaultDeferredRetention,
				"REDRIVE_BACKOFF":     pipeline.DefaultRedriveBackoff,
				"REDRIVE_MAX_BACKOFF": pipeline.DefaultRedriveMaxBackoff,
			} {
				if got := atDefaults(t, tmpl, env(name)); got != want {
					t.Errorf("%s at the parameters' defaults is %v (%s), want the code's default %v", name, got, env(name), want)
				}
			}
		})
	}
	// The default is what Amazon's senders need: Amazon Shipping retries 503 for 24 hours.
	for param, want := range map[string]string{"ShippingDeferWhenUnavailable": "false", "ApsDeferWhenUnavailable": "true", "AmazonPayDeferWhenUnavailable": "true"} {
		if got := fmt.Sprint(tmpl.Parameters[param].Default); got != want {
			t.Errorf("%s defaults to %s, want %s", param, got, want)
		}
	}
}

// atDefaults reads a !Sub text with every ${Parameter} at its default, as a Go duration.
func atDefaults(t *testing.T, tmpl *localaws.Template, sub string) time.Duration {
	t.Helper()
	var b strings.Builder
	rest := sub
	for {
		before, after, found := strings.Cut(rest, "${")
		b.WriteString(before)
		if !found {
			break
		}
		name, tail, _ := strings.Cut(after, "}")
		p, ok := tmpl.Parameters[name]
		if !ok {
			t.Fatalf("%q names %s, which is no parameter", sub, name)
		}
		b.WriteString(fmt.Sprint(p.Default))
		rest = tail
	}
	d, err := time.ParseDuration(b.String())
	if err != nil {
		t.Fatalf("%q at the defaults is %q: %v", sub, b.String(), err)
	}
	return d
}

// TestDefaultBackoffDeadLettersBeforeSQSDoes: at the parameters' defaults the function moves a
// delivery it cannot re-drive to deferred-dead/ (past DeferredRetentionHours) in fewer receives
// than the queue's maxReceiveCount, even drawing every backoff at its shortest: SQS's own dead
// letter stays a last resort.
func TestDefaultBackoffDeadLettersBeforeSQSDoes(t *testing.T) {
	tmpl := loadRedriveTemplate(t)
	param := func(name string) time.Duration {
		n, err := strconv.Atoi(fmt.Sprint(tmpl.Parameters[name].Default))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return time.Duration(n)
	}
	retention := param("DeferredRetentionHours") * time.Hour
	r := pipeline.Redrive{Backoff: param("DeferredRedriveBackoffSeconds") * time.Second, MaxBackoff: param("DeferredRedriveMaxBackoffSeconds") * time.Second}
	// The shortest wait after the attempt-th failure: Delay draws from the upper half of the
	// backoff, doubled per failure up to the maximum (checked against Delay itself below).
	shortest := func(attempt int) time.Duration {
		d := max(r.Backoff, time.Second)
		for i := 1; i < attempt && d < r.MaxBackoff; i++ {
			d *= 2
		}
		return max(min(d, max(r.MaxBackoff, time.Second))/2, time.Second)
	}
	receives, waited := 1, time.Duration(0)
	for waited <= retention {
		for range 20 {
			if d := r.Delay(receives); d < shortest(receives) {
				t.Fatalf("Delay(%d) = %v, below the %v this test assumes shortest", receives, d, shortest(receives))
			}
		}
		waited += shortest(receives)
		receives++
	}
	for _, l := range redriveLinks(t, tmpl) {
		policy, _ := tmpl.Resources[l.queue].Properties["RedrivePolicy"].(map[string]any)
		limit, _ := policy["maxReceiveCount"].(int)
		if limit == 0 || receives >= limit {
			t.Errorf("%s: maxReceiveCount %v; the function needs up to %d receives to dead-letter past %v", l.queue, policy["maxReceiveCount"], receives, retention)
		}
	}
	t.Logf("at most %d receives before the function dead-letters a delivery", receives)
}
