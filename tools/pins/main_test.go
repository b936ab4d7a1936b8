package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/trackingstore"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }

// at is the command's clock in these tests.
var at = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// tables are an OTP and a tracking table made from template.yaml in moto, written through the
// gateway's own stores, so that the command reads the items the functions write.
type tables struct {
	db                *dynamodb.Client
	otp, tracking     string
	otps              *otpstore.Store
	states            *trackingstore.Store
	codes             []string // every code written: none may be printed
	otpKeys, stateKey map[string]string
}

func newTables(t *testing.T) *tables {
	t.Helper()
	ctx := context.Background()
	cfg, err := localaws.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	tb := &tables{db: dynamodb.NewFromConfig(cfg), otpKeys: map[string]string{}, stateKey: map[string]string{}}
	if tb.otp, err = localaws.CreateTable(ctx, cfg, tmpl, "OtpTable"); err != nil {
		t.Fatal(err)
	}
	if tb.tracking, err = localaws.CreateTable(ctx, cfg, tmpl, "TrackingTable"); err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return at }
	tb.otps = otpstore.New(tb.db, tb.otp, clock)
	tb.states = trackingstore.New(tb.db, tb.tracking, 90*24*time.Hour, clock)
	return tb
}

// putOTP stores an OTP as the gateway's transaction would, and says whether its condition let it
// (false: a newer OTP, say a pin, is stored). name names it in the test; its key is the store's.
func (tb *tables) putOTP(t *testing.T, name, acct, trackingID, code string, ttl time.Time) bool {
	t.Helper()
	put, _ := tb.otps.Write(otpstore.OTP{TrackingID: trackingID, AlternateLegTrackingID: "R-" + trackingID, Code: code, ExpiresAt: ttl,
		EventCode: "PIN_GENERATED", DeliveryID: "d-" + name, EventTime: at.Add(-time.Hour), ReceivedAt: at, Account: acct})
	tb.codes = append(tb.codes, code)
	tb.otpKeys[name] = put.Item[otpstore.KeyAttribute].(*types.AttributeValueMemberS).Value
	return tb.put(t, put)
}

// putState stores a tracking state as the gateway would.
func (tb *tables) putState(t *testing.T, name, acct, trackingID string, eventTime time.Time) bool {
	t.Helper()
	put, _ := tb.states.Write(trackingstore.State{TrackingID: trackingID, Status: "InTransit", EventCode: "InTransit",
		EventTimeText: eventTime.Format(time.RFC3339), EventTime: eventTime, Detail: "{}", DeliveryID: "d-" + name, Entry: "0",
		EnvelopeTime: at.Add(-time.Minute), Account: acct})
	tb.stateKey[name] = put.Item[trackingstore.KeyAttribute].(*types.AttributeValueMemberS).Value
	return tb.put(t, put)
}

func (tb *tables) put(t *testing.T, p *types.Put) bool {
	t.Helper()
	_, err := tb.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: p.TableName, Item: p.Item,
		ConditionExpression: p.ConditionExpression, ExpressionAttributeNames: p.ExpressionAttributeNames, ExpressionAttributeValues: p.ExpressionAttributeValues})
	var refused *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &refused) {
		t.Fatal(err)
	}
	return err == nil
}

// keys are the keys in table, sorted.
func (tb *tables) keys(t *testing.T, table string) []string {
	t.Helper()
	out, err := tb.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: &table, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, item := range out.Items {
		keys = append(keys, item["trackingId"].(*types.AttributeValueMemberS).Value)
	}
	slices.Sort(keys)
	return keys
}

// code is the code stored under key in the OTP table ("" when none).
func (tb *tables) code(t *testing.T, key string) string {
	t.Helper()
	out, err := tb.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &tb.otp, ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{otpstore.KeyAttribute: &types.AttributeValueMemberS{Value: key}}})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := out.Item["verificationCode"].(*types.AttributeValueMemberS); ok {
		return c.Value
	}
	return ""
}

// cmd runs the command against tb's tables (or as args say) with the clock at.
func (tb *tables) cmd(t *testing.T, stack stackAPI, args ...string) (int, string, string) {
	t.Helper()
	env := map[string]string{"OTP_TABLE_NAME": tb.otp, "TRACKING_TABLE_NAME": tb.tracking}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, func() time.Time { return at }, &stdout, &stderr,
		func(context.Context) (dynamoAPI, stackAPI, error) { return smallPages{tb.db}, stack, nil })
	for _, secret := range tb.codes {
		if strings.Contains(stdout.String()+stderr.String(), secret) {
			t.Errorf("a code was printed:\n%s\n%s", stdout.String(), stderr.String())
		}
	}
	return code, stdout.String(), stderr.String()
}

// smallPages reads two items per Scan page, so that every test reads several pages.
type smallPages struct{ *dynamodb.Client }

func (s smallPages) Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	in.Limit = aws.Int32(2)
	return s.Client.Scan(ctx, in, optFns...)
}

// seed plants pins and genuine items: OTPs valid beyond 7 days after now (a default-account one,
// another account's, a TTL in 2099), genuine ones (an hour; exactly 7 days, the bound itself; an
// expired one's codeless audit item); tracking states with an eventTime in the year 5000 and
// 20 minutes ahead (pins), and 10 minutes ahead (within the skew), past, and without one.
func seed(t *testing.T, tb *tables) {
	t.Helper()
	for _, o := range []struct {
		name, acct, id, code string
		ttl                  time.Time
	}{
		{"pin", "", "T-PIN", "111111", at.Add(8 * 24 * time.Hour)},
		{"pin-acme", "acme", "T-ACME", "222222", time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"hour", "", "T-HOUR", "333333", at.Add(time.Hour)},
		{"bound", "acme", "T-BOUND", "444444", at.Add(7 * 24 * time.Hour)},
		{"expired", "", "T-EXPIRED", "555555", at.Add(-time.Hour)},
	} {
		if !tb.putOTP(t, o.name, o.acct, o.id, o.code, o.ttl) {
			t.Fatalf("seeding %s: refused", o.name)
		}
	}
	for _, s := range []struct {
		name, acct, id string
		eventTime      time.Time
	}{
		{"year-5000", "acme", "S-5000", time.Date(5000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"ahead", "", "S-AHEAD", at.Add(20 * time.Minute)},
		{"skew", "", "S-SKEW", at.Add(10 * time.Minute)},
		{"past", "", "S-PAST", at.Add(-time.Hour)},
		{"none", "", "S-NONE", time.Time{}},
	} {
		if !tb.putState(t, s.name, s.acct, s.id, s.eventTime) {
			t.Fatalf("seeding %s: refused", s.name)
		}
	}
}

// Pins are reported, one line each with key, account and time, and kept (exit 1) without -delete;
// deleted with it (exit 0), after which nothing is found; genuine items are never reported nor
// deleted. A genuine OTP the pin made stale is stored once the pin is gone.
func TestPinsAreReportedAndDeletedOnlyWithDelete(t *testing.T) {
	tb := newTables(t)
	seed(t, tb)
	if tb.putOTP(t, "genuine-later", "", "T-PIN", "666666", at.Add(2*time.Hour)) {
		t.Fatal("the pin did not make a genuine later OTP stale: the test plants no pin")
	}
	allOTPs, allStates := tb.keys(t, tb.otp), tb.keys(t, tb.tracking)
	wantLines := []string{
		"otp\t" + tb.otpKeys["pin"] + "\t-\tverificationCodeTTL=2026-12-14T10:00:00Z\t",
		"otp\t" + tb.otpKeys["pin-acme"] + "\tacme\tverificationCodeTTL=2099-12-31T23:59:59Z\t",
		"tracking\t" + tb.stateKey["year-5000"] + "\tacme\teventTime=5000-01-01T00:00:00Z\t",
		"tracking\t" + tb.stateKey["ahead"] + "\t-\teventTime=2026-12-06T10:20:00Z\t",
	}
	for _, tc := range []struct {
		name        string
		args        []string
		wantStatus  int
		wantOutcome string
		wantOTPs    []string
		wantStates  []string
	}{
		{"report", nil, 1, "found (-delete deletes it)", allOTPs, allStates},
		{"delete", []string{"-delete"}, 0, "deleted",
			without(allOTPs, tb.otpKeys["pin"], tb.otpKeys["pin-acme"]), without(allStates, tb.stateKey["year-5000"], tb.stateKey["ahead"])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, stdout, stderr := tb.cmd(t, nil, tc.args...)
			if status != tc.wantStatus {
				t.Errorf("exit %d, want %d\n%s", status, tc.wantStatus, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
			slices.Sort(lines)
			var want []string
			for _, l := range wantLines {
				want = append(want, l+tc.wantOutcome)
			}
			slices.Sort(want)
			if !slices.Equal(lines, want) {
				t.Errorf("printed\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
			}
			if got := tb.keys(t, tb.otp); !slices.Equal(got, tc.wantOTPs) {
				t.Errorf("OTP table holds %v, want %v", got, tc.wantOTPs)
			}
			if got := tb.keys(t, tb.tracking); !slices.Equal(got, tc.wantStates) {
				t.Errorf("tracking table holds %v, want %v", got, tc.wantStates)
			}
		})
	}
	if status, stdout, stderr := tb.cmd(t, nil, "-delete"); status != 0 || stdout != "" {
		t.Errorf("after the delete: exit %d, printed %q\n%s", status, stdout, stderr)
	}
	if !tb.putOTP(t, "genuine-later", "", "T-PIN", "666666", at.Add(2*time.Hour)) || tb.code(t, tb.otpKeys["pin"]) != "666666" {
		t.Error("with the pin deleted, a genuine OTP is still refused")
	}
}

func without(keys []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return slices.Contains(drop, k) })
}

// A delete is conditional on the time scanned: an item written between the scan and the delete
// is kept. One that is no pin (a genuine OTP stored after the pin went) no longer counts; one
// that is still a pin does, and says to run again.
func TestADeleteLosesToAWriteSinceTheScan(t *testing.T) {
	ctx := context.Background()
	k := func(tb *tables) kind {
		return kind{name: "otp", table: tb.otp, key: otpstore.KeyAttribute, attr: otpTimeAttribute, limit: at.Add(7 * 24 * time.Hour)}
	}
	for _, tc := range []struct {
		name      string
		meanwhile func(t *testing.T, tb *tables)
		wantCode  string
		wantGone  bool
		outcome   string
	}{
		{"a genuine OTP replaced the pin", func(t *testing.T, tb *tables) {
			deleteItem(t, tb, tb.otpKeys["pin"]) // say, another run of pins -delete
			if !tb.putOTP(t, "genuine", "", "T-PIN", "777777", at.Add(time.Hour)) {
				t.Fatal("the genuine OTP was refused")
			}
		}, "777777", true, "kept: replaced since the scan by one that is no pin"},
		{"another pin replaced it", func(t *testing.T, tb *tables) {
			if !tb.putOTP(t, "pin-again", "", "T-PIN", "888888", at.Add(30*24*time.Hour)) {
				t.Fatal("the later pin was refused")
			}
		}, "888888", false, "kept: changed since the scan, still a pin: run again"},
		{"it went", func(t *testing.T, tb *tables) { deleteItem(t, tb, tb.otpKeys["pin"]) }, "", true, "gone: deleted since the scan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := newTables(t)
			tb.putOTP(t, "pin", "", "T-PIN", "111111", at.Add(8*24*time.Hour))
			c := &cleaner{db: tb.db}
			found, err := c.find(ctx, k(tb))
			if err != nil || len(found) != 1 {
				t.Fatalf("found %v, %v; want the pin", found, err)
			}
			tc.meanwhile(t, tb)
			outcome, gone := c.remove(ctx, k(tb), found[0])
			if outcome != tc.outcome || gone != tc.wantGone {
				t.Errorf("remove: %q, no longer a pin %v; want %q, %v", outcome, gone, tc.outcome, tc.wantGone)
			}
			if got := tb.code(t, tb.otpKeys["pin"]); got != tc.wantCode {
				t.Errorf("the item under the key holds code %q, want %q", got, tc.wantCode)
			}
		})
	}
}

func deleteItem(t *testing.T, tb *tables, key string) {
	t.Helper()
	if _, err := tb.db.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: &tb.otp,
		Key: map[string]types.AttributeValue{otpstore.KeyAttribute: &types.AttributeValueMemberS{Value: key}}}); err != nil {
		t.Fatal(err)
	}
}

// fakeStack describes one stack with the tables' outputs and a bound of its own.
type fakeStack struct {
	name, otp, tracking, days string
}

func (f fakeStack) DescribeStacks(_ context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	if aws.ToString(in.StackName) != f.name {
		return nil, fmt.Errorf("Stack with id %s does not exist", aws.ToString(in.StackName))
	}
	st := cfntypes.Stack{
		Outputs: []cfntypes.Output{
			{OutputKey: aws.String(otpTableOutput), OutputValue: aws.String(f.otp)},
			{OutputKey: aws.String(trackingTableOutput), OutputValue: aws.String(f.tracking)},
		},
	}
	if f.days != "" {
		st.Parameters = []cfntypes.Parameter{{ParameterKey: aws.String(maxTTLParameter), ParameterValue: aws.String(f.days)}}
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cfntypes.Stack{st}}, nil
}

// The bound and the tables come from the flags, else the stack (its outputs, its
// ShippingOtpMaxTtlDays), else the functions' variables, else 7 days: an OTP valid 3 days is a
// pin only where the bound is shorter.
func TestSettingsComeFromFlagsTheStackOrTheEnvironment(t *testing.T) {
	tb := newTables(t)
	tb.putOTP(t, "three-days", "", "T-3", "121212", at.Add(3*24*time.Hour))
	stack := fakeStack{name: "gw", otp: tb.otp, tracking: tb.tracking, days: "2"}
	for _, tc := range []struct {
		name  string
		stack stackAPI
		env   map[string]string
		args  []string
		pins  int
	}{
		{"the template's default", nil, nil, nil, 0},
		{"OTP_MAX_TTL_DAYS", nil, map[string]string{"OTP_MAX_TTL_DAYS": "2"}, nil, 1},
		{"the flag", nil, map[string]string{"OTP_MAX_TTL_DAYS": "7"}, []string{"-max-ttl-days", "1"}, 1},
		{"the stack's parameter", stack, nil, []string{"-stack", "gw", "-tracking-table", ""}, 1},
		{"the flag over the stack's", stack, nil, []string{"-stack", "gw", "-max-ttl-days", "4"}, 0},
		{"a stack without the parameter", fakeStack{name: "old", otp: tb.otp, tracking: tb.tracking}, nil, []string{"-stack", "old"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"OTP_TABLE_NAME": tb.otp, "TRACKING_TABLE_NAME": tb.tracking}
			if tc.stack != nil {
				env = map[string]string{} // the stack names the tables
			}
			for k, v := range tc.env {
				env[k] = v
			}
			var stdout, stderr bytes.Buffer
			status := run(context.Background(), tc.args, func(k string) string { return env[k] }, func() time.Time { return at }, &stdout, &stderr,
				func(context.Context) (dynamoAPI, stackAPI, error) { return tb.db, tc.stack, nil })
			if got := strings.Count(stdout.String(), "\n"); got != tc.pins || status != min(tc.pins, 1) {
				t.Errorf("exit %d, %d pins printed, want %d:\n%s%s", status, got, tc.pins, stdout.String(), stderr.String())
			}
		})
	}
}

func TestExitStatus(t *testing.T) {
	tb := newTables(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want int
	}{
		{"nothing found", map[string]string{"OTP_TABLE_NAME": tb.otp, "TRACKING_TABLE_NAME": tb.tracking}, nil, 0},
		{"one table only", map[string]string{"OTP_TABLE_NAME": tb.otp}, nil, 0},
		{"no table", nil, nil, 2},
		{"an argument", nil, []string{"-otp-table", tb.otp, "extra"}, 2},
		{"an unknown flag", nil, []string{"-otp-table", tb.otp, "-force"}, 2},
		{"no days", nil, []string{"-otp-table", tb.otp, "-max-ttl-days", "0"}, 2},
		{"a negative skew", nil, []string{"-otp-table", tb.otp, "-skew", "-1m"}, 2},
		{"days not a number", map[string]string{"OTP_TABLE_NAME": tb.otp, "OTP_MAX_TTL_DAYS": "a week"}, nil, 2},
		{"a table that does not exist", nil, []string{"-otp-table", "no-such-table"}, 1},
		{"a stack that does not exist", nil, []string{"-stack", "nope"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, func() time.Time { return at }, &stdout, &stderr,
				func(context.Context) (dynamoAPI, stackAPI, error) { return tb.db, fakeStack{name: "gw"}, nil })
			if status != tc.want {
				t.Errorf("exit %d, want %d\n%s", status, tc.want, stderr.String())
			}
		})
	}
}
