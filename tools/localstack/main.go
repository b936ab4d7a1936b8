// Command localstack runs the gateway on this machine without Docker: moto_server as the local AWS,
// each function's real `bootstrap` binary against a local Lambda Runtime API, a local HTTP API
// gateway on the template's routes, the Lambda Invoke API on the same address (for replays of
// quarantined deliveries: `make quarantine-replay`, and re-drives of deferred ones: `make redrive`),
// a switch that makes the event bus unavailable (`make bus-down`, `make bus-up`: bus.go), and a
// tail of every event that reaches the bus.
//
//	go run ./tools/localstack run    [-addr 127.0.0.1:3000]          (make run)
//	go run ./tools/localstack invoke -fn ShippingOtpFunction -event events/shipping-otp-api-key.json [-raw]  (make invoke)
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
	"github.com/amazon-webhook-gateway/gateway/tools/localstack/apigateway"
	"github.com/amazon-webhook-gateway/gateway/tools/localstack/lambdaruntime"
	"github.com/amazon-webhook-gateway/gateway/tools/samples"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runCmd(os.Args[2:])
	case "invoke":
		err = invokeCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "localstack:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: localstack run [-addr 127.0.0.1:3000] | localstack invoke -fn <LogicalId> -event <file> [-raw]")
	os.Exit(2)
}

// stack is a running local gateway.
type stack struct {
	root   string
	moto   *localaws.Moto
	awsCfg aws.Config
	res    *resources
	env    envFile
	jwks   *http.Server
	// jwksURL is where the development JWKS is served; it replaces events/env.json's OAUTH_JWKS_URL.
	jwksURL string
	// bus is the event bus switch the functions publish through (bus.go).
	bus       *busSwitch
	mu        sync.Mutex
	instances map[string]*lambdaruntime.Instance
	logs      io.Writer
}

type options struct {
	root     string
	jwksAddr string // "" serves no JWKS; port 0: a free one
	logs     io.Writer
	env      envFile // nil: events/env.json
}

// startStack builds the named functions (all when fns is empty) and starts moto, the resources,
// the development JWKS and one runtime instance per function.
func startStack(ctx context.Context, o options, fns []string) (*stack, error) {
	env := o.env
	if env == nil {
		var err error
		if env, err = loadEnvFile(o.root); err != nil {
			return nil, err
		}
	}
	if len(fns) == 0 {
		for fn := range env {
			fns = append(fns, fn)
		}
		sort.Strings(fns)
	}
	for _, fn := range fns {
		if _, ok := env[fn]; !ok {
			return nil, fmt.Errorf("function %s has no environment in events/env.json", fn)
		}
	}
	s := &stack{root: o.root, env: env, instances: map[string]*lambdaruntime.Instance{}, logs: o.logs}
	binaries, err := buildFunctions(ctx, o.root, fns, o.logs)
	if err != nil {
		return nil, err
	}
	if s.moto, err = localaws.StartMoto(); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	if s.awsCfg, err = localaws.Config(ctx); err != nil {
		return nil, err
	}
	s.bus = newBusSwitch(s.moto.Endpoint, o.logs)
	if s.res, err = createResources(ctx, s.awsCfg, o.root, env); err != nil {
		return nil, err
	}
	if o.jwksAddr != "" {
		if s.jwks, s.jwksURL, err = serveJWKS(o.root, o.jwksAddr); err != nil {
			return nil, err
		}
	}
	for _, fn := range fns {
		inst, err := lambdaruntime.Start(ctx, lambdaruntime.Function{
			Name: fn, Binary: binaries[fn], Env: s.withBus(s.functionEnv(fn)), Timeout: 4 * time.Second, MemoryMB: 256,
		}, o.logs)
		if err != nil {
			var ie *lambdaruntime.InitError
			if errors.As(err, &ie) {
				fmt.Fprintf(o.logs, "[%s] %s\n", fn, ie.Report)
			}
			return nil, fmt.Errorf("%s: %w", fn, err)
		}
		s.instances[fn] = inst
	}
	ok = true
	return s, nil
}

// functionEnv is events/env.json's environment plus what points the SDK at moto.
func (s *stack) functionEnv(fn string) map[string]string {
	env := map[string]string{}
	for k, v := range s.env[fn] {
		env[k] = v
	}
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		env[k] = os.Getenv(k)
	}
	if env["OAUTH_JWKS_URL"] != "" && s.jwksURL != "" {
		env["OAUTH_JWKS_URL"] = s.jwksURL
	}
	return env
}

// Invoke runs one invocation on fn's instance; it is the gateway's Invoker.
func (s *stack) Invoke(ctx context.Context, fn string, payload []byte) ([]byte, string, error) {
	s.mu.Lock()
	inst, ok := s.instances[fn]
	s.mu.Unlock()
	if !ok {
		return nil, "", fmt.Errorf("function %s is not running", fn)
	}
	r, err := inst.Invoke(ctx, payload)
	if err != nil {
		return nil, "", err
	}
	return r.Payload, r.FunctionError, nil
}

// functionNames maps every name a running function answers to on the Invoke API to its logical
// ID: the logical ID, and the AWS_LAMBDA_FUNCTION_NAME it runs with (the runtime sets the logical
// ID unless events/env.json names another), which is what quarantine records name.
func (s *stack) functionNames() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := map[string]string{}
	for fn := range s.instances {
		names[fn] = fn
		if n := s.env[fn]["AWS_LAMBDA_FUNCTION_NAME"]; n != "" {
			names[n] = fn
		}
	}
	return names
}

// handler serves the HTTP API on routes and, under /2015-03-31/functions/, the Lambda Invoke
// API of the stack's functions.
func (s *stack) handler(routes []apigateway.Route, logs io.Writer) (http.Handler, error) {
	for _, r := range routes {
		if strings.HasPrefix(r.Path, invokePrefix) {
			return nil, fmt.Errorf("route %s %s is where the local Lambda Invoke API is served", r.Method, r.Path)
		}
		if strings.HasPrefix(r.Path, busPath) {
			return nil, fmt.Errorf("route %s %s is where the local event bus switch is served", r.Method, r.Path)
		}
	}
	caller, err := loadLookupCaller(s.root)
	if err != nil {
		return nil, err
	}
	sigv4 := &apigateway.SigV4{Region: localaws.Region, Principals: []apigateway.Principal{caller}}
	api, err := apigateway.NewHandler(apigateway.Config{Routes: routes, Invoker: s, Log: logs, SigV4: sigv4})
	if err != nil {
		return nil, err
	}
	invoke := &invokeAPI{functions: s.functionNames(), invoker: s, log: logs}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, invokePrefix) {
			invoke.ServeHTTP(w, r)
			return
		}
		if s.bus != nil && (r.URL.Path == busPath || strings.HasPrefix(r.URL.Path, busPath+"/")) {
			s.bus.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}), nil
}

// lookupCallerFile holds the development caller of the IAM routes: the keys the local gateway
// verifies SigV4 signatures against, and the identity it hands the function.
const lookupCallerFile = "events/dev/lookup-caller.json"

func loadLookupCaller(root string) (apigateway.Principal, error) {
	var p apigateway.Principal
	b, err := os.ReadFile(filepath.Join(root, lookupCallerFile))
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err == nil && (p.AccessKeyID == "" || p.SecretAccessKey == "") {
		err = errors.New("accessKeyId or secretAccessKey missing")
	}
	if err != nil {
		return apigateway.Principal{}, fmt.Errorf("%s: %w", lookupCallerFile, err)
	}
	return p, nil
}

func (s *stack) Close() {
	for _, inst := range s.instances {
		_ = inst.Close()
	}
	if s.jwks != nil {
		_ = s.jwks.Close()
	}
	if s.bus != nil {
		s.bus.Close()
	}
	s.moto.Stop()
}

// buildFunctions builds each function exactly as `sam build` does (make build-<LogicalId>), for
// this machine's architecture so the binaries run here.
func buildFunctions(ctx context.Context, root string, fns []string, logs io.Writer) (map[string]string, error) {
	out := map[string]string{}
	for _, fn := range fns {
		dir := filepath.Join(root, ".aws-sam", "local", fn)
		cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "build-"+fn, "ARTIFACTS_DIR="+dir, "LAMBDA_GOARCH="+runtime.GOARCH)
		cmd.Dir = root
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("building %s: %w\n%s", fn, err, stderr.String())
		}
		out[fn] = filepath.Join(dir, "bootstrap")
		fmt.Fprintf(logs, "built %s\n", out[fn])
	}
	return out, nil
}

// serveJWKS publishes events/dev/jwks.json on addr (port 0: a free one, so that `make run` and
// `make invoke` can run together) and returns its URL, which the functions get as OAUTH_JWKS_URL.
func serveJWKS(root, addr string) (*http.Server, string, error) {
	jwks, err := os.ReadFile(filepath.Join(root, "events", "dev", "jwks.json"))
	if err != nil {
		return nil, "", err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("development JWKS on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return srv, "http://" + l.Addr().String() + "/.well-known/jwks.json", nil
}

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:3000", "address of the local HTTP API")
	jwksAddr := fs.String("jwks-addr", "127.0.0.1:0", "address of the development JWKS (port 0: a free one; the functions get its URL as OAUTH_JWKS_URL)")
	_ = fs.Parse(args)
	root, err := repoRoot()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := startStack(ctx, options{root: root, jwksAddr: *jwksAddr, logs: os.Stderr}, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	routes, err := apigateway.RoutesFromTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		return err
	}
	h, err := s.handler(routes, os.Stderr)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	go tail(ctx, s.awsCfg, s.res.tailQueueURL, os.Stdout)
	printBanner(os.Stdout, root, "http://"+l.Addr().String(), routes, s)
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "stopping")
	return nil
}

func printBanner(w io.Writer, root, base string, routes []apigateway.Route, s *stack) {
	fmt.Fprintf(w, "\nLocal AWS (moto): %s\nHTTP API:         %s\n", s.moto.Endpoint, base)
	for _, r := range routes {
		auth := ""
		if r.Auth == apigateway.AuthIAM {
			auth = "  (IAM: SigV4-signed only)"
		}
		fmt.Fprintf(w, "  %-5s %s%s  -> %s%s\n", r.Method, base, r.Path, r.Function, auth)
	}
	creds, _ := os.ReadFile(filepath.Join(root, "events", "dev", "credentials.json"))
	var c struct {
		APIKeys []string `json:"apiKeys"`
	}
	_ = json.Unmarshal(creds, &c)
	fmt.Fprintf(w, "Development credentials: events/dev/ (Shipping API key header X-API-KEY: %s)\n", strings.Join(c.APIKeys, ", "))
	// The samples' bodies: written out so the curl lines need no other tool, except Amazon's
	// example of a usable OTP, whose TTL (2099) is beyond ShippingOtpMaxTtlDays: sent as it is, it
	// is quarantined. tools/samplebody prints its body with the TTL an hour from the moment the
	// line is run (tools/samples), however long after this banner that is.
	for _, sm := range []struct {
		event, file, title string
		fresh              bool
	}{
		{"shipping-otp-api-key.json", "seed-sample.json", "the seed sample (its OTP expired in January 2024: Shipping OTP Expired On Arrival)", false},
		{"shipping-otp-valid.json", "", "a usable OTP (Amazon's example, its 2099 TTL set to an hour from now by tools/samplebody: Shipping OTP Generated)", true},
		{"shipping-tracking-delivered.json", "tracking-sample.json", "a tracking update (Shipping Tracking Updated)", false},
	} {
		if len(c.APIKeys) == 0 {
			break
		}
		curl := fmt.Sprintf("curl -s -X POST %s/shipping/notifications -H 'Content-Type: application/json' -H 'X-API-KEY: %s'", base, c.APIKeys[0])
		if sm.fresh {
			if _, err := os.Stat(filepath.Join(root, "events", sm.event)); err == nil {
				fmt.Fprintf(w, "Try %s, from this folder:\n  %s events/%s | %s --data-binary @-\n", sm.title, sampleBodyCommand, sm.event, curl)
			}
			continue
		}
		if sample, err := writeSampleBody(root, sm.event, sm.file); err == nil {
			fmt.Fprintf(w, "Try %s:\n  %s --data @%s\n", sm.title, curl, sample)
		}
	}
	printLookupHelp(w, root, base, routes)
	printQuarantineHelp(w, base, s)
	printBusHelp(w, root, base)
	for _, line := range s.res.skipped {
		fmt.Fprintf(w, "Not created locally: %s\n", line)
	}
	fmt.Fprintf(w, "Events reaching the bus are printed below. Ctrl-C stops everything.\n\n")
}

// printLookupHelp prints the development caller's keys, which the gateway verifies the IAM
// routes' signatures against, and a ready command that signs a lookup of the valid sample's OTP.
func printLookupHelp(w io.Writer, root, base string, routes []apigateway.Route) {
	iam := false
	for _, r := range routes {
		iam = iam || r.Auth == apigateway.AuthIAM
	}
	caller, err := loadLookupCaller(root)
	if !iam || err != nil {
		return
	}
	env := fmt.Sprintf("AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=%s", caller.AccessKeyID, caller.SecretAccessKey, localaws.Region)
	fmt.Fprintf(w, "IAM routes: SigV4 (service execute-api, region %s) with the development caller of %s (%s); unsigned or wrongly signed calls get 403.\n",
		localaws.Region, lookupCallerFile, caller.UserARN)
	fmt.Fprintf(w, "Look up the valid sample's OTP, and the tracking sample's state, once posted:\n")
	fmt.Fprintf(w, "  %s make lookup ID=%s BASE=%s/shipping/\n", env, validSampleTrackingID, base)
	fmt.Fprintf(w, "  %s make lookup KIND=tracking ID=%s BASE=%s/shipping/\n", env, trackingSampleTrackingID, base)
}

// sampleBodyCommand prints a sample's body with its still-valid OTPs' TTL an hour from now.
const sampleBodyCommand = "go run ./tools/samplebody"

// The tracking IDs of events/shipping-otp-valid.json and events/shipping-tracking-delivered.json,
// which the banner's lookups name (TestEveryBannerCommandAnswers200 runs them).
const (
	validSampleTrackingID    = "1709913037960"
	trackingSampleTrackingID = "1709913037944"
)

// printQuarantineHelp tells how to run the quarantine CLI against this stack: its S3 in moto,
// its Lambda Invoke API on base.
func printQuarantineHelp(w io.Writer, base string, s *stack) {
	names := s.functionNames()
	var fns []string
	for n := range names {
		fns = append(fns, n)
	}
	sort.Strings(fns)
	fmt.Fprintf(w, "Lambda Invoke API: POST %s%s<name>/invocations  (<name>: %s)\n", base, invokePrefix, strings.Join(fns, ", "))
	if len(s.res.payloadBuckets) == 0 {
		return
	}
	fmt.Fprintf(w, "Quarantined and deferred deliveries (bucket %s), from another terminal:\n", strings.Join(s.res.payloadBuckets, ", "))
	fmt.Fprintf(w, "  export AWS_ENDPOINT_URL=%s AWS_ENDPOINT_URL_LAMBDA=%s AWS_REGION=%s AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing PAYLOAD_BUCKET=%s\n",
		s.moto.Endpoint, base, localaws.Region, s.res.payloadBuckets[0])
	fmt.Fprintf(w, "  make quarantine                  (list; ARGS='-webhook shipping')\n")
	fmt.Fprintf(w, "  make quarantine-replay ALL=1     (or KEYS='quarantine/shipping/<id>.json ...')\n")
	if env := s.env["ShippingOtpFunction"]; env["OTP_TABLE_NAME"] != "" && env["TRACKING_TABLE_NAME"] != "" {
		fmt.Fprintf(w, "  OTP_TABLE_NAME=%s TRACKING_TABLE_NAME=%s make pins   (OTPs valid beyond ShippingOtpMaxTtlDays, future tracking states; DELETE=1 deletes them)\n",
			env["OTP_TABLE_NAME"], env["TRACKING_TABLE_NAME"])
	}
	if s.res.archiveArn != "" {
		// moto replays the whole archive to every matching rule: FROM/TO and RULE are not honoured.
		fmt.Fprintf(w, "Archived events (archive %s; moto ignores the time range and RULE):\n", s.res.archiveArn)
		fmt.Fprintf(w, "  make replay-events ARCHIVE=%s FROM=<RFC 3339> TO=<RFC 3339> RULE=<rule arn>\n", s.res.archiveArn)
	}
}

// tail prints every event the rule delivers to the tail queue.
func tail(ctx context.Context, cfg aws.Config, queueURL string, w io.Writer) {
	q := sqs.NewFromConfig(cfg)
	for ctx.Err() == nil {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &queueURL, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		for _, m := range out.Messages {
			printEvent(w, aws.ToString(m.Body))
			_, _ = q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &queueURL, ReceiptHandle: m.ReceiptHandle})
		}
	}
}

// printEvent prints one event the tail rule delivered, indented.
func printEvent(w io.Writer, body string) {
	var pretty bytes.Buffer
	if json.Indent(&pretty, []byte(body), "  ", "  ") != nil {
		pretty.WriteString(body)
	}
	fmt.Fprintf(w, "EVENT %s\n  %s\n", time.Now().UTC().Format(time.RFC3339), pretty.String())
}

func invokeCmd(args []string) error {
	fs := flag.NewFlagSet("invoke", flag.ExitOnError)
	fn := fs.String("fn", "", "function LogicalId, e.g. ShippingOtpFunction")
	event := fs.String("event", "", "event file, e.g. events/shipping-otp-api-key.json")
	jwksAddr := fs.String("jwks-addr", "127.0.0.1:0", "address of the development JWKS (port 0: a free one)")
	raw := fs.Bool("raw", false, "send the event as the file holds it: a Shipping sample's still-valid OTPs keep their TTL (2099: quarantined)")
	_ = fs.Parse(args)
	if *fn == "" || *event == "" {
		usage()
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	return invoke(context.Background(), os.Stdout, options{root: root, jwksAddr: *jwksAddr, logs: os.Stderr}, *fn, *event, *raw)
}

// invoke runs fn once with the payload of eventFile on a stack of its own, and writes the answer
// and the events the invocation published to w. Unless raw, the still-valid OTP entries of a
// Shipping sample are sent with a TTL an hour from now (tools/samples), since the 2099 TTL of
// Amazon's example is beyond ShippingOtpMaxTtlDays and would be quarantined.
func invoke(ctx context.Context, w io.Writer, o options, fn, eventFile string, raw bool) error {
	payload, err := os.ReadFile(eventFile)
	if err != nil {
		return err
	}
	if !raw {
		now := time.Now()
		ttl := now.Add(samples.Validity)
		fresh, n, err := samples.RefreshEvent(payload, now, ttl)
		if err != nil {
			return fmt.Errorf("%s: %w", eventFile, err)
		}
		if n > 0 {
			entries := map[bool]string{true: "entry", false: "entries"}[n == 1]
			fmt.Fprintf(o.logs, "verificationCodeTTL of %d OTP %s of %s set to %s, an hour from now (-raw sends the file as it is)\n",
				n, entries, eventFile, ttl.UTC().Format(time.RFC3339))
		}
		payload = fresh
	}
	s, err := startStack(ctx, o, []string{fn})
	if err != nil {
		return err
	}
	defer s.Close()
	r, err := s.instances[fn].Invoke(ctx, payload)
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, r.Payload, "", "  ") != nil {
		pretty.Write(r.Payload)
	}
	fmt.Fprintln(w, pretty.String())
	if r.FunctionError != "" {
		return fmt.Errorf("function error %s", r.FunctionError)
	}
	// What the invocation published, as `make run` prints it.
	published, err := localaws.ReceiveAll(ctx, s.awsCfg, s.res.tailQueueURL, 100)
	if err != nil {
		return fmt.Errorf("reading the events published: %w", err)
	}
	fmt.Fprintf(w, "%d events published\n", len(published))
	for _, e := range published {
		printEvent(w, e)
	}
	return nil
}

// repoRoot is the folder holding template.yaml, searched upwards from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "template.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("template.yaml not found in this folder or above")
		}
		dir = parent
	}
}
