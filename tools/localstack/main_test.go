package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/tests/emfcheck"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
	"github.com/amazon-webhook-gateway/gateway/tools/localstack/apigateway"
	"github.com/amazon-webhook-gateway/gateway/tools/localstack/lambdaruntime"
	"github.com/amazon-webhook-gateway/gateway/tools/samples"
)

// TestEnvFileMatchesTemplate: events/env.json gives every built function exactly the variables
// template.yaml gives it, so the local stack and `sam local invoke` run what is deployed.
func TestEnvFileMatchesTemplate(t *testing.T) {
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	env, err := loadEnvFile(localaws.RepoRoot())
	if err != nil {
		t.Fatal(err)
	}
	var functions []string
	for id, r := range tmpl.Resources {
		if r.Type == "AWS::Serverless::Function" {
			functions = append(functions, id)
		}
	}
	sort.Strings(functions)
	var inFile []string
	for fn := range env {
		inFile = append(inFile, fn)
	}
	sort.Strings(inFile)
	if !slices.Equal(functions, inFile) {
		t.Fatalf("template functions %v, events/env.json functions %v", functions, inFile)
	}
	for _, fn := range functions {
		want := tmpl.FunctionEnv(fn)
		sort.Strings(want)
		var got []string
		for k := range env[fn] {
			got = append(got, k)
		}
		sort.Strings(got)
		if !slices.Equal(want, got) {
			t.Errorf("%s: template %v, events/env.json %v", fn, want, got)
		}
	}
}

func TestStackServesTheSeedSample(t *testing.T) {
	skipWithoutMoto(t)
	var logs testenv.LogBuffer
	ctx := context.Background()
	s, err := startStack(ctx, options{root: localaws.RepoRoot(), logs: &logs}, nil)
	if err != nil {
		t.Fatalf("%v\nlogs:\n%s", err, logs.String())
	}
	defer s.Close()
	routes, err := apigateway.RoutesFromTemplate(filepath.Join(localaws.RepoRoot(), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := apigateway.NewHandler(apigateway.Config{Routes: routes, Invoker: s, Log: &logs})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	// The seed sample and the valid one, posted over HTTP as Amazon would, with the development API
	// key, as the banner's lines send them. The seed's OTP expired in January 2024: expired on
	// arrival; the valid one's TTL (2099, beyond ShippingOtpMaxTtlDays) is sent an hour from now.
	sample := testenv.LoadEvent(t, "shipping-otp-api-key.json")
	for _, name := range []string{"shipping-otp-api-key.json", "shipping-otp-valid.json"} {
		ev := testenv.LoadEvent(t, name)
		now := time.Now()
		sent, _ := samples.RefreshBody([]byte(ev.Body), now, now.Add(samples.Validity))
		req, _ := http.NewRequest("POST", srv.URL+"/shipping/notifications", bytes.NewReader(sent))
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set("X-API-KEY", ev.Headers["x-api-key"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 200 || body["status"] != "accepted" {
			t.Fatalf("%s: got %d %v\nlogs:\n%s", name, resp.StatusCode, body, logs.String())
		}
	}

	// Read back as a consumer would, with a clock at which the seed's code would still be valid:
	// the valid OTP is in the local table, the seed's code is not.
	table := s.env["ShippingOtpFunction"]["OTP_TABLE_NAME"]
	store := otpstore.New(dynamodb.NewFromConfig(s.awsCfg), table, func() time.Time { return time.Date(2024, 1, 13, 0, 0, 0, 0, time.UTC) })
	otp, err := store.ByAlternateLegTrackingID(ctx, "1709912326420")
	if err != nil || otp.Code != "417305" || otp.TrackingID != "1709913037960" {
		t.Fatalf("stored OTP: %+v, %v", otp, err)
	}
	for _, id := range []string{"1709913037944", otpstore.ExpiredKey(account.Default, "1709913037944")} {
		if otp, err := store.ByTrackingID(ctx, id); err != otpstore.ErrNotFound {
			t.Errorf("the seed's OTP under %s: %+v, %v", id, otp, err)
		}
	}
	if otp, err := store.ByAlternateLegTrackingID(ctx, "1709912326405"); err != otpstore.ErrNotFound {
		t.Errorf("the seed's OTP by its reverse leg: %+v, %v", otp, err)
	}

	// An APS form-encoded message through the same gateway (base64 body, as API Gateway sends it).
	aps := testenv.LoadEvent(t, "aps-transaction-feedback-form.json")
	raw, _ := decodeBody(aps)
	resp, err := http.Post(srv.URL+"/aps/transaction-feedback", "application/x-www-form-urlencoded; charset=UTF-8", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("APS message: %d\nlogs:\n%s", resp.StatusCode, logs.String())
	}

	// The three events reached the bus and the tail's queue (at least once: one event per
	// idempotency key counts, as a consumer dedupes).
	got, err := testenv.ReceiveAll(ctx, s.awsCfg, s.res.tailQueueURL, 10)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	seen := map[string]bool{}
	for _, m := range got {
		var ev struct {
			DetailType string `json:"detail-type"`
			Detail     struct {
				Metadata struct {
					IdempotencyKey string `json:"idempotencyKey"`
				} `json:"metadata"`
			} `json:"detail"`
		}
		_ = json.Unmarshal([]byte(m), &ev)
		if k := ev.Detail.Metadata.IdempotencyKey; !seen[k] {
			seen[k] = true
			types = append(types, ev.DetailType)
		}
	}
	sort.Strings(types)
	if strings.Join(types, ",") != "APS Purchase Succeeded,Shipping OTP Expired On Arrival,Shipping OTP Generated" {
		t.Errorf("events on the bus: %v", types)
	}
	for _, want := range []string{"REPORT RequestId:", "Init Duration:"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q", want)
		}
	}
	if strings.Contains(logs.String(), sample.Headers["x-api-key"]) {
		t.Error("the API key reached the logs")
	}
	// `make run` prints each delivery's EMF line beside the logs, valid after the local stack's
	// prefix as CloudWatch accepts it after Lambda's.
	outcomes := map[string]bool{}
	for _, line := range strings.Split(logs.String(), "\n") {
		if i := strings.Index(line, "{"); i >= 0 && strings.Contains(line, `"_aws"`) {
			m, err := emfcheck.Check(line[i:])
			if err != nil {
				t.Errorf("%v: %s", err, line)
				continue
			}
			outcomes[fmt.Sprint(m["Webhook"], "/", m["Outcome"])] = true
		}
	}
	if !outcomes["shipping/accepted"] || !outcomes["aps/accepted"] {
		t.Errorf("EMF lines printed for %v, want shipping/accepted and aps/accepted", outcomes)
	}
}

func TestInitFailureIsReportedAsLambdaDoes(t *testing.T) {
	skipWithoutMoto(t)
	env, err := loadEnvFile(localaws.RepoRoot())
	if err != nil {
		t.Fatal(err)
	}
	env["ShippingOtpFunction"]["AUTH_MODES"] = "" // the function refuses to start unauthenticated
	var logs testenv.LogBuffer
	_, err = startStack(context.Background(), options{root: localaws.RepoRoot(), logs: &logs, env: env}, []string{"ShippingOtpFunction"})
	var ie *lambdaruntime.InitError
	if !errors.As(err, &ie) || ie.ErrorType != "Runtime.ExitError" {
		t.Fatalf("err = %v, want an init error Runtime.ExitError", err)
	}
	for _, want := range []string{"INIT_REPORT", "Status: error", "configuration error", "AUTH_MODES"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}
