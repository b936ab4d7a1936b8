package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/amazon-webhook-gateway/gateway/shared/awsconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/quarantine/admin"
)

// TestQuarantineReplayThroughTheStack replays two quarantined Shipping deliveries with the
// quarantine CLI's logic and wiring, through the stack's Lambda Invoke API, into the real
// function: the valid one is processed, leaves the quarantine and reaches the bus; the invalid
// one is quarantined again.
func TestQuarantineReplayThroughTheStack(t *testing.T) {
	const fn = "ShippingOtpFunction"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := serveStack(t, ctx, fn)
	s := st.stack

	// The CLI's wiring: the default configuration (moto's S3 through AWS_ENDPOINT_URL) with
	// Lambda pointed at the stack, as the banner tells.
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", st.URL)
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	store := admin.NewStore(cfg, s.env[fn]["PAYLOAD_BUCKET"])
	invoker := admin.NewInvoker(cfg)

	// Deliveries as the keeper stores them: the API key removed, the function's name recorded.
	valid := testenv.LoadEvent(t, "shipping-otp-api-key.json")
	apiKey := valid.Headers["x-api-key"]
	before := time.Now().Add(-time.Hour).UTC()
	keep := func(name string) string {
		req := testenv.LoadEvent(t, name)
		delete(req.Headers, "x-api-key")
		key, err := store.Put(ctx, quarantine.Record{
			Webhook: "shipping", Function: fn, Reason: "internal_error", Message: "the function failed on this delivery",
			QuarantinedAt: before, Request: req,
		})
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	validKey, invalidKey := keep("shipping-otp-api-key.json"), keep("shipping-otp-malformed.json")

	var out bytes.Buffer
	summary, err := admin.Replay(ctx, store, invoker, admin.ReplayOptions{All: true, Webhook: "shipping"}, &out)
	if err != nil {
		t.Fatalf("%v\n%s\nlogs:\n%s", err, out.String(), st.Logs.String())
	}
	got := map[string]admin.Outcome{}
	for _, o := range summary.Outcomes {
		got[o.Key] = o
	}
	if o := got[validKey]; o.Status != 200 || o.Result != admin.Replayed || !o.Deleted || o.Reason != "accepted" {
		t.Errorf("valid delivery: %+v\n%s\nlogs:\n%s", o, out.String(), st.Logs.String())
	}
	if o := got[invalidKey]; o.Status != 202 || o.Result != admin.StillQuarantined || o.Reason != "invalid_payload" || o.Field == "" {
		t.Errorf("invalid delivery: %+v\n%s", o, out.String())
	}
	if summary.OK() || len(summary.Outcomes) != 2 {
		t.Errorf("summary %+v", summary)
	}

	// Only the invalid delivery is left, rewritten with the reason of its replay.
	items, err := store.List(ctx, "")
	if err != nil || len(items) != 1 || items[0].Key != invalidKey {
		t.Fatalf("left in the quarantine: %+v, %v", items, err)
	}
	if _, err := store.Get(ctx, validKey); !errors.Is(err, quarantine.ErrNotFound) {
		t.Errorf("the replayed delivery: %v, want ErrNotFound", err)
	}
	rec, err := store.Get(ctx, invalidKey)
	if err != nil || rec.Reason != "invalid_payload" || !rec.QuarantinedAt.After(before) || rec.Function != fn {
		t.Errorf("re-quarantined record: %+v, %v", rec, err)
	}

	// The valid delivery's OTP event reached the bus under one idempotency key (at least once: a
	// PutEvents retried after a timeout on a loaded machine may deliver it twice); the seed's OTP
	// expired on arrival.
	bodies, err := testenv.ReceiveAll(ctx, s.awsCfg, s.res.tailQueueURL, 10)
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[string]bool{}
	for _, b := range bodies {
		var ev struct {
			DetailType string `json:"detail-type"`
			Detail     struct {
				Metadata struct {
					IdempotencyKey string `json:"idempotencyKey"`
				} `json:"metadata"`
			} `json:"detail"`
		}
		_ = json.Unmarshal([]byte(b), &ev)
		distinct[ev.DetailType+" "+ev.Detail.Metadata.IdempotencyKey] = true
	}
	if len(distinct) != 1 || !distinct["Shipping OTP Expired On Arrival shipping:48040fd3-3094-24d8-06c8-d97be2024072:1709913037944"] {
		t.Errorf("events on the bus (detail-type and key): %v", distinct)
	}

	// Nothing secret in what the CLI printed.
	for _, secret := range []string{"938492", apiKey, `"verificationCode"`} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("replay output shows %q:\n%s", secret, out.String())
		}
	}

	// The Invoke API answers an unknown function as Lambda does.
	var notFound *lambdatypes.ResourceNotFoundException
	if _, err := invoker.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("NoSuchFunction")}); !errors.As(err, &notFound) {
		t.Errorf("unknown function: %v, want ResourceNotFoundException", err)
	}

	// The banner tells how to reach this stack's quarantine.
	var banner bytes.Buffer
	printQuarantineHelp(&banner, st.URL, s)
	for _, want := range []string{"AWS_ENDPOINT_URL_LAMBDA=" + st.URL, "AWS_ENDPOINT_URL=" + s.moto.Endpoint, "PAYLOAD_BUCKET=" + s.env[fn]["PAYLOAD_BUCKET"], "make quarantine", fn} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, banner.String())
		}
	}
}
