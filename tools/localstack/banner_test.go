package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
	"github.com/amazon-webhook-gateway/gateway/tools/localstack/apigateway"
)

var (
	bannerCurl   = regexp.MustCompile(`curl -s -X POST (\S+) -H 'Content-Type: ([^']+)'(?: -H 'X-API-KEY: ([^']+)')? --data(?:-binary)? @(\S+)`)
	bannerLookup = regexp.MustCompile(`AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+) \S+ make lookup (?:KIND=(\S+) )?ID=(\S+) BASE=(\S+)`)
	bannerBus    = regexp.MustCompile(`make (bus-down|bus-up) ADDR=(\S+)`)
	// What the Makefile's bus-down and bus-up run.
	makeCurlPost = regexp.MustCompile(`curl -fsS -X POST '([^']+)'`)
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

	posts, lookups, switches, busDown := 0, 0, 0, false
	for line := range strings.Lines(banner.String()) {
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
			body, err := os.ReadFile(m[4])
			if err != nil {
				t.Fatal(err)
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
	if posts != 4 || lookups != 2 || switches != 2 {
		t.Errorf("the banner has %d sample posts, %d lookups and %d bus switches, want 4, 2 and 2:\n%s", posts, lookups, switches, banner.String())
	}
	if !strings.Contains(banner.String(), "make redrive") || !strings.Contains(banner.String(), "GET "+s.URL+busPath) {
		t.Errorf("the banner does not tell how to re-drive and read the switch:\n%s", banner.String())
	}
}
