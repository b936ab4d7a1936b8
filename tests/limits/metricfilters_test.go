package limits

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/safelist"
	"github.com/amazon-webhook-gateway/gateway/tests/filterpattern"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// Every metric filter of template.yaml counts a log line the code really
// writes. Each row runs the code path that must be counted (a delivery through the functions as
// harness wires them, on moto; the safelisting function's handler with the production logger) and
// a neighbouring one that must not be (a successful delivery of the same webhook, a genuine
// ResponseURL), and the filter's own FilterPattern, read from the template, is evaluated on the
// lines each wrote as CloudWatch Logs would (tests/filterpattern).
type metricFilterCase struct {
	filter string // logical ID of the AWS::Logs::MetricFilter
	// function is the function whose log group the filter reads.
	function string
	// counted and neighbour run one event each and return the log lines it caused.
	counted, neighbour func(t *testing.T, g *harness.Gateway) string
}

var metricFilterCases = []metricFilterCase{
	{"ShippingOtpAuthFailuresMetricFilter", "ShippingOtpFunction", deliver(401, harness.ShippingWrongKey), deliver(200, harness.ShippingOK)},
	{"ShippingOtpDeliveryFailuresMetricFilter", "ShippingOtpFunction", failingPublish(deliver(503, harness.ShippingOK)), deliver(200, harness.ShippingOK)},
	{"ShippingOtpQuarantineMetricFilter", "ShippingOtpFunction", deliver(202, harness.ShippingWithoutTrackingID), deliver(200, harness.ShippingOK)},
	{"ApsAuthFailuresMetricFilter", "ApsFunction", deliver(401, harness.APSWrongSignature), deliver(200, harness.APSOK)},
	{"ApsDeliveryFailuresMetricFilter", "ApsFunction", failingPublish(deliver(503, harness.APSOK)), deliver(200, harness.APSOK)},
	{"ApsQuarantineMetricFilter", "ApsFunction", deliver(202, harness.APSInvalidStatus), deliver(200, harness.APSOK)},
	{"AmazonPayIpnAuthFailuresMetricFilter", "AmazonPayIpnFunction", deliver(401, harness.IPNChangedAfterSigning), deliver(200, harness.IPNOK)},
	{"AmazonPayIpnDeliveryFailuresMetricFilter", "AmazonPayIpnFunction", failingPublish(deliver(503, harness.IPNOK)), deliver(200, harness.IPNOK)},
	{"AmazonPayIpnQuarantineMetricFilter", "AmazonPayIpnFunction", deliver(202, harness.IPNConfirmationToAnotherHost), deliver(200, harness.IPNOK)},
	{"AmazonPaySafelistResponseUrlMetricFilter", "AmazonPaySafelistFunction", safelistEvent("https://attacker.example/collect?X-Amz-Signature=sig"), safelistEvent(genuineResponseURL)},
}

func TestEachMetricFilterCountsTheRealLogLine(t *testing.T) {
	tmpl, err := localaws.LoadStack()
	if err != nil {
		t.Fatal(err)
	}
	defaultLevel := templateLogLevel(t)
	g := harness.Start(t, local)
	for _, tc := range metricFilterCases {
		t.Run(tc.filter, func(t *testing.T) {
			res, ok := tmpl.Resources[tc.filter]
			if !ok || res.Type != "AWS::Logs::MetricFilter" {
				t.Fatalf("template.yaml has no AWS::Logs::MetricFilter %s", tc.filter)
			}
			// The row's code path is the function whose log group the filter reads.
			if fn := functionLoggingTo(tmpl, res.Properties["LogGroupName"]); fn != tc.function {
				t.Fatalf("the filter reads %v, the log group of %q; the row runs %s", res.Properties["LogGroupName"], fn, tc.function)
			}
			raw, _ := res.Properties["FilterPattern"].(string)
			pattern, err := filterpattern.Parse(raw)
			if err != nil {
				t.Fatalf("FilterPattern %q: %v", raw, err)
			}

			matched := matchingLines(pattern, tc.counted(t, g))
			// One event, one count: a line written twice would double the metric.
			if len(matched) != 1 {
				t.Fatalf("%s matched %d lines of the event it counts, want 1: %q", raw, len(matched), matched)
			}
			line := matched[0]
			if n := matchingLines(pattern, tc.neighbour(t, g)); len(n) != 0 {
				t.Errorf("%s also matches a neighbouring event's lines: %q", raw, n)
			}

			// The functions run at the template's default LogLevel: the line must get through it.
			var rec map[string]any
			_ = json.Unmarshal([]byte(line), &rec)
			var level slog.Level
			if s, _ := rec["level"].(string); level.UnmarshalText([]byte(s)) != nil || level < defaultLevel {
				t.Errorf("the counted line's level %v is below the default LogLevel %v: %s", rec["level"], defaultLevel, line)
			}

			// The same record as the functions' logger writes it matches; as aws-lambda-go's
			// lambdacontext logger would write it (msg renamed message; text unless Lambda's log
			// format is JSON) it does not.
			for _, lg := range loggers {
				got := pattern.Match(relog(t, lg.new, rec))
				if got != lg.matches {
					t.Errorf("%s on the line as %s writes it: %t, want %t", raw, lg.name, got, lg.matches)
				}
			}
		})
	}
}

// A metric filter added to the template without a row above fails here.
func TestEveryMetricFilterHasACase(t *testing.T) {
	tmpl, err := localaws.LoadStack()
	if err != nil {
		t.Fatal(err)
	}
	var inTemplate, inTable []string
	for name, r := range tmpl.Resources {
		if r.Type == "AWS::Logs::MetricFilter" {
			inTemplate = append(inTemplate, name)
		}
	}
	for _, tc := range metricFilterCases {
		inTable = append(inTable, tc.filter)
	}
	// The access log's filters have no function to run: TestEachFunctionAndTheAPIAlarmOnTheFirstThrottle covers them.
	inTable = append(inTable, accessLogFilters...)
	sort.Strings(inTemplate)
	sort.Strings(inTable)
	if len(inTemplate) == 0 || !slices.Equal(inTemplate, inTable) {
		t.Errorf("metric filters in template.yaml %q; with a case in metricFilterCases %q: want the same", inTemplate, inTable)
	}
}

// The functions keep their own log/slog JSON logger (envconfig.Logger): slog's keys (time, level,
// msg), its level names, LOG_LEVEL, and JSON whatever Lambda's own logging variables say. Every
// metric filter reads $.msg.
func TestTheFunctionsLoggerWritesSlogJSON(t *testing.T) {
	t.Setenv("AWS_LAMBDA_LOG_FORMAT", "Text")
	t.Setenv("AWS_LAMBDA_LOG_LEVEL", "ERROR")
	tests := []struct {
		logLevel string
		// written: the levels that reach the log.
		written []string
	}{
		{"", []string{"INFO", "WARN", "ERROR"}},
		{"DEBUG", []string{"DEBUG", "INFO", "WARN", "ERROR"}},
		{"INFO", []string{"INFO", "WARN", "ERROR"}},
		{"WARN", []string{"WARN", "ERROR"}},
		{"ERROR", []string{"ERROR"}},
		{"verbose", []string{"INFO", "WARN", "ERROR"}}, // unknown: INFO
	}
	for _, tt := range tests {
		t.Run("LOG_LEVEL="+tt.logLevel, func(t *testing.T) {
			t.Setenv("LOG_LEVEL", tt.logLevel)
			out := captureStdout(t, func() {
				log := envconfig.Logger()
				ctx := context.Background()
				for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
					log.Log(ctx, l, "metric line", "n", 1)
				}
			})
			var levels []string
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if line == "" {
					continue
				}
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("not a JSON line: %q", line)
				}
				if rec["msg"] != "metric line" || rec["time"] == nil || rec["message"] != nil || rec["timestamp"] != nil {
					t.Errorf("keys are not slog's (time, level, msg): %s", line)
				}
				levels = append(levels, fmt.Sprint(rec["level"]))
			}
			if !slices.Equal(levels, tt.written) {
				t.Errorf("levels written %q, want %q", levels, tt.written)
			}
		})
	}
}

// loggers are the ways the functions could write a record: their own, and aws-lambda-go's
// lambdacontext logger, whose keys (message, not msg) and text format no filter would match.
var loggers = []struct {
	name    string
	new     func() *slog.Logger
	matches bool
}{
	{"envconfig.Logger (the functions' logger)", envconfig.Logger, true},
	{"lambdacontext.NewLogger (Lambda's default text format)", func() *slog.Logger { return lambdacontext.NewLogger() }, false},
	{"lambdacontext's handler with AWS_LAMBDA_LOG_FORMAT=JSON", func() *slog.Logger {
		// What NewLogHandler builds for JSON; it reads the variable once, at package init.
		return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: lambdacontext.ReplaceAttr}))
	}, false},
}

// relog writes rec (a decoded slog JSON line) again with a logger built by newLogger, at the
// template's default LOG_LEVEL, and returns the line it wrote.
func relog(t *testing.T, newLogger func() *slog.Logger, rec map[string]any) string {
	t.Helper()
	var level slog.Level
	_ = level.UnmarshalText([]byte(fmt.Sprint(rec["level"])))
	msg, _ := rec["msg"].(string)
	var attrs []any
	for k, v := range rec {
		if k != slog.TimeKey && k != slog.LevelKey && k != slog.MessageKey {
			attrs = append(attrs, slog.Any(k, v))
		}
	}
	t.Setenv("LOG_LEVEL", templateLogLevel(t).String())
	out := strings.TrimSpace(captureStdout(t, func() { newLogger().Log(context.Background(), level, msg, attrs...) }))
	if out == "" || strings.Contains(out, "\n") {
		t.Fatalf("want one line, got %q", out)
	}
	return out
}

// captureStdout runs fn with os.Stdout (where the functions log) sent to a file and returns what
// fn wrote. fn must not call t's methods.
func captureStdout(t *testing.T, fn func()) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stdout
	os.Stdout = f
	func() {
		defer func() { os.Stdout = saved }()
		fn()
	}()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// templateLogLevel is the LogLevel parameter's default, the level the functions log at.
func templateLogLevel(t *testing.T) slog.Level {
	t.Helper()
	tmpl, err := localaws.LoadStack()
	if err != nil {
		t.Fatal(err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(fmt.Sprint(tmpl.Parameters["LogLevel"].Default))); err != nil {
		t.Fatalf("LogLevel default: %v", err)
	}
	return level
}

// functionLoggingTo names the function whose LoggingConfig.LogGroup is logGroup (the decoder
// reads !Ref X as "X").
func functionLoggingTo(tmpl *localaws.Template, logGroup any) string {
	for name, r := range tmpl.Resources {
		lc, _ := r.Properties["LoggingConfig"].(map[string]any)
		if r.Type == "AWS::Serverless::Function" && lc != nil && lc["LogGroup"] == logGroup {
			return name
		}
	}
	return ""
}

func matchingLines(p *filterpattern.Pattern, logs string) []string {
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		if p.Match(line) {
			out = append(out, line)
		}
	}
	return out
}

// deliver sends the request req builds through its function and returns the lines it logged,
// after checking the answer's status.
func deliver(status int, req func(g *harness.Gateway) events.APIGatewayV2HTTPRequest) func(*testing.T, *harness.Gateway) string {
	return func(t *testing.T, g *harness.Gateway) string {
		t.Helper()
		r := req(g)
		before := len(g.Logs.String())
		resp := g.Deliver(r)
		logs := g.Logs.String()[before:]
		if resp.StatusCode != status {
			t.Fatalf("answered %d %s, want %d; logged:\n%s", resp.StatusCode, resp.Body, status, logs)
		}
		return logs
	}
}

// failingPublish runs run while EventBridge fails every PutEvents entry, so that the delivery
// fails after it was authenticated and parsed.
func failingPublish(run func(*testing.T, *harness.Gateway) string) func(*testing.T, *harness.Gateway) string {
	return func(t *testing.T, g *harness.Gateway) string {
		local.Faults.Set(func(int, string, string) bool { return true })
		defer local.Faults.Set(nil)
		return run(t, g)
	}
}

const genuineResponseURL = "https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/arn%3Aaws%3Acloudformation%3Aeu-west-1%3A123456789012%3Astack/gw/1%7CAmazonPayIpnSafelist%7Cr?X-Amz-Signature=sig"

// safelistEvent sends a Delete event with responseURL to the safelisting function's handler as
// functions/amazon-pay-safelist wires it (safelist.LambdaHandler around the resource handler,
// envconfig.Logger, the region Lambda sets), and returns what it logged. CloudFormation's answer
// goes to a stand-in for S3.
func safelistEvent(responseURL string) func(*testing.T, *harness.Gateway) string {
	return func(t *testing.T, _ *harness.Gateway) string {
		t.Helper()
		answers := &cfnAnswers{}
		saved := http.DefaultClient.Transport // cfn.LambdaWrap answers with http.DefaultClient
		http.DefaultClient.Transport = answers
		defer func() { http.DefaultClient.Transport = saved }()

		var err error
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: harness.Unique("req")})
		logs := captureStdout(t, func() {
			log := envconfig.Logger()
			h := safelist.LambdaHandler(log, "eu-west-1", safelist.ResourceHandler(log, safelist.Target{Endpoint: "https://abc123.execute-api.eu-west-1.amazonaws.com/amazon-pay/ipn"}, nil))
			_, err = h(ctx, cfn.Event{RequestType: cfn.RequestDelete, RequestID: harness.Unique("cfn"), PhysicalResourceID: "p",
				ResponseURL: responseURL, StackID: "arn:aws:cloudformation:eu-west-1:123456789012:stack/gw/1", LogicalResourceID: "AmazonPayIpnSafelist"})
		})
		if err != nil {
			t.Fatal(err)
		}
		if answers.n.Load() != 1 {
			t.Fatalf("CloudFormation got %d answers, want 1; logged:\n%s", answers.n.Load(), logs)
		}
		return logs
	}
}

// cfnAnswers stands in for S3 receiving CloudFormation custom resource answers.
type cfnAnswers struct{ n atomic.Int64 }

func (a *cfnAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	a.n.Add(1)
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}
