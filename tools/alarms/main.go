// Command alarms writes template-alarms.yaml, the child stack of template.yaml (resource Alarms)
// holding the gateway's alarms, log metric filters and dashboard, from one description per
// webhook, so the per-function blocks are never copied by hand. Run it after editing this file:
//
//	go run ./tools/alarms          # rewrite template-alarms.yaml (make generate runs it)
//	go run ./tools/alarms -check   # exit 1 when template-alarms.yaml differs from the output
//
// The metrics it alarms on and charts are the contract of shared EMF (namespace
// AmazonWebhookGateway, Deliveries by Webhook and Outcome, ...) and the log metrics of the
// per-stack namespace AmazonWebhookGateway/<stack>.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/metrics"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
)

// File is the child template this command writes, beside template.yaml.
const File = "template-alarms.yaml"

// emfNamespace is the namespace of the EMF metrics the functions write (shared/metrics); unlike
// the log metrics it carries no stack name.
const emfNamespace = metrics.Namespace

// outcomes are the contract's Outcome values, in the dashboard's order.
var outcomes = func() []string {
	out := make([]string, len(metrics.Outcomes))
	for i, o := range metrics.Outcomes {
		out[i] = string(o)
	}
	return out
}()

// webhook is one webhook function and the names its alarms use.
type webhook struct {
	Webhook  string // the Webhook dimension value of its EMF metrics
	Function string // logical ID of its AWS::Serverless::Function
	LogGroup string // logical ID of its log group
	Prefix   string // logical-ID prefix of its filters and alarms
	Slug     string // alarm-name suffix prefix
	Metric   string // prefix of its log metric names (ShippingAuthenticationFailures, ...)
	Label    string // "The Shipping OTP function"
	Sender   string // who retries: "Amazon Shipping"
	Reserved string // its reserved-concurrency parameter
	Hours    string // its no-delivery parameter
	HoursOn  string // the condition that creates its no-delivery alarm
	Queue    string // logical ID of its re-drive queue (deferred deliveries)
	Redrive  string // its re-drive pause switch parameter
	// Rejects are the outcomes that mean "the credentials or the configuration refused a real
	// sender" for the mismatch alarm.
	Rejects []string
	// AuthHint says what an authentication failure of this webhook usually means.
	AuthHint string
	// Secrets names the secrets its authentication reads ("" for none): a secret it cannot read
	// makes it answer 503 counted as auth_unavailable, which has its own alarm and which the 5xx
	// alarm leaves out.
	Secrets string
	// MismatchHint says what to check when the mismatch alarm fires.
	MismatchHint string
}

var webhooks = []webhook{
	{
		Webhook: "shipping", Function: "ShippingOtpFunction", LogGroup: "ShippingOtpFunctionLogGroup",
		Prefix: "ShippingOtp", Slug: "shipping-otp", Metric: "Shipping", Label: "The Shipping OTP function",
		Sender: "Amazon Shipping", Reserved: "ShippingReservedConcurrency",
		Hours: "ShippingNoDeliveryAlarmHours", HoursOn: "HasShippingNoDeliveryAlarm",
		Queue: "ShippingRedriveQueue", Redrive: "ShippingRedriveEnabled",
		Rejects: []string{"unauthorized"},
		Secrets: `its credentials secret (ShippingAuthSecretArn, or ShippingAuthSecret) or an
account's (ShippingAccountSecretArns)`,
		AuthHint: `likely a credential rotated in ShippingAuthSecret (or the Cognito client) that Amazon
Shipping does not use yet, a mismatched ShippingAuthModes/header/query name, an OAuth
issuer/audience/scope mismatch, or someone probing the URL.`,
		MismatchHint: `A 401 is final for Amazon Shipping: each OTP it sent is lost. Compare the
credential Amazon Shipping uses with ShippingAuthSecret (ShippingAuthModes, header or query
name, OAuth issuer/audience/scope), then ask Amazon to resend.`,
	},
	{
		Webhook: "aps", Function: "ApsFunction", LogGroup: "ApsFunctionLogGroup",
		Prefix: "Aps", Slug: "aps", Metric: "Aps", Label: "The APS function",
		Sender: "APS", Reserved: "ApsReservedConcurrency",
		Hours: "ApsNoDeliveryAlarmHours", HoursOn: "HasApsNoDeliveryAlarm",
		Queue: "ApsRedriveQueue", Redrive: "ApsRedriveEnabled",
		Rejects: []string{"unauthorized"},
		Secrets: `its merchant secret (ApsMerchantSecretArn, or ApsMerchantSecret)`,
		AuthHint: `likely an access code with no phrase set in ApsMerchantSecret (a new integration such
as Apple Pay), a SHA Response Phrase or SHA Type differing from the APS portal, an unfinished phrase
rotation, or someone probing the URLs.`,
		MismatchHint: `A 401 naming access_code: add that integration's phrase set to ApsMerchantSecret.
Otherwise compare the SHA Response Phrase and SHA Type of the set the log names (phraseSet) in the APS
portal with ApsMerchantSecret (algorithm, else ApsSignatureAlgorithm).`,
	},
	{
		Webhook: "amazon-pay", Function: "AmazonPayIpnFunction", LogGroup: "AmazonPayIpnFunctionLogGroup",
		Prefix: "AmazonPayIpn", Slug: "amazon-pay-ipn", Metric: "AmazonPayIpn", Label: "The Amazon Pay IPN function",
		Sender: "Amazon Pay (SNS)", Reserved: "AmazonPayIpnReservedConcurrency",
		Hours: "AmazonPayIpnNoDeliveryAlarmHours", HoursOn: "HasAmazonPayIpnNoDeliveryAlarm",
		Queue: "AmazonPayRedriveQueue", Redrive: "AmazonPayRedriveEnabled",
		// forbidden = a message from a topic missing from AmazonPayIpnTopicArns: a configuration
		// mismatch as silent as a wrong credential.
		Rejects: []string{"unauthorized", "forbidden"},
		AuthHint: `SNS signatures that do not verify (forged or altered messages, someone probing the
URL). Messages from a topic missing from AmazonPayIpnTopicArns are logged as "topic not
allowed" instead and count in the credential-mismatch alarm (outcome forbidden).`,
		MismatchHint: `forbidden: the topic is missing from AmazonPayIpnTopicArns (search the log
group for "topic not allowed"); unauthorized: SNS signatures that do not verify.`,
	},
}

// lambdaFunction is a function whose Lambda errors and throttles each page at the first.
type lambdaFunction struct {
	Function, Slug, Label string
	// Answer is what the caller saw: "Amazon Shipping gets a 5xx and retries".
	Answer string
	// ThrottleHint is what ConcurrentExecutions is to be checked against.
	ThrottleHint string
	Actions      string
}

// Lambda is the webhook's function, for its errors and throttles alarms.
func (w webhook) Lambda() lambdaFunction {
	return lambdaFunction{Function: w.Function, Slug: w.Slug, Label: w.Label, Actions: actions,
		Answer:       w.Sender + " gets a 5xx and retries",
		ThrottleHint: w.Reserved + " (if set) and the account's concurrency quota, and whether another function is using up the shared pool"}
}

// lookup is the Shipping lookup function: no webhook (no sender retries, no no-delivery or
// credential-mismatch sense), but an application sees each of its crashes and throttles as a
// failed lookup.
var lookup = lambdaFunction{Function: "ShippingLookupFunction", Slug: "shipping-lookup", Label: "The Shipping lookup function",
	Actions: actions, Answer: "the application got a 5xx",
	ThrottleHint: "the account's concurrency quota and whether the lookups crowd out the webhook functions (their reserved concurrency parameters)"}

// MismatchExpression is the metric-math expression of the credential-mismatch alarm: 1 for a
// window with at least one refused delivery and no accepted one. FILL: a webhook that accepted
// nothing publishes no "accepted" data point at all.
func (w webhook) MismatchExpression() string {
	var refused []string
	for _, o := range w.Rejects {
		refused = append(refused, "FILL("+o+", 0)")
	}
	return fmt.Sprintf("IF(%s >= 1 AND FILL(accepted, 0) == 0, 1, 0)", strings.Join(refused, " + "))
}

// AuthID is the metric-math id of the webhook's auth_unavailable deliveries in the 5xx alarm.
func (w webhook) AuthID() string { return "auth" + w.Prefix }

// api5xxExpression is the 5xx alarm's metric math: the HTTP API's 5xx answers (api) less the
// webhooks' auth_unavailable 503s. FILL: a period without either has no data point.
func api5xxExpression() string {
	terms := []string{"FILL(api, 0)"}
	for _, w := range webhooks {
		if w.Secrets != "" {
			terms = append(terms, "FILL("+w.AuthID()+", 0)")
		}
	}
	return strings.Join(terms, " - ")
}

// ageExpression is the deferred-age alarm's metric math, in minutes: the older of the re-drive
// queue's oldest message (m1) and the oldest re-driven delivery the function reported (m2; FILL:
// a webhook re-driving nothing reports nothing).
const ageExpression = "MAX([m1, FILL(m2, 0)]) / 60"

// wrap re-indents a prose hint under a folded scalar.
// metricFilter is a log metric filter counting each line that matches pattern as one metric, in
// the stack's namespace of log-derived metrics.
func metricFilter(name, logGroup, pattern, metric string) string {
	return fmt.Sprintf(`  %s:
    Type: AWS::Logs::MetricFilter
    Properties:
      LogGroupName: !Ref %s
      FilterPattern: '%s'
      MetricTransformations:
        - MetricNamespace: !Sub AmazonWebhookGateway/${GatewayStackName}
          MetricName: %s
          MetricValue: "1"
          Unit: Count`, name, logGroup, pattern, metric)
}

func wrap(indent int, s string) string {
	return strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", indent))
}

var section = template.Must(template.New("section").Funcs(template.FuncMap{
	"wrap": wrap, "join": strings.Join, "lower": lowerFirst, "filter": metricFilter, "deliveries": deliveriesStat,
}).Parse(`
  # ---------------------------------------------------------------------------
  # Operations: alarms (notify AlarmTopicArn, if given, on ALARM and on OK)
  # ---------------------------------------------------------------------------
  # TreatMissingData notBreaching everywhere except the no-delivery alarms: no
  # traffic (or no matching log line) is the normal state of a webhook.
  # Log-derived metrics go to a per-stack namespace so that two stacks in one
  # account (e.g. test and production) never add up each other's failures;
  # metric filter dimensions can only carry values read from the log line, so
  # one metric name per function instead of a Function dimension. The EMF
  # metrics (Deliveries, Latency, ...) are in the namespace {{.Namespace}}.

  # HTTP API metrics are published per ApiId (all stages) and per ApiId+Stage;
  # this API has only the $default stage, so ApiId alone is enough. Left out:
  # the 503s of a secret authentication could not read (EMF Outcome
  # auth_unavailable), which page on how long they last (AuthUnavailable
  # alarms), not on how many. The EMF namespace has no stack name: another
  # stack's in the same account and region are subtracted too.
  HttpApi5xxAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub ${GatewayStackName}-alarm-api-5xx
      AlarmDescription: >-
        The webhook HTTP API returned 5 or more 5xx responses in 5 minutes,
        not counting the 503s of a secret that could not be read (the
        auth-unavailable alarms).
        Amazon retries these, but deliveries are late or lost if it persists.
        Check the function Errors/Throttles/Duration and DeliveryFailures
        alarms of this stack, the function log groups (level ERROR) and the API
        access log (status, integrationLatency; 503 = EventBridge or DynamoDB
        unavailable, 500/502 = function crashed or throttled, 504 = function
        exceeded the integration timeout).
      Metrics:
        - Id: api
          ReturnData: false
          MetricStat:
            Metric:
              Namespace: AWS/ApiGateway
              MetricName: 5xx
              Dimensions:
                - Name: ApiId
                  Value: !Ref HttpApi
            Period: 300
            Stat: Sum
{{- range .Webhooks}}{{if .Secrets}}
        - Id: {{.AuthID}}
          ReturnData: false
{{deliveries $.Namespace .Webhook $.AuthUnavailable 300}}
{{- end}}{{end}}
        - Id: errors
          Label: 5xx answers, auth_unavailable left out
          ReturnData: true
          Expression: {{.Api5xxExpression}}
      EvaluationPeriods: 1
      Threshold: 5
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
{{.Actions}}

  # Authentication failures (401/403), invalid or oversized bodies (400/413)
  # and API throttling (429) all count as 4xx.
  HttpApi4xxAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub ${GatewayStackName}-alarm-api-4xx
      AlarmDescription: >-
        The webhook HTTP API returned 50 or more 4xx responses in 5 minutes.
        Check the API access log (status, routeKey, sourceIp, userAgent): 401
        or 403 = rejected credentials, signature or SNS topic (a rotated key or
        phrase not yet configured on Amazon's side, a missing
        AmazonPayIpnTopicArns entry, or someone probing the URLs; see the
        AuthFailures alarms), 400/413 = malformed or oversized bodies, 429 =
        ApiThrottlingRateLimit/ApiThrottlingBurstLimit too low for the traffic.
      Namespace: AWS/ApiGateway
      MetricName: 4xx
      Dimensions:
        - Name: ApiId
          Value: !Ref HttpApi
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 50
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
{{.Actions}}

  # HTTP APIs publish no throttle metric: count the access log's 429s. They
  # include the functions' own 429 in_progress answers (a concurrent copy of
  # a delivery), which are rare; the stage limits cause the rest.
{{filter "HttpApiThrottledMetricFilter" "HttpApiAccessLogGroup" "{ $.status = \"429\" }" "ApiThrottledRequests"}}

  HttpApiThrottlesAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub ${GatewayStackName}-alarm-api-throttles
      AlarmDescription: >-
        The webhook HTTP API answered 429 at least once in 5 minutes; the
        sender retries, but deliveries are late. Check the access log's 429
        lines (routeKey, sourceIp): a burst from one sender means
        ApiThrottlingRateLimit/ApiThrottlingBurstLimit are too low for its
        traffic; a few lines with an integrationLatency are the functions' own
        429 in_progress answers (Deliveries, Outcome unavailable, Reason
        in_progress) and need no action.
      Namespace: !Sub AmazonWebhookGateway/${GatewayStackName}
      MetricName: ApiThrottledRequests
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
{{.Actions}}
{{range .Webhooks}}{{$w := .}}
  # --- {{.Rule}}
{{template "lambda" .Lambda}}

  # The senders give up after 5 s and the function times out at 4 s: a p99
  # of 3 s sustained for 15 minutes means timeouts are close.
  {{.Function}}DurationAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub ${GatewayStackName}-alarm-{{.Slug}}-duration-p99
      AlarmDescription: >-
        {{.Label}}'s p99 duration stayed at or above 3 s for 15 minutes
        (timeout 4 s, sender deadline 5 s). Check DynamoDB and EventBridge
        latency and throttling, Secrets Manager/JWKS fetches and cold starts
        (Init Duration in the REPORT log lines).
      Namespace: AWS/Lambda
      MetricName: Duration
      Dimensions:
        - Name: FunctionName
          Value: !Ref {{.Function}}
      ExtendedStatistic: p99
      Period: 300
      EvaluationPeriods: 3
      DatapointsToAlarm: 3
      Threshold: 3000
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
{{$.Actions}}

  # The function logs one slog JSON line per rejected request.
{{filter (print .Prefix "AuthFailuresMetricFilter") .LogGroup "{ $.msg = \"authentication failed\" }" (print .Metric "AuthenticationFailures")}}

  {{.Prefix}}AuthFailuresAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub ${GatewayStackName}-alarm-{{.Slug}}-auth-failures
      AlarmDescription: >-
        {{.Label}} rejected 20 or more requests as unauthenticated in 5
        minutes. Search its log group for "authentication failed":
        {{wrap 8 .AuthHint}}
      Namespace: !Sub AmazonWebhookGateway/${GatewayStackName}
      MetricName: {{.Metric}}AuthenticationFailures
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 20
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
{{$.Actions}}

  # A low-volume mismatch never reaches 20 in 5 minutes: an hour with a
  # refused delivery and not one accepted is enough.
  {{.Prefix}}CredentialMismatchAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub ${GatewayStackName}-alarm-{{.Slug}}-credential-mismatch
      AlarmDescription: >-
        {{.Label}} refused at least one delivery ({{join .Rejects " or "}}) in
        an hour without accepting any: the credentials or configuration on
        Amazon's side and in this stack likely disagree.
        {{wrap 8 .MismatchHint}}
        A prober with no real traffic in the same hour trips it too: check
        sourceIp and userAgent of the access log's 401/403 lines.
      Metrics:
{{- range .Rejects}}
        - Id: {{.}}
          ReturnData: false
{{deliveries $.Namespace $w.Webhook . 3600}}
{{- end}}
        - Id: accepted
          ReturnData: false
{{deliveries $.Namespace .Webhook "accepted" 3600}}
        - Id: mismatch
          Label: refused and none accepted
          ReturnData: true
          Expression: {{.MismatchExpression}}
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
{{$.Actions}}
{{- if .Secrets}}

  # A secret its authentication cannot read: 503 (auth_unavailable, left out
  # of the 5xx alarm), the secret re-read at most every {{$.Floor}}, so a blip
  # heals by itself. Paged on how long it lasts, not on how many: 3 of the
  # last 6 five-minute periods with one. A blip of up to 5 minutes touches at
  # most 2; 15 minutes of deliveries failing touch 3, and so do deliveries
  # 10 minutes apart failing for half an hour.
  {{.Prefix}}AuthUnavailableAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub ${GatewayStackName}-alarm-{{.Slug}}-auth-unavailable
      AlarmDescription: >-
        {{.Label}} could not read {{wrap 8 .Secrets}} and answered 503
        (Deliveries, Outcome auth_unavailable) in 3 of the last 6 five-minute
        periods. {{.Sender}} retries, but these deliveries wait until the secret
        can be read. Search its log group for "secret could not be read"
        (ERROR, one per secret every {{$.Floor}}): it names the secret and the
        error. AccessDeniedException = the function role may not
        secretsmanager:GetSecretValue it, or the secret's KMS key policy does
        not allow it kms:Decrypt; ResourceNotFoundException or marked for
        deletion = a wrong ARN or a deleted secret (restore it); a field named =
        a malformed value (put a corrected version). The function re-reads the
        secret at most every {{$.Floor}}: once fixed, deliveries succeed
        within {{$.Floor}}, without a redeploy.
      Namespace: {{$.Namespace}}
      MetricName: Deliveries
      Dimensions:
        - Name: Webhook
          Value: {{.Webhook}}
        - Name: Outcome
          Value: {{$.AuthUnavailable}}
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 6
      DatapointsToAlarm: 3
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
{{$.Actions}}
{{- end}}

  # Off (0) by default: a quiet shop can legitimately receive nothing for
  # hours. N hourly periods with missing data breaching = no accepted
  # delivery for N hours (CloudFormation cannot compute Period 3600 x N).
  {{.Prefix}}NoDeliveryAlarm:
    Type: AWS::CloudWatch::Alarm
    Condition: {{.HoursOn}}
    Properties:
      AlarmName: !Sub ${GatewayStackName}-alarm-{{.Slug}}-no-delivery
      AlarmDescription: !Sub >-
        {{.Label}} accepted no delivery for ${ {{- .Hours -}} } hours
        ({{.Hours}}). Either {{.Sender}} sent nothing (check its side: webhook
        registration, URL, account status) or every delivery was refused or
        failed: check the credential-mismatch, auth-failures, errors and
        throttles alarms and the Deliveries metric by Outcome on the
        dashboard.
      Namespace: {{$.Namespace}}
      MetricName: Deliveries
      Dimensions:
        - Name: Webhook
          Value: {{.Webhook}}
        - Name: Outcome
          Value: accepted
      Statistic: Sum
      Period: 3600
      EvaluationPeriods: !Ref {{.Hours}}
      DatapointsToAlarm: !Ref {{.Hours}}
      Threshold: 1
      ComparisonOperator: LessThanThreshold
      TreatMissingData: breaching
{{$.Actions}}

  # "delivery failed" = the event could not be stored/published and the
  # function answered 503 so that the sender retries.
{{filter (print .Prefix "DeliveryFailuresMetricFilter") .LogGroup "{ $.msg = \"delivery failed\" }" (print .Metric "DeliveryFailures")}}

  {{.Prefix}}DeliveryFailuresAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub ${GatewayStackName}-alarm-{{.Slug}}-delivery-failures
      AlarmDescription: >-
        {{.Label}} answered 503 ("delivery failed") at least once in 5
        minutes; {{.Sender}} retries, so a single occurrence is harmless but a
        persisting count means events are not getting through. Check the
        "error" field of those log lines, EventBridge PutEvents failures and
        DynamoDB throttling/errors on the stack's tables, and the function
        role's permissions.
      Namespace: !Sub AmazonWebhookGateway/${GatewayStackName}
      MetricName: {{.Metric}}DeliveryFailures
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
{{$.Actions}}

  # Feeds QuarantinedDeliveries, one metric for every function (QuarantineNotEmptyAlarm).
{{filter (print .Prefix "QuarantineMetricFilter") .LogGroup "{ $.msg = \"delivery quarantined\" }" "QuarantinedDeliveries"}}
{{end}}
  # --- The Shipping lookup function -----------------------------------------
  # Not a webhook (no sender retries, no no-delivery or credential-mismatch
  # sense): crashes, throttles and 503s, each of which an application sees as
  # a failed lookup.
{{template "lambda" .Lookup}}

  # The EMF line of every lookup (Webhook shipping-lookup): 503 = a DynamoDB
  # read failed ("lookup failed" in the log group names the error).
  ShippingLookupUnavailableAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub ${GatewayStackName}-alarm-shipping-lookup-unavailable
      AlarmDescription: >-
        The Shipping lookup function answered 503 at least 5 times in 5
        minutes: OTP or tracking table reads fail. Search its log group for
        "lookup failed" (the error), check DynamoDB throttling and errors on
        OtpTable and TrackingTable and the function role's permissions.
      Namespace: {{.Namespace}}
      MetricName: Deliveries
      Dimensions:
        - Name: Webhook
          Value: shipping-lookup
        - Name: Outcome
          Value: unavailable
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 5
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
{{.Actions}}

  # --- Amazon Pay safelisting on deploy (AmazonPaySafelistOnDeploy) ---------
  # Events whose ResponseURL is not CloudFormation's response bucket are still
  # answered (until a real deployment has confirmed the pattern) but counted.
  AmazonPaySafelistResponseUrlMetricFilter:
    Type: AWS::Logs::MetricFilter
    Condition: SafelistOnDeploy
    Properties:
      LogGroupName: !Ref AmazonPaySafelistFunctionLogGroup
      FilterPattern: '{ $.msg = "safelist: ResponseURL is not a CloudFormation response bucket" }'
      MetricTransformations:
        - MetricNamespace: !Sub AmazonWebhookGateway/${GatewayStackName}
          MetricName: AmazonPaySafelistResponseUrlMismatches
          MetricValue: "1"
          Unit: Count

  AmazonPaySafelistResponseUrlAlarm:
    Type: AWS::CloudWatch::Alarm
    Condition: SafelistOnDeploy
    Properties:
      AlarmName: !Sub ${GatewayStackName}-alarm-amazon-pay-safelist-response-url
      AlarmDescription: >-
        The Amazon Pay safelisting function was invoked with a ResponseURL that
        is not CloudFormation's response bucket for this region. Search its log
        group for "ResponseURL is not a CloudFormation response bucket": during
        a stack operation this means the expected pattern needs widening; at
        any other time someone invoked the function directly (it still only
        safelists the stack's own IPN URL).
      Namespace: !Sub AmazonWebhookGateway/${GatewayStackName}
      MetricName: AmazonPaySafelistResponseUrlMismatches
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
{{.Actions}}

  # --- Quarantine (every webhook function) -----------------------------------
  # Each "delivery quarantined" line is an authenticated delivery that waits in
  # PayloadBucket for a replay.
  QuarantineNotEmptyAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub ${GatewayStackName}-alarm-quarantine-not-empty
      AlarmDescription: >-
        A webhook function quarantined at least one authenticated delivery it
        could not process (invalid payload, unknown shape or a bug); the sender
        was told to stop retrying, so the delivery waits in PayloadBucket under
        quarantine/ until someone acts. Run ` + "`make quarantine`" + ` to list them with
        their reasons, fix the cause, then ` + "`make quarantine-replay KEYS=...`" + `.
        Stays in ALARM for a day after the last one.
      Namespace: !Sub AmazonWebhookGateway/${GatewayStackName}
      MetricName: QuarantinedDeliveries
      Statistic: Sum
      # One day: a quarantined delivery keeps paging until it has been seen.
      Period: 86400
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
{{.Actions}}

  # --- Deferred deliveries (every webhook function) --------------------------
  # A deferred delivery was answered 202: the sender will not resend it, so a
  # re-drive that stops (paused, or the dependency still down) must page. In
  # the age alarms m1 (the queue's oldest message) covers a paused re-drive,
  # which receives nothing; m2 (the age the function reports at each
  # re-drive) covers a re-drive that keeps failing, whose message SQS moves to
  # the back of the queue after 3 receives, out of m1's sight.
{{- range .Webhooks}}

  {{.Prefix}}DeferredAgeAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub ${GatewayStackName}-alarm-{{.Slug}}-deferred-age
      AlarmDescription: !Sub >-
        {{.Label}}'s oldest deferred delivery has waited more than
        ${DeferredAgeAlarmMinutes} minutes (DeferredAgeAlarmMinutes). Either its
        re-drive is paused ({{.Redrive}}=false, or its event source mapping
        disabled by hand) or every re-drive fails because EventBridge or
        DynamoDB is still unavailable: check the function's log group for
        "re-driving deferred delivery" and "delivery could not complete", its
        delivery-failures and errors alarms, and the dashboard's re-drive
        backlog. Deliveries older than DeferredRetentionHours move to
        deferred-dead/ (the dead-lettered alarm).
      Metrics:
        - Id: m1
          ReturnData: false
          MetricStat:
            Metric:
              Namespace: AWS/SQS
              MetricName: ApproximateAgeOfOldestMessage
              Dimensions:
                - Name: QueueName
                  Value: !Ref {{.Queue}}Name
            Period: 300
            Stat: Maximum
        - Id: m2
          ReturnData: false
          MetricStat:
            Metric:
              Namespace: {{$.Namespace}}
              MetricName: {{$.DeferredAge}}
              Dimensions:
                - Name: Webhook
                  Value: {{.Webhook}}
            Period: 300
            Stat: Maximum
        - Id: minutes
          Label: oldest deferred delivery (minutes)
          ReturnData: true
          Expression: {{$.AgeExpression}}
      EvaluationPeriods: 1
      Threshold: !Ref DeferredAgeAlarmMinutes
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
{{$.Actions}}

  {{.Prefix}}DeadLetteredAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub ${GatewayStackName}-alarm-{{.Slug}}-dead-lettered
      AlarmDescription: >-
        {{.Label}} moved at least one deferred delivery to
        deferred-dead/{{.Webhook}}/ in PayloadBucket: it could not be re-driven
        within DeferredRetentionHours, or the function refused it at re-drive
        time. {{.Sender}} was answered 202 and will not resend it. List them
        with ` + "`make quarantine ARGS='-place dead -webhook {{.Webhook}}'`" + `,
        read each record's reason, fix the cause, then re-drive them by hand
        (docs/operations.md#deferred-deliveries). Stays in ALARM for a day
        after the last one.
      Namespace: {{$.Namespace}}
      MetricName: Deliveries
      Dimensions:
        - Name: Webhook
          Value: {{.Webhook}}
        - Name: Outcome
          Value: {{$.DeadLettered}}
      Statistic: Sum
      # One day: a dead letter keeps paging until it has been seen.
      Period: 86400
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
{{$.Actions}}
{{- end}}

  # Announcements EventBridge could not deliver to a re-drive queue, and
  # messages a function failed 1000 times: their objects wait under deferred/
  # with nothing left to re-drive them.
  RedriveDeadLetterQueueAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub ${GatewayStackName}-alarm-redrive-dead-letter-queue
      AlarmDescription: >-
        RedriveDeadLetterQueue holds at least one message: the announcement of
        a deferred delivery that no re-drive queue took (EventBridge gave up
        after a day), or a message a function failed 1000 times. Each names its
        object (detail.object.key) under deferred/<webhook>/, which stays in
        PayloadBucket: re-drive those keys by hand
        (docs/operations.md#deferred-deliveries) and check the function's log
        group for why it failed, then purge the queue.
      Namespace: AWS/SQS
      MetricName: ApproximateNumberOfMessagesVisible
      Dimensions:
        - Name: QueueName
          Value: !Ref RedriveDeadLetterQueueName
      Statistic: Maximum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
{{.Actions}}

  # --- Dashboard ---------------------------------------------------------------
  # The body is JSON inside !Sub: only ${AWS::Region}, ${GatewayStackName} and
  # the other parameters appear, each inside a JSON string.
  GatewayDashboard:
    Type: AWS::CloudWatch::Dashboard
    Properties:
      DashboardName: !Sub ${GatewayStackName}-dashboard-${AWS::Region}
      DashboardBody: !Sub |-
        {{wrap 8 .Dashboard}}
{{- define "lambda"}}  {{.Function}}ErrorsAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub ${GatewayStackName}-alarm-{{.Slug}}-errors
      AlarmDescription: >-
        {{.Label}} failed (crash, panic or timeout) at least once in 5
        minutes; {{.Answer}}. Check the function log group for the request ids
        with "Task timed out", panics or ERROR lines, and whether a recent deploy
        or configuration change preceded it.
      Namespace: AWS/Lambda
      MetricName: Errors
      Dimensions:
        - Name: FunctionName
          Value: !Ref {{.Function}}
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
{{.Actions}}

  {{.Function}}ThrottlesAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !Sub ${GatewayStackName}-alarm-{{.Slug}}-throttles
      AlarmDescription: >-
        Lambda throttled {{.Label | lower}} at least once in 5 minutes;
        {{.Answer}}. Check ConcurrentExecutions against {{.ThrottleHint}}.
      Namespace: AWS/Lambda
      MetricName: Throttles
      Dimensions:
        - Name: FunctionName
          Value: !Ref {{.Function}}
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
{{.Actions}}{{end}}
`))

// actions is how every alarm notifies AlarmTopicArn (nobody when it is empty).
const actions = `      AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]
      OKActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]`

// Render returns the child template.
func Render() (string, error) {
	dash, err := dashboard()
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := head.Execute(&b, map[string]any{"Params": Params(), "Webhooks": webhooks}); err != nil {
		return "", err
	}
	data := map[string]any{
		"Namespace":     emfNamespace,
		"Actions":       actions,
		"Webhooks":      webhooks,
		"Lookup":        lookup,
		"Dashboard":     dash,
		"DeferredAge":   metrics.DeferredAge,
		"DeadLettered":  string(metrics.DeadLettered),
		"AgeExpression": ageExpression,
		// The 503s of a secret that could not be read.
		"AuthUnavailable":  string(metrics.AuthUnavailable),
		"Api5xxExpression": api5xxExpression(),
		"Floor":            fmt.Sprintf("%d s", secrets.FailedReadFloor/time.Second),
	}
	if err := section.Execute(&b, data); err != nil {
		return "", err
	}
	b.WriteString(outputs)
	return refold(b.String()), nil
}

// refold re-wraps the prose of every folded AlarmDescription to 79 columns, so the per-webhook
// phrases spliced into it read as if written by hand (folding makes the line breaks irrelevant
// to the value).
func refold(yaml string) string {
	lines := strings.Split(yaml, "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		out = append(out, lines[i])
		if !strings.HasPrefix(strings.TrimSpace(lines[i]), "AlarmDescription:") || !strings.HasSuffix(lines[i], ">-") {
			continue
		}
		indent := strings.Repeat(" ", len(lines[i])-len(strings.TrimLeft(lines[i], " "))+2)
		var words []string
		for i+1 < len(lines) && strings.HasPrefix(lines[i+1], indent) {
			i++
			words = append(words, strings.Fields(lines[i])...)
		}
		line := indent
		for _, w := range words {
			if line != indent && len(line)+1+len(w) > 79 {
				out = append(out, line)
				line = indent
			}
			if line != indent {
				line += " "
			}
			line += w
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// Rule is the section comment's text: "<Label> ---...", 76 columns wide like the others.
func (w webhook) Rule() string {
	title := strings.TrimPrefix(w.Label, "The ")
	return title + " " + strings.Repeat("-", max(3, 76-len("# --- ")-len(title)-1))
}

func lowerFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

// widget is one CloudWatch dashboard metric widget.
type widget struct {
	Type       string      `json:"type"`
	X          int         `json:"x"`
	Y          int         `json:"y"`
	Width      int         `json:"width"`
	Height     int         `json:"height"`
	Properties widgetProps `json:"properties"`
}

type widgetProps struct {
	Title   string  `json:"title"`
	Region  string  `json:"region"`
	View    string  `json:"view"`
	Stacked bool    `json:"stacked"`
	Stat    string  `json:"stat"`
	Period  int     `json:"period"`
	Metrics [][]any `json:"metrics"`
}

// dashboard is the dashboard body: one row of outcomes per webhook, then latency, errors,
// throttles, quarantine and publishing.
func dashboard() (string, error) {
	var ws []widget
	add := func(title, stat string, stacked bool, metrics [][]any) {
		n := len(ws)
		ws = append(ws, widget{Type: "metric", X: (n % 2) * 12, Y: (n / 2) * 6, Width: 12, Height: 6,
			Properties: widgetProps{Title: title, Region: "${AWS::Region}", View: "timeSeries",
				Stacked: stacked, Stat: stat, Period: 300, Metrics: metrics}})
	}
	logNS := "AmazonWebhookGateway/${GatewayStackName}"
	for _, w := range webhooks {
		var m [][]any
		for _, o := range outcomes {
			m = append(m, []any{emfNamespace, "Deliveries", "Webhook", w.Webhook, "Outcome", o, map[string]string{"label": o}})
		}
		add("Deliveries by outcome: "+w.Webhook, "Sum", true, m)
	}
	var latency, errs, throttles, quarantine, published, failures [][]any
	for _, w := range webhooks {
		for _, p := range []string{"p50", "p99"} {
			latency = append(latency, []any{emfNamespace, "Latency", "Webhook", w.Webhook, map[string]string{"stat": p, "label": w.Webhook + " " + p}})
		}
		errs = append(errs, []any{"AWS/Lambda", "Errors", "FunctionName", "${" + w.Function + "}", map[string]string{"label": w.Webhook + " Lambda errors"}})
		if w.Secrets != "" {
			errs = append(errs, []any{emfNamespace, "Deliveries", "Webhook", w.Webhook, "Outcome", string(metrics.AuthUnavailable), map[string]string{"label": w.Webhook + " secret unreadable (503)"}})
		}
		throttles = append(throttles, []any{"AWS/Lambda", "Throttles", "FunctionName", "${" + w.Function + "}", map[string]string{"label": w.Webhook + " Lambda throttles"}})
		quarantine = append(quarantine, []any{emfNamespace, "Deliveries", "Webhook", w.Webhook, "Outcome", "quarantined", map[string]string{"label": w.Webhook}})
		published = append(published,
			[]any{emfNamespace, "EventsPublished", "Webhook", w.Webhook, map[string]string{"label": w.Webhook + " published"}},
			[]any{emfNamespace, "PublishRetries", "Webhook", w.Webhook, map[string]string{"label": w.Webhook + " retries"}})
		failures = append(failures,
			[]any{logNS, w.Metric + "DeliveryFailures", map[string]string{"label": w.Webhook + " delivery failed (503)"}},
			[]any{emfNamespace, "Deliveries", "Webhook", w.Webhook, "Outcome", "unavailable", map[string]string{"label": w.Webhook + " unavailable"}})
	}
	errs = append(errs, []any{"AWS/ApiGateway", "5xx", "ApiId", "${HttpApi}", map[string]string{"label": "API 5xx"}})
	throttles = append(throttles, []any{logNS, "ApiThrottledRequests", map[string]string{"label": "API 429"}})
	add("Latency p50/p99 (ms)", "p99", false, latency)
	add("Errors", "Sum", false, errs)
	add("Throttles", "Sum", false, throttles)
	add("Quarantined deliveries", "Sum", false, quarantine)
	add("Events published and publish retries", "Sum", false, published)
	add("Publish failures", "Sum", false, failures)
	add("OTPs stored and stale (shipping)", "Sum", false, [][]any{
		{emfNamespace, "OtpsStored", "Webhook", "shipping", map[string]string{"label": "stored"}},
		{emfNamespace, "OtpsStale", "Webhook", "shipping", map[string]string{"label": "stale"}},
	})
	// Deferred deliveries: kept on an outage, re-driven from the queues, dead-lettered past the
	// retention.
	var deferred, backlog, age, dead [][]any
	for _, w := range webhooks {
		queue := "${" + w.Queue + "Name}"
		deferred = append(deferred, []any{emfNamespace, "Deliveries", "Webhook", w.Webhook, "Outcome", string(metrics.Deferred), map[string]string{"label": w.Webhook}})
		backlog = append(backlog,
			[]any{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue, map[string]string{"label": w.Webhook + " waiting"}},
			[]any{"AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName", queue, map[string]string{"label": w.Webhook + " in flight or backing off"}})
		age = append(age,
			[]any{emfNamespace, metrics.DeferredAge, "Webhook", w.Webhook, map[string]string{"label": w.Webhook + " re-driven"}},
			[]any{"AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queue, map[string]string{"label": w.Webhook + " queued"}})
		dead = append(dead, []any{emfNamespace, "Deliveries", "Webhook", w.Webhook, "Outcome", string(metrics.DeadLettered), map[string]string{"label": w.Webhook}})
	}
	backlog = append(backlog, []any{"AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "${RedriveDeadLetterQueueName}", map[string]string{"label": "dead-letter queue"}})
	add("Deferred deliveries", "Sum", false, deferred)
	add("Re-drive backlog (messages)", "Maximum", false, backlog)
	add("Oldest deferred delivery (s)", "Maximum", false, age)
	add("Dead-lettered deliveries", "Sum", false, dead)

	// One widget per line: readable in the template, and a diff shows which widget changed.
	lines := make([]string, len(ws))
	for i, w := range ws {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(w); err != nil {
			return "", err
		}
		lines[i] = "  " + strings.TrimSuffix(b.String(), "\n")
	}
	return "{\"widgets\": [\n" + strings.Join(lines, ",\n") + "\n]}", nil
}

func main() {
	check := flag.Bool("check", false, "exit 1 when the file differs from what this command writes")
	path := flag.String("out", File, "the child template to write")
	flag.Parse()
	if err := run(*path, *check); err != nil {
		fmt.Fprintln(os.Stderr, "alarms:", err)
		os.Exit(1)
	}
}

// run writes the child template to path, or with check reports whether path holds it.
func run(path string, check bool) error {
	want, err := Render()
	if err != nil {
		return err
	}
	old, err := os.ReadFile(path)
	if err == nil && string(old) == want {
		return nil
	}
	if check {
		return fmt.Errorf("%s differs from what tools/alarms writes: run `make generate`", filepath.Clean(path))
	}
	return os.WriteFile(path, []byte(want), 0o644)
}

// deliveriesStat is the MetricStat of an alarm's metric-math input: the Deliveries of webhook with
// outcome, summed over period seconds, in namespace.
func deliveriesStat(namespace, webhook, outcome string, period int) string {
	return fmt.Sprintf(`          MetricStat:
            Metric:
              Namespace: %s
              MetricName: Deliveries
              Dimensions:
                - Name: Webhook
                  Value: %s
                - Name: Outcome
                  Value: %s
            Period: %d
            Stat: Sum`, namespace, webhook, outcome, period)
}
