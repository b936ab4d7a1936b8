package limits

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpay"
	"github.com/amazon-webhook-gateway/gateway/shared/aps"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// Each function's role reaches only its own webhook's idempotency keys, event source and bucket
// prefixes, so that one compromised function cannot write as another. moto enforces no IAM, so
// these tests read template.yaml (intrinsic-function tags are dropped by the decoder: !GetAtt
// R.Arn reads as "R.Arn", !Sub "${B.Arn}/k" as "${B.Arn}/k").

// gatewayRole is what one webhook function's role may touch.
type gatewayRole struct {
	function, role string
	webhook        string // quarantine.Keeper's Webhook
	source         string // the event source of its contract
	keyPattern     string // dynamodb:LeadingKeys on the idempotency table
	sampleKey      string // an idempotency key the webhook's code makes
}

func gatewayRoles() []gatewayRole {
	env := shipping.Envelope{ID: "d-1"}
	return []gatewayRole{
		{"ShippingOtpFunction", "ShippingOtpFunctionRole", shipping.Webhook, shipping.EventSource, "shipping:*",
			shipping.OTPEvent(env, "default", shipping.OTP{TrackingID: "T1"}, time.Now(), false).Detail.(shipping.Detail[shipping.OTPData]).Metadata.IdempotencyKey},
		{"ApsFunction", "ApsFunctionRole", aps.Webhook, aps.EventSource, "aps:*",
			aps.IdempotencyKey(map[string]string{"status": "14"})},
		{"AmazonPayIpnFunction", "AmazonPayIpnFunctionRole", amazonpay.Webhook, amazonpay.EventSource, "amazonpay:*",
			amazonpay.Event(&snsverify.Message{MessageID: "m-1"}, time.Now()).Detail.(amazonpay.Detail).Metadata.IdempotencyKey},
	}
}

func loadTemplate(t *testing.T) map[string]localaws.Resource {
	t.Helper()
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	return tmpl.Resources
}

// statements are a SAM function's inline policy statements.
func statements(t *testing.T, res map[string]localaws.Resource, function string) []map[string]any {
	t.Helper()
	var out []map[string]any
	policies, _ := res[function].Properties["Policies"].([]any)
	for _, p := range policies {
		doc, _ := p.(map[string]any)
		list, _ := doc["Statement"].([]any)
		for _, s := range list {
			if m, ok := s.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s has no policy statements", function)
	}
	return out
}

// strs reads a policy value that is a string or a list of strings.
func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// condition is the values a statement's Condition gives key under operator op.
func condition(s map[string]any, op, key string) []string {
	c, _ := s["Condition"].(map[string]any)
	block, _ := c[op].(map[string]any)
	return strs(block[key])
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}

// touches reports whether any of s's actions is in service (e.g. "dynamodb:").
func touches(s map[string]any, service string) bool {
	return slices.ContainsFunc(strs(s["Action"]), func(a string) bool { return strings.HasPrefix(a, service) || a == "*" })
}

// glob matches s against an IAM pattern whose only wildcard is "*" (any run of characters).
func glob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	rest, ok := strings.CutPrefix(s, parts[0])
	if !ok {
		return false
	}
	if len(parts) == 1 {
		return rest == ""
	}
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return strings.HasSuffix(rest, parts[len(parts)-1])
}

// Every ForAllValues condition in the template is paired with a Null test on the same key:
// ForAllValues is true when the request has no value for the key at all.
func TestForAllValuesConditionsRequireTheKey(t *testing.T) {
	res := loadTemplate(t)
	checked := 0
	for name, r := range res {
		var stmts []map[string]any
		switch r.Type {
		case "AWS::Serverless::Function":
			if _, ok := r.Properties["Policies"]; ok {
				stmts = statements(t, res, name)
			}
		case "AWS::Events::EventBusPolicy":
			if s, ok := r.Properties["Statement"].(map[string]any); ok {
				stmts = append(stmts, s)
			}
		}
		for _, s := range stmts {
			c, _ := s["Condition"].(map[string]any)
			for op, block := range c {
				if !strings.HasPrefix(op, "ForAllValues:") {
					continue
				}
				for key := range block.(map[string]any) {
					checked++
					if got := condition(s, "Null", key); !slices.Equal(got, []string{"false"}) {
						t.Errorf("%s %v: %s on %s without Null {%s: \"false\"}", name, s["Sid"], op, key, key)
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Error("no ForAllValues condition found: the roles are not scoped")
	}
}

// Each function may write only its own webhook's idempotency keys, with only the actions the
// idempotency store uses, and no other statement reaches the table.
func TestEachRoleTouchesOnlyItsOwnIdempotencyKeys(t *testing.T) {
	res := loadTemplate(t)
	roles := gatewayRoles()
	for _, g := range roles {
		t.Run(g.function, func(t *testing.T) {
			if !glob(g.keyPattern, g.sampleKey) {
				t.Fatalf("the code's key %q is outside the pattern %q", g.sampleKey, g.keyPattern)
			}
			for _, other := range roles {
				if other.function != g.function && glob(g.keyPattern, other.sampleKey) {
					t.Errorf("%s's pattern %q also matches %s's key %q", g.function, g.keyPattern, other.function, other.sampleKey)
				}
			}
			found := 0
			for _, s := range statements(t, res, g.function) {
				if !slices.ContainsFunc(strs(s["Resource"]), func(r string) bool { return strings.HasPrefix(r, "IdempotencyTable") }) {
					if touches(s, "dynamodb:") && slices.Contains(strs(s["Resource"]), "*") {
						t.Errorf("statement %v grants DynamoDB on every table", s["Sid"])
					}
					continue
				}
				found++
				if s["Effect"] != "Allow" || !sameSet(strs(s["Action"]), []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}) {
					t.Errorf("statement %v: %v %v, want Allow of PutItem, UpdateItem, DeleteItem (what shared/idempotency calls)", s["Sid"], s["Effect"], s["Action"])
				}
				if got := condition(s, "ForAllValues:StringLike", "dynamodb:LeadingKeys"); !slices.Equal(got, []string{g.keyPattern}) {
					t.Errorf("statement %v: dynamodb:LeadingKeys %v, want ForAllValues:StringLike [%s]", s["Sid"], got, g.keyPattern)
				}
				if got := condition(s, "Null", "dynamodb:LeadingKeys"); !slices.Equal(got, []string{"false"}) {
					t.Errorf("statement %v: no Null test on dynamodb:LeadingKeys: a request without a key (Scan) would pass", s["Sid"])
				}
			}
			if found != 1 {
				t.Errorf("%d statements on the idempotency table, want 1", found)
			}
		})
	}
}

// Each function may publish its own source only, and nothing else in the template grants
// PutEvents to it.
func TestEachRolePublishesOnlyItsOwnSource(t *testing.T) {
	res := loadTemplate(t)
	for _, g := range gatewayRoles() {
		t.Run(g.function, func(t *testing.T) {
			found := 0
			for _, s := range statements(t, res, g.function) {
				if !touches(s, "events:") {
					continue
				}
				found++
				if s["Effect"] != "Allow" || !slices.Equal(strs(s["Action"]), []string{"events:PutEvents"}) || !slices.Equal(strs(s["Resource"]), []string{"EventBus.Arn"}) {
					t.Errorf("statement %v: %v %v on %v, want Allow events:PutEvents on the stack's bus", s["Sid"], s["Effect"], s["Action"], s["Resource"])
				}
				if got := condition(s, "ForAllValues:StringEquals", "events:source"); !slices.Equal(got, []string{g.source}) {
					t.Errorf("statement %v: events:source %v, want ForAllValues:StringEquals [%s]", s["Sid"], got, g.source)
				}
				if got := condition(s, "Null", "events:source"); !slices.Equal(got, []string{"false"}) {
					t.Errorf("statement %v: no Null test on events:source", s["Sid"])
				}
			}
			if found != 1 {
				t.Errorf("%d statements grant EventBridge actions, want 1", found)
			}
		})
	}
}

// Each function may write (and, for replays, read) its own webhook's quarantine, write its own
// source's oversized event details, and write, read and delete its own webhook's deferred
// deliveries and their dead letters: nothing else in the payload bucket.
func TestEachRoleUsesOnlyItsOwnBucketPrefixes(t *testing.T) {
	res := loadTemplate(t)
	const bucket = "${PayloadBucket.Arn}/"
	roles := gatewayRoles()
	deferredActions := []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
	for _, g := range roles {
		t.Run(g.function, func(t *testing.T) {
			want := map[string][]string{
				bucket + quarantine.WebhookPrefix(g.webhook) + "*":    {"s3:GetObject", "s3:PutObject"},
				bucket + eventbus.OffloadPrefix(g.source) + "*":       {"s3:PutObject"},
				bucket + quarantine.DeferredPrefix + g.webhook + "/*": deferredActions,
				bucket + quarantine.DeadPrefix + g.webhook + "/*":     deferredActions,
			}
			// Listing, so that reading a missing key gets 404 and not 403: the bucket, only with the
			// function's own prefixes of every place.
			var wantListed []string
			for _, place := range quarantine.Places {
				wantListed = append(wantListed, place+g.webhook+"/*")
			}
			got := map[string][]string{}
			var listed []string
			for _, s := range statements(t, res, g.function) {
				if !touches(s, "s3:") {
					continue
				}
				if slices.Equal(strs(s["Action"]), []string{"s3:ListBucket"}) {
					c, _ := s["Condition"].(map[string]any)
					prefixes := condition(s, "StringLike", "s3:prefix")
					if s["Effect"] != "Allow" || len(c) != 1 || len(prefixes) == 0 || fmt.Sprint(s["Resource"]) != "PayloadBucket.Arn" {
						t.Errorf("listing statement %v: %v on %v if %v; want the bucket if StringLike s3:prefix", s["Sid"], s["Effect"], s["Resource"], s["Condition"])
					}
					listed = append(listed, prefixes...)
					continue
				}
				if s["Effect"] != "Allow" || s["Condition"] != nil {
					t.Errorf("statement %v: unexpected %v / condition %v", s["Sid"], s["Effect"], s["Condition"])
				}
				for _, r := range strs(s["Resource"]) {
					got[r] = append(got[r], strs(s["Action"])...)
				}
			}
			for r, actions := range got {
				if w, ok := want[r]; !ok || !sameSet(actions, w) {
					t.Errorf("grants %v on %s; want only %v", actions, r, want)
				}
			}
			if len(got) != len(want) {
				t.Errorf("S3 grants %v, want %v", got, want)
			}
			if !sameSet(listed, wantListed) {
				t.Errorf("s3:ListBucket for the prefixes %v, want %v", listed, wantListed)
			}
			// The prefixes are the code's: a key the function writes is under them, another's is not.
			req := events.APIGatewayV2HTTPRequest{RawPath: "/any/route", Body: "{}"}
			for _, other := range roles {
				own := other.function == g.function
				keys := []string{bucket + eventbus.OffloadPrefix(other.source) + "0123abcd.json"}
				for _, place := range quarantine.Places {
					keys = append(keys, bucket+quarantine.KeyIn(place, other.webhook, &req))
				}
				for _, key := range keys {
					allowed := slices.ContainsFunc(slices.Collect(maps.Keys(got)), func(p string) bool { return glob(p, key) })
					if allowed != own {
						t.Errorf("%s may write %s: %v, want %v", g.function, key, allowed, own)
					}
					listable := slices.ContainsFunc(listed, func(p string) bool { return glob(p, strings.TrimPrefix(key, bucket)) })
					if !strings.Contains(key, "/oversized/") && listable != own {
						t.Errorf("%s may list %s: %v, want %v", g.function, key, listable, own)
					}
				}
			}
		})
	}
}

// Each function consumes, and sets the visibility of, the messages of its own re-drive queue (the
// one its event source mapping reads) and no other queue: no SAM SQS event, whose managed policy
// would grant every queue of the account.
func TestEachRoleConsumesOnlyItsOwnRedriveQueue(t *testing.T) {
	res := loadTemplate(t)
	want := []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"}
	for _, g := range gatewayRoles() {
		t.Run(g.function, func(t *testing.T) {
			var queues []string
			for name, r := range res {
				if r.Type == "AWS::Lambda::EventSourceMapping" && r.Properties["FunctionName"] == g.function {
					queues = append(queues, fmt.Sprint(r.Properties["EventSourceArn"]))
					t.Logf("%s reads %v", name, r.Properties["EventSourceArn"])
				}
			}
			if len(queues) != 1 || !strings.HasSuffix(queues[0], "RedriveQueue.Arn") {
				t.Fatalf("event source mappings of %s read %v, want one re-drive queue", g.function, queues)
			}
			var actions []string
			for _, s := range statements(t, res, g.function) {
				if !touches(s, "sqs:") {
					continue
				}
				if s["Effect"] != "Allow" || s["Condition"] != nil || !slices.Equal(strs(s["Resource"]), queues) {
					t.Errorf("statement %v: %v %v on %v; want Allow on %s only", s["Sid"], s["Effect"], s["Action"], s["Resource"], queues[0])
				}
				actions = append(actions, strs(s["Action"])...)
			}
			if !sameSet(actions, want) {
				t.Errorf("SQS actions %v, want %v (what the event source mapping and the backoff use)", actions, want)
			}
			evs, _ := res[g.function].Properties["Events"].(map[string]any)
			for name, e := range evs {
				if ev, _ := e.(map[string]any); ev["Type"] == "SQS" {
					t.Errorf("event %s is a SAM SQS event: it attaches AWSLambdaSQSQueueExecutionRole (every queue)", name)
				}
			}
		})
	}
}

// The bus denies every gateway source to everyone but the gateway's roles, and each source to
// everyone but the role that owns it. Nothing in the bus policy allows anything.
func TestBusPolicyDeniesGatewaySourcesToOtherPrincipals(t *testing.T) {
	res := loadTemplate(t)
	roles := gatewayRoles()
	var all []string
	for _, g := range roles {
		all = append(all, g.role+".Arn")
	}
	var denies []map[string]any
	for name, r := range res {
		if r.Type != "AWS::Events::EventBusPolicy" {
			continue
		}
		s, _ := r.Properties["Statement"].(map[string]any)
		if r.Properties["EventBusName"] != "EventBus" || s == nil {
			t.Errorf("%s: not a statement on the stack's bus: %v", name, r.Properties)
			continue
		}
		if s["Effect"] != "Deny" || s["Principal"] != "*" || !slices.Equal(strs(s["Action"]), []string{"events:PutEvents"}) || !slices.Equal(strs(s["Resource"]), []string{"EventBus.Arn"}) {
			t.Errorf("%s: %v %v %v on %v, want Deny * events:PutEvents on the bus", name, s["Effect"], s["Principal"], s["Action"], s["Resource"])
			continue
		}
		denies = append(denies, s)
	}
	if res["EventBus"].Properties["Policy"] != nil {
		t.Error("the bus has an inline Policy as well: keep its statements in one place")
	}
	// deniedTo reports whether some statement denies publishing source as principal.
	deniedTo := func(source, principal string) bool {
		for _, s := range denies {
			match := slices.Contains(condition(s, "ForAnyValue:StringEquals", "events:source"), source) ||
				slices.ContainsFunc(condition(s, "ForAnyValue:StringLike", "events:source"), func(p string) bool { return glob(p, source) })
			if match && !slices.Contains(condition(s, "ArnNotEquals", "aws:PrincipalArn"), principal) {
				return true
			}
		}
		return false
	}
	for _, g := range roles {
		for _, other := range roles {
			if got := deniedTo(g.source, other.role+".Arn"); got != (g.role != other.role) {
				t.Errorf("source %s from %s: denied %v, want %v", g.source, other.role, got, g.role != other.role)
			}
		}
		for _, stranger := range []string{"arn:aws:iam::123456789012:role/anything", ""} {
			if !deniedTo(g.source, stranger) {
				t.Errorf("source %s from %q is not denied", g.source, stranger)
			}
		}
	}
	// A new source under the gateway's name is the gateway's too.
	if !deniedTo("amazon-webhook-gateway.new-webhook", "arn:aws:iam::123456789012:role/anything") {
		t.Error("a source under amazon-webhook-gateway. is not denied to other principals")
	}
	for _, s := range denies {
		// ForAllValues would be true on a request without the key; only ForAnyValue may select.
		c, _ := s["Condition"].(map[string]any)
		for op := range c {
			if strings.HasPrefix(op, "ForAllValues:") {
				t.Errorf("deny %v selects with %s", s["Sid"], op)
			}
		}
		if arns := condition(s, "ArnNotEquals", "aws:PrincipalArn"); len(arns) == 0 || !isSubset(arns, all) {
			t.Errorf("deny %v exempts %v, want gateway roles only", s["Sid"], arns)
		}
	}
}

func isSubset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
