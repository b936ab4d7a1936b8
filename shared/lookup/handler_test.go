package lookup_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/lookup"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/trackingstore"
	"github.com/amazon-webhook-gateway/gateway/tests/emfcheck"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// The handler runs on moto's DynamoDB through the real SDK. moto does not front API Gateway:
// these tests stand in for it by building the payload 2.0 event it would send for a signed
// request (requestContext.authorizer.iam filled in) or, for the refusals, one without it.

func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }

const callerARN = "arn:aws:iam::123456789012:role/courier-app"

// env is one deployment: the two tables, the handler on them with a settable clock, its logs.
type env struct {
	db       *dynamodb.Client
	otps     *otpstore.Store
	tracking *trackingstore.Store
	h        lookup.LambdaHandler
	logs     *testenv.LogBuffer
	metrics  *testenv.LogBuffer
	mu       sync.Mutex
	now      time.Time
}

func (e *env) setNow(t time.Time) { e.mu.Lock(); e.now = t; e.mu.Unlock() }
func (e *env) clock() time.Time   { e.mu.Lock(); defer e.mu.Unlock(); return e.now }

func deploy(t *testing.T) *env {
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
	otpTable, err := localaws.CreateTable(ctx, cfg, tmpl, "OtpTable")
	if err != nil {
		t.Fatal(err)
	}
	trackingTable, err := localaws.CreateTable(ctx, cfg, tmpl, "TrackingTable")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: dynamodb.NewFromConfig(cfg), logs: &testenv.LogBuffer{}, metrics: &testenv.LogBuffer{}, now: time.Now()}
	e.otps = otpstore.New(e.db, otpTable, nil)
	e.tracking = trackingstore.New(e.db, trackingTable, 90*24*time.Hour, nil)
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if e.h, err = lookup.New(cfg, lookup.Config{OTPTable: otpTable, TrackingTable: trackingTable, Now: e.clock, Metrics: e.metrics}, log); err != nil {
		t.Fatal(err)
	}
	return e
}

// putOTP stores o as the shipping webhook does (its conditional write, without the claim).
func (e *env) putOTP(t *testing.T, o otpstore.OTP) {
	t.Helper()
	put, _ := e.otps.Write(o)
	if _, err := e.db.PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: put.TableName, Item: put.Item, ConditionExpression: put.ConditionExpression,
		ExpressionAttributeNames: put.ExpressionAttributeNames, ExpressionAttributeValues: put.ExpressionAttributeValues,
	}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) putState(t *testing.T, st trackingstore.State) {
	t.Helper()
	put, _ := e.tracking.Write(st)
	if _, err := e.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: put.TableName, Item: put.Item}); err != nil {
		t.Fatal(err)
	}
}

// signed is the event API Gateway sends for a SigV4-signed GET of route with trackingId.
func signed(route, id string) events.APIGatewayV2HTTPRequest {
	req := unsigned(route, id)
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
			AccessKey: "ASIAEXAMPLE", AccountID: "123456789012", CallerID: "AROAEXAMPLE:courier",
			UserARN: callerARN, UserID: "AROAEXAMPLE:courier",
		},
	}
	return req
}

func unsigned(route, id string) events.APIGatewayV2HTTPRequest {
	path := strings.Replace(strings.TrimPrefix(route, "GET "), "{trackingId}", id, 1)
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: route, RawPath: path,
		PathParameters: map[string]string{lookup.PathParameter: id},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: route, RequestID: "req-1", Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: path},
		},
	}
}

// get invokes the handler as Lambda does (the payload as JSON).
func (e *env) get(t *testing.T, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	payload, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := e.h(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Headers["Cache-Control"] != "no-store" {
		t.Errorf("Cache-Control %q, want no-store on every answer", resp.Headers["Cache-Control"])
	}
	return resp
}

func code(t *testing.T, resp events.APIGatewayV2HTTPResponse) string {
	t.Helper()
	var b lookup.OTPBody
	if err := json.Unmarshal([]byte(resp.Body), &b); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return b.VerificationCode
}

// Expiry is judged at the request's moment, to the millisecond: valid strictly before
// verificationCodeTTL, gone at it. An expired code answers byte for byte as an unknown ID.
func TestAnOTPExpiresAtItsTTLAndThenAnswersAsAnUnknownID(t *testing.T) {
	e := deploy(t)
	ttl := time.UnixMilli(time.Now().Add(time.Hour).UnixMilli())
	e.putOTP(t, otpstore.OTP{TrackingID: "T1", AlternateLegTrackingID: "R1", Code: "417305", ExpiresAt: ttl,
		EventCode: "OTPGenerated", EventTime: ttl.Add(-time.Hour), ReceivedAt: ttl.Add(-time.Hour)})
	e.setNow(ttl.Add(-time.Hour))
	unknown := e.get(t, signed(lookup.OTPRouteKey, "NEVER-SEEN"))
	if unknown.StatusCode != 404 {
		t.Fatalf("unknown ID: %d %s", unknown.StatusCode, unknown.Body)
	}
	for _, tc := range []struct {
		name   string
		at     time.Time
		id     string
		status int
	}{
		{"an hour before", ttl.Add(-time.Hour), "T1", 200},
		{"1 ms before", ttl.Add(-time.Millisecond), "T1", 200},
		{"0.5 ms before", ttl.Add(-500 * time.Microsecond), "T1", 200},
		{"at verificationCodeTTL", ttl, "T1", 404},
		{"0.5 ms after", ttl.Add(500 * time.Microsecond), "T1", 404},
		{"a second after", ttl.Add(time.Second), "T1", 404},
		{"alternate leg, 1 ms before", ttl.Add(-time.Millisecond), "R1", 200},
		{"alternate leg, at verificationCodeTTL", ttl, "R1", 404},
		{"alternate leg, a second after", ttl.Add(time.Second), "R1", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.setNow(tc.at)
			resp := e.get(t, signed(lookup.OTPRouteKey, tc.id))
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
			}
			if tc.status == 200 {
				if got := code(t, resp); got != "417305" {
					t.Errorf("code %q, want 417305", got)
				}
				return
			}
			if resp.Body != unknown.Body || strings.Contains(resp.Body, "417305") {
				t.Errorf("expired body %q, want the unknown ID's %q", resp.Body, unknown.Body)
			}
		})
	}
}

// By the alternate leg, the forward leg's OTP is found, and the one valid longest when legs
// share it; an OTP expired on arrival (an audit item without a code) is never returned, by any
// of its IDs.
func TestTheAlternateLegFindsTheLongestValidOTPButNeverAnExpiredOne(t *testing.T) {
	e := deploy(t)
	now := time.UnixMilli(time.Now().UnixMilli())
	e.setNow(now)
	e.putOTP(t, otpstore.OTP{TrackingID: "F1", AlternateLegTrackingID: "R1", Code: "111111", ExpiresAt: now.Add(time.Hour), EventTime: now, ReceivedAt: now})
	e.putOTP(t, otpstore.OTP{TrackingID: "F2", AlternateLegTrackingID: "R1", Code: "222222", ExpiresAt: now.Add(2 * time.Hour), EventTime: now, ReceivedAt: now})
	e.putOTP(t, otpstore.OTP{TrackingID: "F3", AlternateLegTrackingID: "R3", Code: "333333", ExpiresAt: now.Add(-time.Minute), EventTime: now, ReceivedAt: now.Add(-time.Hour)})
	// Expired on arrival: written as the audit item "expired-on-arrival#F4", which holds no code.
	e.putOTP(t, otpstore.OTP{TrackingID: "F4", AlternateLegTrackingID: "R4", Code: "444444", ExpiresAt: now.Add(-time.Minute), EventTime: now, ReceivedAt: now})
	for _, tc := range []struct {
		id, wantCode, wantTrackingID string
		// refused: the ID cannot be Amazon's (an audit item's key): 400, nothing read.
		refused bool
	}{
		{"F1", "111111", "F1", false},
		{"R1", "222222", "F2", false},
		{"R3", "", "", false},
		{"F3", "", "", false},
		{"F4", "", "", false},
		{"R4", "", "", false},
		{otpstore.ExpiredKey(account.Default, "F4"), "", "", true},
		{otpstore.LegacyExpiredKeyPrefix + "F4", "", "", true},
	} {
		t.Run(tc.id, func(t *testing.T) {
			resp := e.get(t, signed(lookup.OTPRouteKey, tc.id))
			want := 404
			if tc.refused {
				want = 400
			}
			if tc.wantCode == "" {
				if resp.StatusCode != want || strings.Contains(resp.Body, "444444") || strings.Contains(resp.Body, "333333") {
					t.Fatalf("%d %s, want %d without a code", resp.StatusCode, resp.Body, want)
				}
				return
			}
			var b lookup.OTPBody
			if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &b) != nil {
				t.Fatalf("%d %s, want 200", resp.StatusCode, resp.Body)
			}
			if b.VerificationCode != tc.wantCode || b.TrackingID != tc.wantTrackingID {
				t.Errorf("got code %s of %s, want %s of %s", b.VerificationCode, b.TrackingID, tc.wantCode, tc.wantTrackingID)
			}
		})
	}
}

// Defence in depth: without requestContext.authorizer.iam (a route deployed without IAM, a
// direct invocation, another authorizer) the function answers 403 and reads nothing.
func TestALookupWithoutAnIAMIdentityIsRefusedAndReadsNothing(t *testing.T) {
	e := deploy(t)
	now := time.UnixMilli(time.Now().UnixMilli())
	e.setNow(now)
	e.putOTP(t, otpstore.OTP{TrackingID: "F1", Code: "555555", ExpiresAt: now.Add(time.Hour), EventTime: now, ReceivedAt: now})
	jwt := signed(lookup.OTPRouteKey, "F1")
	jwt.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "x"}},
	}
	for name, req := range map[string]events.APIGatewayV2HTTPRequest{
		"no authorizer, OTP route":      unsigned(lookup.OTPRouteKey, "F1"),
		"no authorizer, tracking route": unsigned(lookup.TrackingRouteKey, "F1"),
		"no authorizer, unknown route":  unsigned("GET /shipping/otps", "F1"),
		"a JWT authorizer, no IAM":      jwt,
	} {
		t.Run(name, func(t *testing.T) {
			resp := e.get(t, req)
			var b struct{ Error, Message string }
			if resp.StatusCode != 403 || json.Unmarshal([]byte(resp.Body), &b) != nil || b.Error != "forbidden" || !strings.Contains(b.Message, "IAM") {
				t.Fatalf("%d %s, want 403 forbidden naming IAM", resp.StatusCode, resp.Body)
			}
			if strings.Contains(resp.Body, "555555") {
				t.Error("the code leaked")
			}
		})
	}
}

// Each lookup logs the caller's userArn and the tracking ID, never the code.
func TestLookupLogsNameTheCallerButNeverTheCode(t *testing.T) {
	e := deploy(t)
	now := time.UnixMilli(time.Now().UnixMilli())
	e.setNow(now)
	e.putOTP(t, otpstore.OTP{TrackingID: "F1", AlternateLegTrackingID: "R1", Code: "686868", ExpiresAt: now.Add(time.Hour), EventTime: now, ReceivedAt: now})
	e.putState(t, trackingstore.State{TrackingID: "F1", Status: "OutForDelivery", EventCode: "OutForDelivery", EventTime: now,
		EventTimeText: now.Format(time.RFC3339), Detail: `{"trackingId":"F1","verificationCode":"686868"}`, DeliveryID: "d", Entry: "0"})
	for _, req := range []events.APIGatewayV2HTTPRequest{
		signed(lookup.OTPRouteKey, "F1"), signed(lookup.OTPRouteKey, "R1"), signed(lookup.TrackingRouteKey, "F1"),
	} {
		if resp := e.get(t, req); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", req.RawPath, resp.StatusCode, resp.Body)
		}
	}
	logs := e.logs.String()
	if strings.Contains(logs, "686868") {
		t.Fatalf("the logs hold the code:\n%s", logs)
	}
	var lines int
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "lookup answered" {
			lines++
			if rec["userArn"] != callerARN || (rec["trackingId"] != "F1" && rec["trackingId"] != "R1") {
				t.Errorf("lookup line %v does not name the caller and the tracking ID", rec)
			}
		}
	}
	if lines != 3 {
		t.Errorf("%d lookup lines, want 3:\n%s", lines, logs)
	}
}

// The tracking route returns the latest state without any code the entry carried (codes are
// the OTP route's, which checks expiry), else 404.
func TestTheTrackingRouteAnswersTheLatestStateWithoutACode(t *testing.T) {
	e := deploy(t)
	at := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	e.putState(t, trackingstore.State{TrackingID: "F1", AlternateLegTrackingID: "R1", Status: "Delivered", EventCode: "Delivered",
		EventTime: at, EventTimeText: "2026-11-27T09:30:00Z", Terminal: true, Detail: `{"trackingId":"F1","eventCode":"Delivered","verificationCode":"909090"}`,
		DeliveryID: "d-1", Entry: "0", EnvelopeTime: at})
	for _, tc := range []struct {
		id     string
		status int
	}{{"F1", 200}, {"R1", 404}, {"NEVER-SEEN", 404}} {
		t.Run(tc.id, func(t *testing.T) {
			resp := e.get(t, signed(lookup.TrackingRouteKey, tc.id))
			if resp.StatusCode != tc.status || strings.Contains(resp.Body, "909090") {
				t.Fatalf("%d %s, want %d without a code", resp.StatusCode, resp.Body, tc.status)
			}
			if tc.status != 200 {
				return
			}
			var b lookup.TrackingBody
			if err := json.Unmarshal([]byte(resp.Body), &b); err != nil {
				t.Fatal(err)
			}
			if b.Status != "Delivered" || !b.Terminal || b.EventTime == nil || !b.EventTime.Equal(at) || string(b.Detail["eventCode"]) != `"Delivered"` {
				t.Errorf("body %s", resp.Body)
			}
		})
	}
}

// Bad input gets a precise answer naming the problem; a store that fails answers 503.
func TestBadInputIsRefusedByNameAndAFailingStoreAnswers503(t *testing.T) {
	e := deploy(t)
	cfg, err := localaws.Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	broken, err := lookup.New(cfg, lookup.Config{OTPTable: "no-such-table", TrackingTable: "no-such-table"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		h       lookup.LambdaHandler
		req     events.APIGatewayV2HTTPRequest
		status  int
		errCode string
	}{
		{"too long", e.h, signed(lookup.OTPRouteKey, strings.Repeat("1", lookup.MaxTrackingIDBytes+1)), 400, "invalid_payload"},
		{"control character", e.h, signed(lookup.OTPRouteKey, "T\x001"), 400, "invalid_payload"},
		{"empty", e.h, signed(lookup.TrackingRouteKey, ""), 400, "invalid_payload"},
		{"unknown route", e.h, signed("GET /shipping/otps", "T1"), 404, "not_found"},
		{"otp store down", broken, signed(lookup.OTPRouteKey, "T1"), 503, "temporarily_unavailable"},
		{"tracking store down", broken, signed(lookup.TrackingRouteKey, "T1"), 503, "temporarily_unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.h, tc.h = tc.h, e.h
			defer func() { e.h = tc.h }()
			resp := e.get(t, tc.req)
			var b struct{ Error, Field string }
			if resp.StatusCode != tc.status || json.Unmarshal([]byte(resp.Body), &b) != nil || b.Error != tc.errCode {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, resp.Body, tc.status, tc.errCode)
			}
			if tc.status == 400 && b.Field != lookup.PathParameter {
				t.Errorf("field %q, want %q", b.Field, lookup.PathParameter)
			}
		})
	}
}

// Each lookup writes one EMF line, Webhook shipping-lookup, its outcome from the answer.
func TestEachLookupWritesOneEMFLine(t *testing.T) {
	e := deploy(t)
	now := time.UnixMilli(time.Now().UnixMilli())
	e.setNow(now)
	e.putOTP(t, otpstore.OTP{TrackingID: "F1", Code: "121212", ExpiresAt: now.Add(time.Hour), EventTime: now, ReceivedAt: now})
	for _, req := range []events.APIGatewayV2HTTPRequest{
		signed(lookup.OTPRouteKey, "F1"), signed(lookup.OTPRouteKey, "NEVER-SEEN"), unsigned(lookup.OTPRouteKey, "F1"),
	} {
		e.get(t, req)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(e.metrics.String()), "\n") {
		m, err := emfcheck.Check(line)
		if err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		got = append(got, fmt.Sprint(m["Webhook"], "/", m["Outcome"], "/", m["Reason"]))
	}
	want := "shipping-lookup/accepted/none shipping-lookup/rejected/not_found shipping-lookup/forbidden/forbidden"
	if strings.Join(got, " ") != want {
		t.Errorf("EMF lines %v, want %s", got, want)
	}
	if strings.Contains(e.metrics.String(), "121212") {
		t.Error("the code reached the metrics")
	}
}
