package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
	"github.com/amazon-webhook-gateway/gateway/tools/localstack/apigateway"
)

var (
	bannerCurl   = regexp.MustCompile(`curl -s -X POST (\S+) -H 'Content-Type: ([^']+)'(?: -H 'X-API-KEY: ([^']+)')? --data(?:-binary)? @(\S+)`)
	bannerLookup = regexp.MustCompile(`AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+) \S+ make lookup (?:KIND=(\S+) )?ID=(\S+) BASE=(\S+)`)
	bannerBus    = regexp.MustCompile(`make (bus-down|bus-up) ADDR=(\S+)`)
	// What the Makefile's bus-down and bus-up run.
	makeCurlPost = regexp.MustCompile(`curl -fsS -X POST '([^']+)'`)
	// A body piped into curl: `<sampleBodyCommand> <file> | curl ... @-`.
	bannerPipe = regexp.MustCompile(`^\s*` + regexp.QuoteMeta(sampleBodyCommand) + ` (\S+) \| curl `)
	ttlInBody  = regexp.MustCompile(`"verificationCodeTTL"\s*:\s*(\d+)`)
	bannerEnv  = regexp.MustCompile(`^\s*export (.+)$`)
	bannerPins = regexp.MustCompile(`^\s*OTP_TABLE_NAME=(\S+) TRACKING_TABLE_NAME=(\S+) make pins `)
)

// makeDryRun is the command `make -n args...` would run in the repository.
func makeDryRun(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("make", append([]string{"-n", "--no-print-directory"}, args...)...)
	cmd.Dir = localaws.RepoRoot()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Every command `make run` prints answers 200 through the stack, in the order printed: the
// samples' curl lines, then the signed lookups of what they stored, then the bus switch's make
// targets (the request each Makefile target sends), between which the APS sample is deferred.
func TestEveryBannerCommandAnswers200(t *testing.T) {
	ctx := context.Background()
	s := serveStack(t, ctx, "ApsFunction", "ShippingLookupFunction", "ShippingOtpFunction")
	var banner bytes.Buffer
	printBanner(&banner, localaws.RepoRoot(), s.URL, s.Routes, s.stack)

	posts, lookups, switches, pins, busDown := 0, 0, 0, 0, false
	var exports []string
	for line := range strings.Lines(banner.String()) {
		if m := bannerEnv.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			exports = strings.Fields(m[1])
		}
		if m := bannerPins.FindStringSubmatch(line); m != nil {
			pins++
			checkPinsLine(t, s.awsCfg, m[1], append(exports, "OTP_TABLE_NAME="+m[1], "TRACKING_TABLE_NAME="+m[2]))
		}
		if m := bannerBus.FindStringSubmatch(line); m != nil {
			switches++
			curl := makeCurlPost.FindStringSubmatch(makeDryRun(t, m[1], "ADDR="+m[2]))
			if curl == nil {
				t.Fatalf("make %s ADDR=%s sends no POST", m[1], m[2])
			}
			req, _ := http.NewRequest("POST", curl[1], nil)
			status, answer := do(t, req)
			busDown = m[1] == "bus-down"
			want := map[bool]string{true: `"bus":"down"`, false: `"bus":"up"`}[busDown]
			if status != 200 || !strings.Contains(answer, want) {
				t.Errorf("make %s: %d %s, want 200 and %s", m[1], status, answer, want)
			}
		}
		if m := bannerCurl.FindStringSubmatch(line); m != nil {
			posts++
			var body []byte
			if p := bannerPipe.FindStringSubmatch(line); p != nil && m[4] == "-" {
				body = runSampleBody(t, p[1])
			} else {
				var err error
				if body, err = os.ReadFile(m[4]); err != nil {
					t.Fatal(err)
				}
			}
			req, _ := http.NewRequest("POST", m[1], bytes.NewReader(body))
			req.Header.Set("Content-Type", m[2])
			if m[3] != "" {
				req.Header.Set("X-API-KEY", m[3])
			}
			status, answer := do(t, req)
			switch {
			case busDown && (status != 202 || !strings.Contains(answer, `"status":"deferred"`)):
				t.Errorf("with the bus down, %s: %d %s, want 202 deferred", strings.TrimSpace(line), status, answer)
			case !busDown && status != 200:
				t.Errorf("%s: %d %s", strings.TrimSpace(line), status, answer)
			}
		}
		if m := bannerLookup.FindStringSubmatch(line); m != nil {
			lookups++
			kind := m[3]
			if kind == "" {
				kind = "otps" // the Makefile's KIND default
			}
			req, _ := http.NewRequest("GET", m[5]+kind+"/"+m[4], nil)
			empty := sha256.Sum256(nil)
			creds := aws.Credentials{AccessKeyID: m[1], SecretAccessKey: m[2]}
			if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(empty[:]), apigateway.Service, localaws.Region, time.Now()); err != nil {
				t.Fatal(err)
			}
			if status, answer := do(t, req); status != 200 {
				t.Errorf("lookup %s %s: %d %s", kind, m[4], status, answer)
			}
		}
	}
	if posts != 4 || lookups != 2 || switches != 2 || pins != 1 {
		t.Errorf("the banner has %d sample posts, %d lookups, %d bus switches and %d pins commands, want 4, 2, 2 and 1:\n%s", posts, lookups, switches, pins, banner.String())
	}
	if !strings.Contains(banner.String(), "make redrive") || !strings.Contains(banner.String(), "GET "+s.URL+busPath) {
		t.Errorf("the banner does not tell how to re-drive and read the switch:\n%s", banner.String())
	}
}

// runSampleBody runs the banner's command that prints file's body from the repository, and checks
// that it gives the OTP of Amazon's example (TTL 2099) a TTL an hour from now: sent as the file
// holds it, it would be quarantined (ShippingOtpMaxTtlDays).
func runSampleBody(t *testing.T, file string) []byte {
	t.Helper()
	args := append(strings.Fields(sampleBodyCommand), file)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = localaws.RepoRoot()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	before := time.Now()
	body, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	m := ttlInBody.FindSubmatch(body)
	if m == nil {
		t.Fatalf("%s printed no OTP:\n%s", strings.Join(args, " "), body)
	}
	ttl, _ := strconv.ParseInt(string(m[1]), 10, 64)
	if lo, hi := before.Add(time.Hour).UnixMilli(), time.Now().Add(time.Hour).UnixMilli(); ttl < lo || ttl > hi {
		t.Errorf("%s printed verificationCodeTTL %d, want an hour from now (%d..%d)", strings.Join(args, " "), ttl, lo, hi)
	}
	return body
}

// make invoke sends a Shipping sample's still-valid OTPs with a TTL an hour from now, through the
// local runtime (invoke, tested by TestInvokePrintsTheEventsItPublished) and through
// sam local invoke (tools/samplebody's event on stdin); RAW=1 sends the file as it is.
func TestMakeInvokeRefreshesTheTTLUnlessRaw(t *testing.T) {
	for _, tc := range []struct {
		args          []string
		want, wantNot string
	}{
		{[]string{"invoke"}, "localstack invoke -fn ShippingOtpFunction -event events/shipping-otp-valid.json", "-raw"},
		{[]string{"invoke", "RAW=1"}, "localstack invoke -fn ShippingOtpFunction -event events/shipping-otp-valid.json -jwks-addr 127.0.0.1:0 -raw", ""},
		{[]string{"invoke", "USE_SAM=1"}, sampleBodyCommand + " -event events/shipping-otp-valid.json | sam local invoke ShippingOtpFunction --event - ", ""},
		{[]string{"invoke", "USE_SAM=1", "RAW=1"}, "sam local invoke ShippingOtpFunction --event events/shipping-otp-valid.json ", "samplebody"},
	} {
		got := makeDryRun(t, tc.args...)
		if !strings.Contains(got, tc.want) || (tc.wantNot != "" && strings.Contains(got, tc.wantNot)) {
			t.Errorf("make %s runs:\n%s\nwant %q, and not %q", strings.Join(tc.args, " "), got, tc.want, tc.wantNot)
		}
	}
}

// checkPinsLine runs the banner's `make pins` with the exports printed above it: after the samples
// it finds nothing; an OTP valid until 2099 planted in the local table is reported (the command
// exits 1, so make fails) and, with DELETE=1, deleted (exit 0).
func checkPinsLine(t *testing.T, cfg aws.Config, otpTable string, env []string) {
	t.Helper()
	makePins := func(args ...string) (int, string) {
		cmd := exec.Command("make", append([]string{"--no-print-directory", "pins"}, args...)...)
		cmd.Dir = localaws.RepoRoot()
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("make pins: %v", err)
		}
		return cmd.ProcessState.ExitCode(), string(out)
	}
	if code, out := makePins(); code != 0 {
		t.Errorf("make pins after the samples: exit %d\n%s", code, out)
	}
	_, err := dynamodb.NewFromConfig(cfg).PutItem(context.Background(), &dynamodb.PutItemInput{TableName: &otpTable, Item: map[string]ddbtypes.AttributeValue{
		"trackingId": &ddbtypes.AttributeValueMemberS{Value: "PINNED-1"}, "verificationCode": &ddbtypes.AttributeValueMemberS{Value: "909090"},
		"verificationCodeTTL": &ddbtypes.AttributeValueMemberN{Value: "4102444799000"}, "expiresAt": &ddbtypes.AttributeValueMemberN{Value: "4102444799"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// The command exits 1, make fails with it.
	if code, out := makePins(); code == 0 || !strings.Contains(out, "Error 1") ||
		!strings.Contains(out, "otp\tPINNED-1\t-\tverificationCodeTTL=2099-12-31T23:59:59Z\t") || strings.Contains(out, "909090") {
		t.Errorf("make pins with a pin planted: exit %d\n%s", code, out)
	}
	if code, out := makePins("DELETE=1"); code != 0 || !strings.Contains(out, "PINNED-1") {
		t.Errorf("make pins DELETE=1: exit %d\n%s", code, out)
	}
	if code, out := makePins(); code != 0 || strings.Contains(out, "PINNED-1") {
		t.Errorf("make pins after DELETE=1: exit %d\n%s", code, out)
	}
}
