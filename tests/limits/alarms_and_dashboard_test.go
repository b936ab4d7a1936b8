package limits

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tests/filterpattern"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// Alarms that catch silence and credential mismatch, throttling alarms, and a dashboard, on the
// metric contract's names, so that an operator hears of a webhook that stops or is refused.
// moto cannot evaluate alarms, so these read the template (tools/alarms generates its alarm
// section; its own test holds the two equal).

// emfNamespace is the contract's EMF namespace (no stack name).
const emfNamespace = "AmazonWebhookGateway"

// contractOutcomes are the contract's Outcome values.
var contractOutcomes = []string{"accepted", "duplicate", "quarantined", "unauthorized", "forbidden", "too_large", "rejected", "unavailable", "auth_unavailable", "deferred", "dead_lettered"}

// alarmWebhooks: each webhook's function, its Webhook dimension value and its alarms.
var alarmWebhooks = []struct {
	webhook, function, prefix, hours, condition string
	// queue: the function's re-drive queue (deferred deliveries).
	queue string
	// refused: the outcomes the credential-mismatch alarm counts as refused.
	refused []string
}{
	{"shipping", "ShippingOtpFunction", "ShippingOtp", "ShippingNoDeliveryAlarmHours", "HasShippingNoDeliveryAlarm", "ShippingRedriveQueue", []string{"unauthorized"}},
	{"aps", "ApsFunction", "Aps", "ApsNoDeliveryAlarmHours", "HasApsNoDeliveryAlarm", "ApsRedriveQueue", []string{"unauthorized"}},
	{"amazon-pay", "AmazonPayIpnFunction", "AmazonPayIpn", "AmazonPayIpnNoDeliveryAlarmHours", "HasAmazonPayIpnNoDeliveryAlarm", "AmazonPayRedriveQueue", []string{"unauthorized", "forbidden"}},
}

// cloudWatchMaxRange is CloudWatch's longest alarm evaluation range (Period x EvaluationPeriods)
// for periods of an hour or more: seven days.
const cloudWatchMaxRange = 7 * 24 * 3600

func loadTmpl(t *testing.T) *localaws.Template {
	t.Helper()
	tmpl, err := localaws.LoadStack()
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// dims reads an alarm's or a metric's Dimensions as Name -> Value.
func dims(v any) map[string]string {
	out := map[string]string{}
	list, _ := v.([]any)
	for _, d := range list {
		m, _ := d.(map[string]any)
		out[fmt.Sprint(m["Name"])] = fmt.Sprint(m["Value"])
	}
	return out
}

func sameDims(got map[string]string, want ...string) bool {
	w := map[string]string{}
	for i := 0; i+1 < len(want); i += 2 {
		w[want[i]] = want[i+1]
	}
	return fmt.Sprint(got) == fmt.Sprint(w)
}

func TestEachWebhookCanAlarmOnHoursWithoutAnAcceptedDelivery(t *testing.T) {
	tmpl := loadTmpl(t)
	for _, w := range alarmWebhooks {
		t.Run(w.webhook, func(t *testing.T) {
			// The parameter: off (0) by default, 1-168 hours.
			p, ok := tmpl.Parameters[w.hours]
			if !ok {
				t.Fatalf("no parameter %s", w.hours)
			}
			if p.Type != "Number" || fmt.Sprint(p.Default) != "0" || fmt.Sprint(p.MinValue) != "0" || fmt.Sprint(p.MaxValue) != "168" {
				t.Errorf("%s: Type %s Default %v MinValue %v MaxValue %v, want Number 0 0 168", w.hours, p.Type, p.Default, p.MinValue, p.MaxValue)
			}
			// Its condition: the alarm exists exactly when the parameter is not 0.
			cond := tmpl.Node("Conditions", w.condition)
			if cond == nil || cond.Tag != "!Not" || len(cond.Content) != 1 || cond.Content[0].Tag != "!Equals" {
				t.Fatalf("condition %s is not !Not [!Equals [...]]", w.condition)
			}
			if eq := flatten(tmpl.Conditions[w.condition]); !strings.Contains(eq, w.hours) || !regexp.MustCompile(`(?m)- "?0"?$`).MatchString(eq) {
				t.Errorf("condition %s does not compare %s with 0: %s", w.condition, w.hours, eq)
			}

			name := w.prefix + "NoDeliveryAlarm"
			r, ok := tmpl.Resources[name]
			if !ok || r.Type != "AWS::CloudWatch::Alarm" {
				t.Fatalf("no alarm %s", name)
			}
			if r.Condition != w.condition {
				t.Errorf("%s: Condition %q, want %q (off by default)", name, r.Condition, w.condition)
			}
			a := r.Properties
			if a["Namespace"] != emfNamespace || a["MetricName"] != "Deliveries" || !sameDims(dims(a["Dimensions"]), "Webhook", w.webhook, "Outcome", "accepted") {
				t.Errorf("%s watches %v %v %v, want %s Deliveries Webhook=%s Outcome=accepted", name, a["Namespace"], a["MetricName"], dims(a["Dimensions"]), emfNamespace, w.webhook)
			}
			// N consecutive hours, every one without an accepted delivery (missing = none):
			// an evaluation range of 3600 x N.
			for k, want := range map[string]any{
				"Statistic": "Sum", "Period": 3600, "EvaluationPeriods": w.hours, "DatapointsToAlarm": w.hours,
				"Threshold": 1, "ComparisonOperator": "LessThanThreshold", "TreatMissingData": "breaching",
			} {
				if a[k] != want {
					t.Errorf("%s: %s = %v, want %v", name, k, a[k], want)
				}
			}
			if n := tmpl.Node("Resources", name, "Properties", "EvaluationPeriods"); n == nil || n.Tag != "!Ref" {
				t.Errorf("%s: EvaluationPeriods is not !Ref %s", name, w.hours)
			}
			if maxHours, _ := p.MaxValue.(int); 3600*maxHours > cloudWatchMaxRange {
				t.Errorf("%s allows %d hours: over CloudWatch's %d s evaluation range", w.hours, maxHours, cloudWatchMaxRange)
			}
		})
	}
}

func TestEachWebhookAlarmsOnAnHourOfRefusedAndNoAcceptedDeliveries(t *testing.T) {
	tmpl := loadTmpl(t)
	for _, w := range alarmWebhooks {
		t.Run(w.webhook, func(t *testing.T) {
			name := w.prefix + "CredentialMismatchAlarm"
			r, ok := tmpl.Resources[name]
			if !ok || r.Type != "AWS::CloudWatch::Alarm" {
				t.Fatalf("no alarm %s", name)
			}
			if r.Condition != "" {
				t.Errorf("%s is conditional (%s): it must always exist", name, r.Condition)
			}
			a := r.Properties
			for k, want := range map[string]any{
				"EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
			} {
				if a[k] != want {
					t.Errorf("%s: %s = %v, want %v", name, k, a[k], want)
				}
			}
			// Inputs: Deliveries of this webhook per refused outcome and accepted, hourly sums, not returned.
			inputs := map[string]bool{}
			var expr []string
			metrics, _ := a["Metrics"].([]any)
			for _, q := range metrics {
				m := q.(map[string]any)
				id := fmt.Sprint(m["Id"])
				if e, ok := m["Expression"]; ok {
					if m["ReturnData"] != true {
						t.Errorf("%s: expression %s is not the returned series", name, id)
					}
					expr = append(expr, fmt.Sprint(e))
					continue
				}
				if m["ReturnData"] != false {
					t.Errorf("%s: input %s is returned too (ReturnData %v)", name, id, m["ReturnData"])
				}
				stat, _ := m["MetricStat"].(map[string]any)
				metric, _ := stat["Metric"].(map[string]any)
				if metric["Namespace"] != emfNamespace || metric["MetricName"] != "Deliveries" || !sameDims(dims(metric["Dimensions"]), "Webhook", w.webhook, "Outcome", id) {
					t.Errorf("%s: input %s reads %v %v %v, want %s Deliveries Webhook=%s Outcome=%s", name, id, metric["Namespace"], metric["MetricName"], dims(metric["Dimensions"]), emfNamespace, w.webhook, id)
				}
				if stat["Period"] != 3600 || stat["Stat"] != "Sum" {
					t.Errorf("%s: input %s: Period %v Stat %v, want 3600 Sum", name, id, stat["Period"], stat["Stat"])
				}
				inputs[id] = true
			}
			want := append(slices.Clone(w.refused), "accepted")
			got := make([]string, 0, len(inputs))
			for id := range inputs {
				got = append(got, id)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s: inputs %v, want %v", name, got, want)
			}
			// At least one refused and no accepted; every input FILLed with 0, because an hour
			// without such a delivery has no data point at all.
			var refused []string
			for _, o := range w.refused {
				refused = append(refused, "FILL("+o+", 0)")
			}
			wantExpr := "IF(" + strings.Join(refused, " + ") + " >= 1 AND FILL(accepted, 0) == 0, 1, 0)"
			if len(expr) != 1 || expr[0] != wantExpr {
				t.Errorf("%s: expressions %q, want [%q]", name, expr, wantExpr)
			}
		})
	}
}

// The access log line as API Gateway writes it, from the template's own Format.
func accessLogLine(t *testing.T, tmpl *localaws.Template, status, integrationLatency string) string {
	t.Helper()
	settings, _ := tmpl.Resources["HttpApi"].Properties["AccessLogSettings"].(map[string]any)
	format, _ := settings["Format"].(string)
	if !strings.Contains(format, `"status":"$context.status"`) {
		t.Fatalf("the access log Format has no status field: %s", format)
	}
	vars := map[string]string{"status": status, "integrationLatency": integrationLatency}
	line := regexp.MustCompile(`\$context\.[A-Za-z.]+`).ReplaceAllStringFunc(format, func(v string) string {
		if s, ok := vars[strings.TrimPrefix(v, "$context.")]; ok {
			return s
		}
		return "x"
	})
	if !json.Valid([]byte(line)) {
		t.Fatalf("access log line is not JSON: %s", line)
	}
	return line
}

// accessLogFilters are the metric filters on the API access log; TestEveryMetricFilterHasACase
// counts them as covered by TestEachFunctionAndTheAPIAlarmOnTheFirstThrottle.
var accessLogFilters = []string{"HttpApiThrottledMetricFilter"}

func TestEachFunctionAndTheAPIAlarmOnTheFirstThrottle(t *testing.T) {
	tmpl := loadTmpl(t)
	// Lambda Throttles per function.
	for _, w := range alarmWebhooks {
		name := w.function + "ThrottlesAlarm"
		a := tmpl.Resources[name].Properties
		if a["Namespace"] != "AWS/Lambda" || a["MetricName"] != "Throttles" || !sameDims(dims(a["Dimensions"]), "FunctionName", w.function) ||
			a["Threshold"] != 1 || a["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" {
			t.Errorf("%s: not an alarm on the first Lambda throttle of %s: %v", name, w.function, a)
		}
	}

	// HTTP APIs publish no throttle metric: the access log's 429s, counted by a filter.
	f, ok := tmpl.Resources["HttpApiThrottledMetricFilter"]
	if !ok || f.Type != "AWS::Logs::MetricFilter" || f.Properties["LogGroupName"] != "HttpApiAccessLogGroup" {
		t.Fatalf("no metric filter on HttpApiAccessLogGroup: %v", f)
	}
	raw, _ := f.Properties["FilterPattern"].(string)
	pattern, err := filterpattern.Parse(raw)
	if err != nil {
		t.Fatalf("FilterPattern %q: %v", raw, err)
	}
	for _, tc := range []struct {
		status, latency string
		counted         bool
	}{
		{"429", "-", true}, // refused by the stage's throttling, before the function
		{"200", "12", false},
		{"401", "8", false},
		{"503", "30", false},
		{"4290", "-", false},
	} {
		line := accessLogLine(t, tmpl, tc.status, tc.latency)
		if got := pattern.Match(line); got != tc.counted {
			t.Errorf("%s on %s: %t, want %t", raw, line, got, tc.counted)
		}
	}
	transforms, _ := f.Properties["MetricTransformations"].([]any)
	if len(transforms) != 1 {
		t.Fatalf("HttpApiThrottledMetricFilter: %d transformations", len(transforms))
	}
	mt := transforms[0].(map[string]any)
	a := tmpl.Resources["HttpApiThrottlesAlarm"].Properties
	if a["Namespace"] != mt["MetricNamespace"] || a["MetricName"] != mt["MetricName"] || mt["MetricValue"] != "1" ||
		a["Statistic"] != "Sum" || a["Threshold"] != 1 || a["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" {
		t.Errorf("HttpApiThrottlesAlarm does not alarm on the first counted 429: alarm %v, filter %v", a, mt)
	}
}

// Every alarm notifies AlarmTopicArn on ALARM and on OK, when it is given, and nobody otherwise.
func TestEveryAlarmNotifiesTheAlarmTopicOnAlarmAndOK(t *testing.T) {
	tmpl := loadTmpl(t)
	if c := tmpl.Node("Conditions", "HasAlarmTopic"); c == nil || !strings.Contains(flatten(tmpl.Conditions["HasAlarmTopic"]), "AlarmTopicArn") {
		t.Fatal("no condition HasAlarmTopic on AlarmTopicArn")
	}
	names := map[string]string{}
	n := 0
	for id, r := range tmpl.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		n++
		for _, k := range []string{"AlarmActions", "OKActions"} {
			node := tmpl.Node("Resources", id, "Properties", k)
			want := "- HasAlarmTopic\n- - AlarmTopicArn\n- AWS::NoValue\n"
			if node == nil || node.Tag != "!If" || flatten(r.Properties[k]) != want {
				t.Errorf("%s: %s is not !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]: %q", id, k, flatten(r.Properties[k]))
			}
		}
		name := fmt.Sprint(r.Properties["AlarmName"])
		if other, dup := names[name]; dup {
			t.Errorf("%s and %s share the AlarmName %s", id, other, name)
		}
		names[name] = id
	}
	if n < 20 {
		t.Errorf("%d alarms: the template lost some", n)
	}
}

var subPlaceholder = regexp.MustCompile(`\$\{([^}]*)\}`)

func TestTheDashboardChartsTheMetricContract(t *testing.T) {
	tmpl := loadTmpl(t)
	var id string
	for name, r := range tmpl.Resources {
		if r.Type == "AWS::CloudWatch::Dashboard" {
			if id != "" {
				t.Errorf("two dashboards: %s and %s", id, name)
			}
			id = name
		}
	}
	if id == "" {
		t.Fatal("no AWS::CloudWatch::Dashboard")
	}
	node := tmpl.Node("Resources", id, "Properties", "DashboardBody")
	if node == nil || node.Tag != "!Sub" {
		t.Fatalf("%s: DashboardBody is not a !Sub string", id)
	}
	body := node.Value
	// Every ${...} names a resource, a resource's attribute or a pseudo parameter (anything else
	// fails the deploy).
	for _, m := range subPlaceholder.FindAllStringSubmatch(body, -1) {
		res, _, _ := strings.Cut(m[1], ".")
		if _, ok := tmpl.Resources[res]; !ok && !strings.HasPrefix(m[1], "AWS::") {
			t.Errorf("%s: ${%s} is neither a resource, a resource's attribute nor a pseudo parameter", id, m[1])
		}
	}
	var dash struct {
		Widgets []struct {
			Type       string `json:"type"`
			Properties struct {
				Title   string  `json:"title"`
				Region  string  `json:"region"`
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(body), &dash); err != nil {
		t.Fatalf("%s: DashboardBody is not JSON: %v", id, err)
	}

	// What the dashboard charts, as "namespace metric dim=value ... stat".
	charted := map[string]bool{}
	for _, w := range dash.Widgets {
		if w.Type != "metric" || w.Properties.Region != "${AWS::Region}" {
			t.Errorf("widget %q: type %s region %s", w.Properties.Title, w.Type, w.Properties.Region)
		}
		for _, m := range w.Properties.Metrics {
			var parts []string
			stat := ""
			for _, v := range m {
				if opts, ok := v.(map[string]any); ok {
					stat, _ = opts["stat"].(string)
					continue
				}
				parts = append(parts, fmt.Sprint(v))
			}
			if len(parts) < 2 || len(parts)%2 != 0 {
				t.Errorf("widget %q: malformed metric %v", w.Properties.Title, m)
				continue
			}
			key := parts[0] + " " + parts[1]
			for i := 2; i+1 < len(parts); i += 2 {
				key += " " + parts[i] + "=" + parts[i+1]
			}
			charted[key+" "+stat] = true
			charted[key] = true
		}
	}
	var want []string
	for _, w := range alarmWebhooks {
		for _, o := range contractOutcomes {
			want = append(want, fmt.Sprintf("%s Deliveries Webhook=%s Outcome=%s", emfNamespace, w.webhook, o))
		}
		want = append(want,
			fmt.Sprintf("%s Latency Webhook=%s p50", emfNamespace, w.webhook),
			fmt.Sprintf("%s Latency Webhook=%s p99", emfNamespace, w.webhook),
			fmt.Sprintf("%s EventsPublished Webhook=%s", emfNamespace, w.webhook),
			fmt.Sprintf("%s PublishRetries Webhook=%s", emfNamespace, w.webhook),
			fmt.Sprintf("AWS/Lambda Errors FunctionName=${%s}", w.function),
			fmt.Sprintf("AWS/Lambda Throttles FunctionName=${%s}", w.function),
			// Deferred deliveries: the re-drive's backlog and age.
			fmt.Sprintf("%s DeferredAge Webhook=%s", emfNamespace, w.webhook),
			fmt.Sprintf("AWS/SQS ApproximateNumberOfMessagesVisible QueueName=${%s.QueueName}", w.queue),
			fmt.Sprintf("AWS/SQS ApproximateNumberOfMessagesNotVisible QueueName=${%s.QueueName}", w.queue),
			fmt.Sprintf("AWS/SQS ApproximateAgeOfOldestMessage QueueName=${%s.QueueName}", w.queue),
		)
	}
	want = append(want,
		emfNamespace+" OtpsStored Webhook=shipping", emfNamespace+" OtpsStale Webhook=shipping",
		"AWS/ApiGateway 5xx ApiId=${HttpApi}",
		"AmazonWebhookGateway/${AWS::StackName} ApiThrottledRequests",
		"AmazonWebhookGateway/${AWS::StackName} ShippingDeliveryFailures",
		"AmazonWebhookGateway/${AWS::StackName} ApsDeliveryFailures",
		"AmazonWebhookGateway/${AWS::StackName} AmazonPayIpnDeliveryFailures",
		"AWS/SQS ApproximateNumberOfMessagesVisible QueueName=${RedriveDeadLetterQueue.QueueName}",
	)
	for _, k := range want {
		if !charted[k] {
			t.Errorf("the dashboard does not chart %s", k)
		}
	}

	// Log metrics it charts exist: some metric filter of the template writes them.
	written := map[string]bool{}
	for _, r := range tmpl.Resources {
		if r.Type != "AWS::Logs::MetricFilter" {
			continue
		}
		ts, _ := r.Properties["MetricTransformations"].([]any)
		for _, tr := range ts {
			m := tr.(map[string]any)
			written[fmt.Sprint(m["MetricNamespace"])+" "+fmt.Sprint(m["MetricName"])] = true
		}
	}
	for k := range charted {
		if strings.HasPrefix(k, "AmazonWebhookGateway/") && !strings.Contains(k, "=") && !strings.HasSuffix(k, " ") && !written[k] {
			t.Errorf("the dashboard charts %s, which no metric filter writes", k)
		}
	}
}

// The dashboard's address is an output.
func TestTheDashboardURLIsAStackOutput(t *testing.T) {
	tmpl := loadTmpl(t)
	o, ok := tmpl.Outputs["DashboardUrl"]
	if !ok || o.Condition != "" || !strings.Contains(fmt.Sprint(o.Value), "#dashboards:name=${GatewayDashboard}") {
		t.Errorf("DashboardUrl output missing or not naming GatewayDashboard: %+v", o)
	}
}
