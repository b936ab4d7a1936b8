// Command quarantine lists, shows, replays, re-drives and deletes the deliveries the webhook
// functions keep in the payload bucket (see shared/quarantine), in three places:
//
//	quarantine/<webhook>/      quarantined: authenticated, but not processable (invalid payload,
//	                           unknown shape, a bug); replay sends them back after a fix
//	deferred/<webhook>/        deferred: valid, kept while a dependency (the bus, DynamoDB) was
//	                           unavailable; in AWS they are re-driven automatically, redrive does
//	                           it by hand (the local stack has no automatic re-drive)
//	deferred-dead/<webhook>/   deferred deliveries not re-driven within the retention
//
// The commands:
//
//	quarantine list    [-place quarantine|deferred|dead] [-webhook W]
//	quarantine show    [-body] KEY
//	quarantine replay  [-all | KEY...] [-webhook W] [-dry-run] [-function W=NAME]...
//	quarantine redrive [-all | KEY...] [-dead] [-webhook W] [-dry-run] [-function W=NAME]...
//	quarantine delete  KEY...
//
// show and delete take keys of every place; delete discards. replay deletes each delivery its
// function processed; redrive deletes nothing: the function deletes (or moves) the deferred
// object itself once its answer is final. Both exit 1 unless every delivery ended final.
//
// Every command takes -bucket (default $PAYLOAD_BUCKET). The AWS configuration is the default
// chain's (shared/awsconfig); AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_LAMBDA point it at a local
// stack (`make run` prints them). A request body is printed only by show -body. The logic is in
// tools/quarantine/admin.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/amazon-webhook-gateway/gateway/shared/awsconfig"
	"github.com/amazon-webhook-gateway/gateway/tools/quarantine/admin"
)

// bucketEnv is the bucket's variable, as the functions read it.
const bucketEnv = "PAYLOAD_BUCKET"

const usageText = `usage: quarantine <command> [flags] [arguments]

The webhook functions keep deliveries whole in the payload bucket (webhook: shipping, aps,
amazon-pay), in three places (-place):
  quarantine  quarantine/<webhook>/     authenticated but not processable; replay after a fix
  deferred    deferred/<webhook>/       valid, kept while a dependency was unavailable; in AWS
                                        re-driven automatically, by hand with redrive
  dead        deferred-dead/<webhook>/  deferred, not re-driven within the retention

commands:
  list    [-place P] [-webhook W]
          one line per delivery of place P (default quarantine): key, webhook, account,
          function, reason, field, quarantined (or deferred) at, size
  show    [-body] KEY
          a delivery's record (any place) and its request's method, path, content type and
          body length; -body also prints the body, which may hold OTPs or card data
  replay  [-all | KEY...] [-webhook W] [-dry-run] [-function W=NAME]...
          invoke each quarantined delivery's function with a replay order; a delivery it
          processes (200) is deleted, any other answer keeps it; exits 1 unless every
          delivery was replayed
  redrive [-all | KEY...] [-dead] [-webhook W] [-dry-run] [-function W=NAME]...
          invoke each deferred delivery's function with a re-drive order (-all: every one under
          deferred/, or deferred-dead/ with -dead); the function deletes the object itself
          once its answer is final (re-driven, or quarantined); it prints each answer and
          exits 1 unless every delivery ended final (dead-lettered, 409, 429, 503: not final)
  delete  KEY...
          delete deliveries of any place without replaying or re-driving them (discard)

every command takes -bucket NAME (default $PAYLOAD_BUCKET). The AWS configuration is the
default chain's; AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_LAMBDA point at a local stack.
'quarantine <command> -h' lists a command's flags.
`

// connector opens the bucket's store and the Lambda client.
type connector func(ctx context.Context, bucket string) (admin.Store, admin.Invoker, error)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, connect))
}

// connect is the real wiring: the default AWS configuration, the functions' S3 addressing.
func connect(ctx context.Context, bucket string) (admin.Store, admin.Invoker, error) {
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, nil, err
	}
	return admin.NewStore(cfg, bucket), admin.NewInvoker(cfg), nil
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// run parses the command line and runs the command. stdout gets the command's output, stderr
// the errors and usage.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, open connector) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	cmd, args := args[0], args[1:]
	if cmd == "help" || cmd == "-h" || cmd == "-help" || cmd == "--help" {
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	fs := flag.NewFlagSet("quarantine "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	bucket := fs.String("bucket", "", "the payload bucket (default $"+bucketEnv+")")
	var (
		webhook  = new(string)
		place    = new(string)
		body     = new(bool)
		all      = new(bool)
		dead     = new(bool)
		dryRun   = new(bool)
		fnFlag   = functionFlag{}
		synopsis string
	)
	const webhookUsage = "only this webhook's deliveries (shipping, aps, amazon-pay)"
	functionFlags := func() {
		fs.Var(fnFlag, "function", "with `W=NAME`, webhook W's deliveries go to function NAME, not to the one their record names (repeatable)")
		fs.Var(fnFlag, "function-name", "with `W=NAME`: same as -function")
	}
	switch cmd {
	case "list":
		synopsis = "list [-place quarantine|deferred|dead] [-webhook W]"
		fs.StringVar(place, "place", admin.Quarantine.Name, "the deliveries of this place: "+admin.PlaceNames())
		fs.StringVar(webhook, "webhook", "", webhookUsage)
	case "show":
		synopsis = "show [-body] KEY"
		fs.BoolVar(body, "body", false, "also print the request body (it may hold OTPs or card data)")
	case "replay":
		synopsis = "replay [-all | KEY...] [-webhook W] [-dry-run] [-function W=NAME]..."
		fs.BoolVar(all, "all", false, "replay every quarantined delivery (of -webhook, when given)")
		fs.StringVar(webhook, "webhook", "", webhookUsage)
		fs.BoolVar(dryRun, "dry-run", false, "print what would be replayed, invoke nothing")
		functionFlags()
	case "redrive":
		synopsis = "redrive [-all | KEY...] [-dead] [-webhook W] [-dry-run] [-function W=NAME]..."
		fs.BoolVar(all, "all", false, "re-drive every deferred delivery (of -webhook, when given): one sweep")
		fs.BoolVar(dead, "dead", false, "the dead-lettered deliveries (deferred-dead/) instead of deferred/")
		fs.StringVar(webhook, "webhook", "", webhookUsage)
		fs.BoolVar(dryRun, "dry-run", false, "print what would be re-driven, invoke nothing")
		functionFlags()
	case "delete":
		synopsis = "delete KEY..."
	default:
		fmt.Fprintf(stderr, "quarantine: unknown command %q\n\n%s", cmd, usageText)
		return exitUsage
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: quarantine %s\n", synopsis)
		fs.PrintDefaults()
	}
	positional, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage // the flag package has printed the error and the usage
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "quarantine %s: %s\n", cmd, fmt.Sprintf(format, a...))
		fs.Usage()
		return exitUsage
	}
	if *bucket == "" {
		*bucket = getenv(bucketEnv)
	}
	switch {
	case *bucket == "":
		return usageErr("no bucket: pass -bucket or set %s", bucketEnv)
	case (cmd == "list") && len(positional) > 0:
		return usageErr("unexpected arguments %q", positional)
	case cmd == "show" && len(positional) != 1:
		return usageErr("give exactly one key")
	case cmd == "delete" && len(positional) == 0:
		return usageErr("give the keys to delete")
	case cmd == "replay" && *all == (len(positional) > 0):
		return usageErr("give the keys to replay, or -all")
	case cmd == "redrive" && *all == (len(positional) > 0):
		return usageErr("give the keys to re-drive, or -all")
	}
	listPlace, err := admin.PlaceNamed(*place)
	if cmd == "list" && err != nil {
		return usageErr("%v", err)
	}
	if *webhook != "" {
		if err := admin.CheckWebhook(*webhook); err != nil {
			return usageErr("%v", err)
		}
	}
	// The places each command's keys may name.
	var keyPlaces []admin.Place
	switch {
	case cmd == "replay":
		keyPlaces = []admin.Place{admin.Quarantine}
	case cmd == "redrive" && *dead:
		keyPlaces = []admin.Place{admin.Dead}
	case cmd == "redrive":
		keyPlaces = []admin.Place{admin.Deferred, admin.Dead}
	}
	for _, k := range positional {
		if err := admin.CheckKey(k, keyPlaces...); err != nil {
			return usageErr("%v", err)
		}
	}

	store, invoker, err := open(ctx, *bucket)
	if err != nil {
		fmt.Fprintln(stderr, "quarantine:", err)
		return exitFail
	}
	switch cmd {
	case "list":
		err = admin.List(ctx, store, listPlace, *webhook, stdout)
	case "show":
		if *body {
			fmt.Fprintln(stderr, "quarantine: printing the request body; it may hold OTPs or card data")
		}
		err = admin.Show(ctx, store, positional[0], *body, stdout)
	case "delete":
		err = admin.Delete(ctx, store, positional, stdout)
	case "replay":
		var s admin.Summary
		s, err = admin.Replay(ctx, store, invoker, admin.ReplayOptions{
			Keys: positional, All: *all, Webhook: *webhook, DryRun: *dryRun, Functions: fnFlag,
		}, stdout)
		if err == nil && !s.OK() {
			return exitFail
		}
	case "redrive":
		var s admin.RedriveSummary
		s, err = admin.Redrive(ctx, store, invoker, admin.RedriveOptions{
			Keys: positional, All: *all, Dead: *dead, Webhook: *webhook, DryRun: *dryRun, Functions: fnFlag,
		}, stdout)
		if err == nil && !s.OK() {
			return exitFail
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "quarantine %s: %v\n", cmd, err)
		return exitFail
	}
	return exitOK
}

// parseInterspersed parses fs's flags wherever they are among the arguments (replay KEY
// -dry-run), and returns the other arguments. Everything after "--" is an argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// functionFlag is -function W=NAME, repeatable: the function to invoke for webhook W.
type functionFlag map[string]string

func (f functionFlag) String() string {
	var pairs []string
	for w, n := range f {
		pairs = append(pairs, w+"="+n)
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}

func (f functionFlag) Set(v string) error {
	webhook, name, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q is not WEBHOOK=FUNCTION, e.g. shipping=my-stack-ShippingOtpFunction-1A2B3C", v)
	}
	if err := admin.CheckWebhook(webhook); err != nil {
		return err
	}
	f[webhook] = name
	return nil
}
