// Command replay replays a time range of the gateway's archived events (template.yaml's
// EventArchive) onto the gateway's bus, by default to the rules named with -rule only
// (StartReplay's Destination.FilterArns), so that one consumer catches up without the others
// receiving everything again.
//
//	replay -archive ARN -from RFC3339 -to RFC3339 -rule RULE_ARN [-rule RULE_ARN]... [-name N] [-wait]
//	replay -archive ARN -from RFC3339 -to RFC3339 -all-rules ...
//
// -archive defaults to $EVENT_ARCHIVE_ARN (stack output EventArchiveArn). The AWS configuration is
// the default chain's (shared/awsconfig); AWS_ENDPOINT_URL points it at a local stack. Replayed
// events are new events (new id, a replay-name field) with the same detail: consumers dedupe on
// detail.metadata.idempotencyKey.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/amazon-webhook-gateway/gateway/shared/awsconfig"
)

// archiveEnv is where -archive defaults from.
const archiveEnv = "EVENT_ARCHIVE_ARN"

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// API is the part of the EventBridge client the command uses.
type API interface {
	DescribeArchive(context.Context, *eventbridge.DescribeArchiveInput, ...func(*eventbridge.Options)) (*eventbridge.DescribeArchiveOutput, error)
	DescribeRule(context.Context, *eventbridge.DescribeRuleInput, ...func(*eventbridge.Options)) (*eventbridge.DescribeRuleOutput, error)
	StartReplay(context.Context, *eventbridge.StartReplayInput, ...func(*eventbridge.Options)) (*eventbridge.StartReplayOutput, error)
	DescribeReplay(context.Context, *eventbridge.DescribeReplayInput, ...func(*eventbridge.Options)) (*eventbridge.DescribeReplayOutput, error)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, time.Now, os.Stdout, os.Stderr, connect))
}

func connect(ctx context.Context) (API, error) {
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	return eventbridge.NewFromConfig(cfg), nil
}

var (
	// arn:<partition>:events:<region>:<account>:archive/<name>
	archiveARN = regexp.MustCompile(`^arn:aws[a-z-]*:events:([a-z0-9-]+):([0-9]{12}):archive/([.\-_A-Za-z0-9]{1,48})$`)
	// A rule of a custom bus: arn:<partition>:events:<region>:<account>:rule/<bus>/<name>.
	ruleARN = regexp.MustCompile(`^arn:aws[a-z-]*:events:([a-z0-9-]+):([0-9]{12}):rule/([.\-_A-Za-z0-9]{1,256})/([.\-_A-Za-z0-9]{1,64})$`)
	// arn:<partition>:events:<region>:<account>:event-bus/<name>
	busARN      = regexp.MustCompile(`^arn:aws[a-z-]*:events:([a-z0-9-]+):([0-9]{12}):event-bus/([.\-_A-Za-z0-9/]{1,256})$`)
	replayNames = regexp.MustCompile(`^[.\-_A-Za-z0-9]{1,64}$`)
)

// request is a validated command line.
type request struct {
	archive   string
	from, to  time.Time
	rules     []string // empty with -all-rules
	name      string
	wait      bool
	poll      time.Duration
	allRules  bool
	archiveNm string
}

// ruleFlags collects repeated -rule flags (each may also hold a comma-separated list).
type ruleFlags []string

func (r *ruleFlags) String() string { return strings.Join(*r, ",") }
func (r *ruleFlags) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*r = append(*r, s)
		}
	}
	return nil
}

var errUsage = errors.New("usage")

func parse(args []string, getenv func(string) string, now time.Time, stderr io.Writer) (request, error) {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rules ruleFlags
	archive := fs.String("archive", getenv(archiveEnv), "archive ARN (stack output EventArchiveArn; default $"+archiveEnv+")")
	from := fs.String("from", "", "start of the range, RFC 3339 (e.g. 2026-11-27T08:00:00Z)")
	to := fs.String("to", "", "end of the range, RFC 3339, after -from")
	fs.Var(&rules, "rule", "ARN of a rule on the archive's bus to replay to (repeatable, or comma-separated)")
	all := fs.Bool("all-rules", false, "replay to every rule of the bus (every consumer receives the events again)")
	name := fs.String("name", "", "replay name (default gateway-replay-<now>)")
	wait := fs.Bool("wait", false, "wait until the replay completes or fails")
	poll := fs.Duration("poll", 15*time.Second, "with -wait: how often to ask for the replay's state")
	if err := fs.Parse(args); err != nil {
		return request{}, errUsage
	}
	if fs.NArg() > 0 {
		return request{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	r := request{archive: *archive, rules: rules, name: *name, wait: *wait, poll: *poll, allRules: *all}
	m := archiveARN.FindStringSubmatch(r.archive)
	switch {
	case r.archive == "":
		return r, fmt.Errorf("-archive is required (or $%s): the stack output EventArchiveArn", archiveEnv)
	case m == nil:
		return r, fmt.Errorf("-archive %q is not an archive ARN (arn:aws:events:<region>:<account>:archive/<name>)", r.archive)
	}
	r.archiveNm = m[3]
	var err error
	if r.from, err = parseTime("-from", *from); err != nil {
		return r, err
	}
	if r.to, err = parseTime("-to", *to); err != nil {
		return r, err
	}
	switch {
	case !r.from.Before(r.to):
		return r, fmt.Errorf("-from %s is not before -to %s", *from, *to)
	case r.from.After(now):
		return r, fmt.Errorf("-from %s is in the future: nothing is archived yet", *from)
	case len(r.rules) == 0 && !r.allRules:
		return r, errors.New("-rule is required (the consumer's rule ARN), or -all-rules to replay to every consumer")
	case len(r.rules) > 0 && r.allRules:
		return r, errors.New("-rule and -all-rules exclude each other")
	case r.poll <= 0:
		return r, fmt.Errorf("-poll %s must be positive", r.poll)
	}
	for _, rule := range r.rules {
		if !ruleARN.MatchString(rule) {
			return r, fmt.Errorf("-rule %q is not the ARN of a rule on a custom bus (arn:aws:events:<region>:<account>:rule/<bus>/<name>)", rule)
		}
	}
	if r.name == "" {
		r.name = "gateway-replay-" + now.UTC().Format("20060102T150405Z")
	}
	if !replayNames.MatchString(r.name) {
		return r, fmt.Errorf("-name %q: 1 to 64 letters, digits, '.', '-' or '_'", r.name)
	}
	return r, nil
}

func parseTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, fmt.Errorf("%s is required (RFC 3339, e.g. 2026-11-27T08:00:00Z)", name)
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 time (e.g. 2026-11-27T08:00:00Z)", name, v)
	}
	return t, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, now func() time.Time, stdout, stderr io.Writer, dial func(context.Context) (API, error)) int {
	r, err := parse(args, getenv, now(), stderr)
	if errors.Is(err, errUsage) {
		return exitUsage
	}
	if err != nil {
		fmt.Fprintln(stderr, "replay:", err)
		return exitUsage
	}
	eb, err := dial(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "replay: AWS configuration:", err)
		return exitFail
	}
	if err := replay(ctx, eb, r, now, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "replay:", err)
		return exitFail
	}
	return exitOK
}

func replay(ctx context.Context, eb API, r request, now func() time.Time, stdout, stderr io.Writer) error {
	a, err := eb.DescribeArchive(ctx, &eventbridge.DescribeArchiveInput{ArchiveName: &r.archiveNm})
	if err != nil {
		return fmt.Errorf("archive %s: %w", r.archive, err)
	}
	bus := aws.ToString(a.EventSourceArn)
	bm := busARN.FindStringSubmatch(bus)
	if bm == nil {
		return fmt.Errorf("archive %s: source %q is not an event bus ARN", r.archive, bus)
	}
	if a.State != ebtypes.ArchiveStateEnabled {
		fmt.Fprintf(stderr, "replay: warning: archive %s is %s\n", r.archiveNm, a.State)
	}
	// Older events have expired: say so rather than replay less than asked in silence.
	if days := aws.ToInt32(a.RetentionDays); days > 0 && r.from.Before(now().AddDate(0, 0, -int(days))) {
		fmt.Fprintf(stderr, "replay: warning: -from is older than the archive's %d-day retention; earlier events are gone\n", days)
	}
	for _, rule := range r.rules {
		m := ruleARN.FindStringSubmatch(rule)
		if m[1] != bm[1] || m[2] != bm[2] || m[3] != bm[3] {
			return fmt.Errorf("-rule %s is not on the archive's bus %s: a replay reaches that bus's rules only", rule, bus)
		}
		if _, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: &m[4], EventBusName: &m[3]}); err != nil {
			return fmt.Errorf("-rule %s: %w", rule, err)
		}
	}
	dest := &ebtypes.ReplayDestination{Arn: &bus}
	if !r.allRules {
		dest.FilterArns = r.rules
	}
	out, err := eb.StartReplay(ctx, &eventbridge.StartReplayInput{
		ReplayName:     &r.name,
		Description:    aws.String("make replay-events"),
		EventSourceArn: &r.archive,
		EventStartTime: &r.from,
		EventEndTime:   &r.to,
		Destination:    dest,
	})
	if err != nil {
		return fmt.Errorf("starting replay %s: %w", r.name, err)
	}
	target := "rules " + strings.Join(r.rules, ", ")
	if r.allRules {
		target = "every rule of " + bus
	}
	fmt.Fprintf(stdout, "replay %s %s: %s to %s from %s to %s\n", r.name, out.State,
		r.archiveNm, target, r.from.UTC().Format(time.RFC3339), r.to.UTC().Format(time.RFC3339))
	fmt.Fprintln(stdout, "replayed events have new ids and a replay-name field; consumers dedupe on detail.metadata.idempotencyKey")
	if !r.wait {
		fmt.Fprintf(stdout, "progress: aws events describe-replay --replay-name %s\n", r.name)
		return nil
	}
	return waitFor(ctx, eb, r, stdout)
}

// waitFor polls DescribeReplay until the replay ends; a failed or cancelled replay is an error.
func waitFor(ctx context.Context, eb API, r request, stdout io.Writer) error {
	for {
		d, err := eb.DescribeReplay(ctx, &eventbridge.DescribeReplayInput{ReplayName: &r.name})
		if err != nil {
			return fmt.Errorf("replay %s: %w", r.name, err)
		}
		last := ""
		if t := d.EventLastReplayedTime; t != nil {
			last = ", events up to " + t.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "replay %s %s%s\n", r.name, d.State, last)
		switch d.State {
		case ebtypes.ReplayStateCompleted:
			return nil
		case ebtypes.ReplayStateFailed, ebtypes.ReplayStateCancelled:
			return fmt.Errorf("replay %s %s: %s", r.name, d.State, aws.ToString(d.StateReason))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("replay %s still %s: %w", r.name, d.State, ctx.Err())
		case <-time.After(r.poll):
		}
	}
}
