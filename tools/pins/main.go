// Command pins reports, and with -delete deletes, what a far-future time may have planted in the
// Shipping tables before the gateway bounded it:
//
//   - OTP items (OtpTable) whose verificationCodeTTL is more than ShippingOtpMaxTtlDays after now.
//     Newest wins by TTL, so such an OTP "pins" its tracking ID: every genuine later OTP for it is
//     stale. The gateway now quarantines an OTP valid that long; one stored before stays.
//   - Tracking items (TrackingTable) whose eventTimeMs is more than -skew (15 minutes) after now:
//     a later eventTime wins, so such a state hides every genuine update of its tracking ID.
//
// Run it once after upgrading, and whenever it may be useful (a cron, CI: the exit status says
// whether pins are left):
//
//	pins [-stack NAME] [-otp-table T] [-tracking-table T] [-max-ttl-days N] [-skew 15m] [-delete]
//
// Tables come from -otp-table and -tracking-table, else the stack's outputs OtpTableName and
// TrackingTableName (-stack), else $OTP_TABLE_NAME and $TRACKING_TABLE_NAME, the functions'
// variables; a table named nowhere is skipped. The bound comes from -max-ttl-days, else the
// stack's ShippingOtpMaxTtlDays, else $OTP_MAX_TTL_DAYS, else 7.
//
// Each table is read with a paginated Scan that projects only the key, account and the time
// attribute: no code is read, so none can be printed. One line per item found goes to stdout:
// the table, the key (the tracking ID, or <account>#<trackingId> for a non-default account), the
// account attribute ("-" when absent: the default account's), the time as RFC 3339 and what was
// done. A delete is conditional on the attribute still holding the value scanned, so an OTP or
// state written in the meantime is never deleted; such an item is re-read and reported as
// replaced (no longer a pin) or as still a pin.
//
// Exit status: 0 when nothing was found or everything found was deleted (or replaced since the
// scan by an item that is no pin); 1 when pins are left (reported without -delete, or still there
// after it), or a table could not be read; 2 on a bad command line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
	"github.com/amazon-webhook-gateway/gateway/shared/trackingstore"
)

// Exit codes.
const (
	exitOK    = 0
	exitPins  = 1
	exitUsage = 2
)

// DefaultSkew is how far after now a tracking state's eventTime may be before it is a pin: the
// gateway's allowance for the sender's clock.
const DefaultSkew = 15 * time.Minute

// The attributes read; the code (verificationCode) is never among them.
const (
	accountAttribute = "account"
	otpTimeAttribute = "verificationCodeTTL" // epoch milliseconds
	eventTimeAttr    = "eventTimeMs"         // epoch milliseconds
)

// The stack's outputs and parameter the command reads (template.yaml).
const (
	otpTableOutput      = "OtpTableName"
	trackingTableOutput = "TrackingTableName"
	maxTTLParameter     = "ShippingOtpMaxTtlDays"
)

// dynamoAPI is what the command calls of DynamoDB.
type dynamoAPI interface {
	dynamodb.ScanAPIClient
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// stackAPI is what -stack calls of CloudFormation.
type stackAPI interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// connector returns the clients, on the default AWS configuration in main.
type connector func(ctx context.Context) (dynamoAPI, stackAPI, error)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, time.Now, os.Stdout, os.Stderr, connect))
}

func connect(ctx context.Context) (dynamoAPI, stackAPI, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	return dynamodb.NewFromConfig(cfg), cloudformation.NewFromConfig(cfg), nil
}

const usageText = `usage: pins [-stack NAME] [-otp-table T] [-tracking-table T] [-max-ttl-days N] [-skew 15m] [-delete]`

// run is the command; stdout gets one line per item found, stderr the summary and errors.
func run(ctx context.Context, args []string, getenv func(string) string, now func() time.Time, stdout, stderr io.Writer, connect connector) int {
	fs := flag.NewFlagSet("pins", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "", "read the tables (outputs "+otpTableOutput+", "+trackingTableOutput+") and the bound ("+maxTTLParameter+") from this deployed stack")
	otpTable := fs.String("otp-table", "", "the OTP table (default: the stack's, else $OTP_TABLE_NAME)")
	trackingTable := fs.String("tracking-table", "", "the tracking table (default: the stack's, else $TRACKING_TABLE_NAME)")
	maxDays := fs.Int("max-ttl-days", 0, "an OTP valid more than this many days after now is a pin (default: the stack's "+maxTTLParameter+", else $OTP_MAX_TTL_DAYS, else 7)")
	skew := fs.Duration("skew", DefaultSkew, "a tracking state whose eventTime is more than this after now is a pin")
	del := fs.Bool("delete", false, "delete the pins found (each delete conditional on the value scanned)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if fs.NArg() > 0 || (set["max-ttl-days"] && *maxDays <= 0) || *skew < 0 {
		fmt.Fprintln(stderr, usageText)
		return exitUsage
	}
	db, cfn, err := connect(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "pins:", err)
		return exitPins
	}

	// Each setting: the flag, else the stack, else the environment, else the default.
	days := *maxDays
	if *stack != "" {
		out, params, err := describe(ctx, cfn, *stack)
		if err != nil {
			fmt.Fprintln(stderr, "pins:", err)
			return exitPins
		}
		if !set["otp-table"] {
			*otpTable = out[otpTableOutput]
		}
		if !set["tracking-table"] {
			*trackingTable = out[trackingTableOutput]
		}
		if v, ok := params[maxTTLParameter]; ok && !set["max-ttl-days"] {
			if days, err = strconv.Atoi(v); err != nil || days <= 0 {
				fmt.Fprintf(stderr, "pins: stack %s: %s is %q, not a number of days\n", *stack, maxTTLParameter, v)
				return exitPins
			}
		}
	} else {
		if !set["otp-table"] {
			*otpTable = getenv("OTP_TABLE_NAME")
		}
		if !set["tracking-table"] {
			*trackingTable = getenv("TRACKING_TABLE_NAME")
		}
	}
	if days == 0 {
		days = int(shipping.DefaultMaxOTPTTL / (24 * time.Hour))
		if v := getenv("OTP_MAX_TTL_DAYS"); v != "" {
			if days, err = strconv.Atoi(v); err != nil || days <= 0 {
				fmt.Fprintf(stderr, "pins: OTP_MAX_TTL_DAYS is %q, not a number of days\n", v)
				return exitUsage
			}
		}
	}
	if *otpTable == "" && *trackingTable == "" {
		fmt.Fprintln(stderr, "pins: no table named: -otp-table and -tracking-table, -stack, or $OTP_TABLE_NAME and $TRACKING_TABLE_NAME")
		fmt.Fprintln(stderr, usageText)
		return exitUsage
	}

	at := now()
	c := &cleaner{db: db}
	kinds := []kind{
		{name: "otp", table: *otpTable, key: otpstore.KeyAttribute, attr: otpTimeAttribute, label: "verificationCodeTTL", limit: at.Add(time.Duration(days) * 24 * time.Hour),
			bound: fmt.Sprintf("verificationCodeTTL more than %d days after now", days)},
		{name: "tracking", table: *trackingTable, key: trackingstore.KeyAttribute, attr: eventTimeAttr, label: "eventTime", limit: at.Add(*skew),
			bound: fmt.Sprintf("eventTime more than %s after now", *skew)},
	}
	status := exitOK
	for _, k := range kinds {
		if k.table == "" {
			fmt.Fprintf(stderr, "pins: %s table not named: skipped\n", k.name)
			continue
		}
		found, err := c.find(ctx, k)
		if err != nil {
			fmt.Fprintf(stderr, "pins: %s table %s: %v\n", k.name, k.table, err)
			status = exitPins
			continue
		}
		left := 0
		for _, p := range found {
			outcome := "found (-delete deletes it)"
			if *del {
				var gone bool
				outcome, gone = c.remove(ctx, k, p)
				if !gone {
					left++
				}
			} else {
				left++
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s=%s\t%s\n", k.name, quote(p.key), quote(p.account), k.label, rfc3339(p.ms), outcome)
		}
		fmt.Fprintf(stderr, "pins: %s table %s: %d with %s (later than %s); %d left\n",
			k.name, k.table, len(found), k.bound, k.limit.UTC().Format(time.RFC3339), left)
		if left > 0 {
			status = exitPins
		}
	}
	if status == exitPins && !*del {
		fmt.Fprintln(stderr, "pins: run again with -delete (make pins DELETE=1) to delete them")
	}
	return status
}

// describe returns a stack's outputs and parameters.
func describe(ctx context.Context, cfn stackAPI, stack string) (outputs, params map[string]string, err error) {
	out, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: &stack})
	if err != nil {
		return nil, nil, fmt.Errorf("stack %s: %w", stack, err)
	}
	if len(out.Stacks) != 1 {
		return nil, nil, fmt.Errorf("stack %s: %d stacks described", stack, len(out.Stacks))
	}
	outputs, params = map[string]string{}, map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	for _, p := range out.Stacks[0].Parameters {
		params[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	return outputs, params, nil
}

// kind is one table and what makes one of its items a pin: attr (epoch milliseconds, printed as
// label) later than limit.
type kind struct {
	name, table, key, attr, label string
	limit                         time.Time
	bound                         string
}

// pin is one item found: its key, account attribute ("" when absent) and time attribute as
// scanned (value: DynamoDB's text of the number, which the conditional delete compares).
type pin struct {
	key, account, value string
	ms                  int64
}

// cleaner finds and deletes pins.
type cleaner struct {
	db dynamoAPI
}

// find scans k's table for items whose attribute is later than k.limit.
func (c *cleaner) find(ctx context.Context, k kind) ([]pin, error) {
	in := &dynamodb.ScanInput{
		TableName:                &k.table,
		ProjectionExpression:     aws.String("#k, #a, #t"),
		FilterExpression:         aws.String("#t > :limit"),
		ExpressionAttributeNames: map[string]string{"#k": k.key, "#a": accountAttribute, "#t": k.attr},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":limit": &types.AttributeValueMemberN{Value: strconv.FormatInt(k.limit.UnixMilli(), 10)},
		},
	}
	var found []pin
	pages := dynamodb.NewScanPaginator(c.db, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, item := range page.Items {
			if p, ok := readPin(k, item); ok {
				found = append(found, p)
			}
		}
	}
	return found, nil
}

// readPin reads a scanned item, and says whether it is a pin: the filter decided already, the
// check is repeated so that nothing else is ever deleted.
func readPin(k kind, item map[string]types.AttributeValue) (pin, bool) {
	key, ok := item[k.key].(*types.AttributeValueMemberS)
	t, isN := item[k.attr].(*types.AttributeValueMemberN)
	if !ok || !isN {
		return pin{}, false
	}
	ms, err := strconv.ParseInt(t.Value, 10, 64)
	if err != nil || ms <= k.limit.UnixMilli() {
		return pin{}, false
	}
	p := pin{key: key.Value, value: t.Value, ms: ms}
	if a, ok := item[accountAttribute].(*types.AttributeValueMemberS); ok {
		p.account = a.Value
	}
	return p, true
}

// remove deletes p unless its attribute changed since the scan, and says what happened and
// whether p is no longer a pin (deleted, gone, or replaced by an item that is no pin).
func (c *cleaner) remove(ctx context.Context, k kind, p pin) (string, bool) {
	key := map[string]types.AttributeValue{k.key: &types.AttributeValueMemberS{Value: p.key}}
	_, err := c.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                           &k.table,
		Key:                                 key,
		ConditionExpression:                 aws.String("#t = :scanned"),
		ExpressionAttributeNames:            map[string]string{"#t": k.attr},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":scanned": &types.AttributeValueMemberN{Value: p.value}},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var changed *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return "deleted", true
	case !errors.As(err, &changed):
		return "kept: delete failed: " + err.Error(), false
	}
	// Written since the scan: what is there now?
	now := changed.Item
	if now == nil {
		out, err := c.db.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: &k.table, Key: key, ConsistentRead: aws.Bool(true),
			ProjectionExpression: aws.String("#k, #t"), ExpressionAttributeNames: map[string]string{"#k": k.key, "#t": k.attr},
		})
		if err != nil {
			return "kept: changed since the scan, and reading it again failed: " + err.Error(), false
		}
		now = out.Item
	}
	if now == nil {
		return "gone: deleted since the scan", true
	}
	if _, still := readPin(k, now); still {
		return "kept: changed since the scan, still a pin: run again", false
	}
	return "kept: replaced since the scan by one that is no pin", true
}

// rfc3339 is epoch milliseconds as RFC 3339 (UTC, milliseconds when there are any).
func rfc3339(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }

// quote is s as it is when it is plain, quoted when it could be misread (empty: "-").
func quote(s string) string {
	if s == "" {
		return "-"
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) || r == '"' }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}
