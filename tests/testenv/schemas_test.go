package testenv_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpay"
	"github.com/amazon-webhook-gateway/gateway/shared/aps"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// emitted lists every source and detail-type the contract declares: the DetailType* constants of
// shared/*/contract.go with their file's EventSource, and every detail-type aps.OutcomeOf gives
// to a two-digit status.
func emitted(t *testing.T) [][2]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(localaws.RepoRoot(), "shared", "*", "contract.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no shared/*/contract.go: %v", err)
	}
	var out [][2]string
	for _, f := range files {
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		consts := map[string]string{}
		for _, d := range parsed.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[n.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
		}
		for name, v := range consts {
			if strings.HasPrefix(name, "DetailType") {
				if consts["EventSource"] == "" {
					t.Fatalf("%s declares %s but no EventSource", f, name)
				}
				out = append(out, [2]string{consts["EventSource"], v})
			}
		}
	}
	for i := range 100 {
		dt := aps.OutcomeOf(map[string]string{"status": fmt.Sprintf("%02d", i)}).DetailType
		if !slices.Contains(out, [2]string{aps.EventSource, dt}) {
			out = append(out, [2]string{aps.EventSource, dt})
		}
	}
	return out
}

// Every detail-type of the contract has a schema, and every schema is of a detail-type the
// contract declares: a new detail-type cannot ship without its schema.
func TestEveryDetailTypeHasASchema(t *testing.T) {
	types := emitted(t)
	if len(types) < 2+16+5 {
		t.Fatalf("found only %d detail-types: the scan is broken: %v", len(types), types)
	}
	for _, k := range types {
		// A minimal event of the type: it fails its schema's content, but must not lack one.
		err := testenv.ValidateEvent([]byte(fmt.Sprintf(`{"source":%q,"detail-type":%q}`, k[0], k[1])))
		if err == nil || errors.Is(err, testenv.ErrNoSchema) {
			t.Errorf("%s %q: %v", k[0], k[1], err)
		}
	}
	schemas, err := filepath.Glob(filepath.Join(localaws.RepoRoot(), testenv.SchemaDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(schemas) != len(types) {
		t.Errorf("%d schema files for %d detail-types", len(schemas), len(types))
	}
}

type putter struct{ entries []string }

func (p *putter) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	for _, e := range in.Entries {
		p.entries = append(p.entries, *e.Detail)
	}
	return &eventbridge.PutEventsOutput{}, nil
}

type payloads struct{}

func (payloads) PutPayload(_ context.Context, key string, _ []byte) (string, error) {
	return "s3://payload-bucket/" + key, nil
}

// detailOf is the detail the publisher sends for e (reduced when it is over the entry budget).
func detailOf(t *testing.T, e eventbus.Event) string {
	t.Helper()
	p := &putter{}
	if err := eventbus.New(p, "bus", 1, 0).OffloadTo(payloads{}).Publish(context.Background(), []eventbus.Event{e}); err != nil {
		t.Fatal(err)
	}
	return p.entries[0]
}

// edit decodes a detail, changes it and encodes it again.
func edit(t *testing.T, detail string, change func(d map[string]any)) string {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal([]byte(detail), &d); err != nil {
		t.Fatal(err)
	}
	change(d)
	b, _ := json.Marshal(d)
	return string(b)
}

func sub(d map[string]any, path ...string) map[string]any {
	for _, p := range path {
		d = d[p].(map[string]any)
	}
	return d
}

// The schemas accept what the contract's builders make and refuse a renamed, mistyped, missing
// or extra field, a leaked secret, and a detail-type without a schema.
func TestSchemasCatchContractDrift(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	env := shipping.Envelope{ID: "env-1", Source: shipping.SourceAmazonShipping, DetailType: shipping.DetailTypePN, Account: "474668380910", Region: "eu-west-1", Time: now}
	otp := shipping.OTP{TrackingID: "T1", VerificationCode: "938492", ExpiresAtMillis: now.Add(time.Hour).UnixMilli(), ShipmentType: "REVERSE", EventCode: shipping.EventCodePinGenerated}
	otpEvent := shipping.OTPEvent(env, "default", otp, now, true)
	otpDetail := detailOf(t, otpEvent)
	otpHidden := detailOf(t, shipping.OTPEvent(env, "default", otp, now, false))
	other := detailOf(t, shipping.OtherEvent(env, "default", shipping.Other{TrackingID: "T2", EventCode: "DELIVERED", Raw: json.RawMessage(`{"trackingId":"T2","eventCode":"DELIVERED","x":[1]}`)}, 0, now, true))

	params := map[string]string{"merchant_identifier": "m", "access_code": "a", "merchant_reference": "R1", "command": "PURCHASE",
		"amount": "10000", "currency": "AED", "status": "14", "response_code": "14000", "card_number": "400555******0001", "signature": "s"}
	apsEvent := aps.Event(aps.TransactionFeedback, params, now, false)
	apsDetail := detailOf(t, apsEvent)
	withCard := detailOf(t, aps.Event(aps.TransactionFeedback, params, now, true))
	unknownParams := map[string]string{"merchant_identifier": "m", "access_code": "a", "status": "42"}
	unknown := aps.Event(aps.NotificationFeedback, unknownParams, now, false)
	big := map[string]string{"merchant_identifier": "m", "access_code": "a", "status": "14", "notes": strings.Repeat("n", eventbus.MaxEntryBytes)}
	reduced := detailOf(t, aps.Event(aps.TransactionFeedback, big, now, false))

	msg := &snsverify.Message{Type: snsverify.TypeNotification, MessageID: "m-1", TopicARN: "arn:aws:sns:eu-west-1:123456789012:ipn",
		Message: `{"ObjectType":"CHARGE","ObjectId":"C1","NotificationType":"STATE_CHANGE"}`, Timestamp: "2026-01-02T03:04:05.000Z"}
	payEvent := amazonpay.Event(msg, now)
	payDetail := detailOf(t, payEvent)

	tests := []struct {
		name               string
		source, detailType string
		detail             string
		resources          []string
		wantErr            string // "" valid
	}{
		{"shipping otp", shipping.EventSource, shipping.DetailTypeOTP, otpDetail, nil, ""},
		{"shipping otp without code", shipping.EventSource, shipping.DetailTypeOTP, otpHidden, nil, ""},
		{"shipping other", shipping.EventSource, shipping.DetailTypeOther, other, nil, ""},
		{"aps purchase", aps.EventSource, apsEvent.DetailType, apsDetail, nil, ""},
		{"aps with card fields", aps.EventSource, apsEvent.DetailType, withCard, nil, ""},
		{"aps unknown status", aps.EventSource, unknown.DetailType, detailOf(t, unknown), nil, ""},
		{"aps oversized, reduced", aps.EventSource, apsEvent.DetailType, reduced, nil, ""},
		{"amazon pay charge", amazonpay.EventSource, payEvent.DetailType, payDetail, payEvent.Resources, ""},

		{"renamed field", shipping.EventSource, shipping.DetailTypeOTP, edit(t, otpDetail, func(d map[string]any) {
			data := sub(d, "data")
			data["trackingID"] = data["trackingId"]
			delete(data, "trackingId")
		}), nil, "trackingId"},
		{"renamed optional field", shipping.EventSource, shipping.DetailTypeOTP, edit(t, otpDetail, func(d map[string]any) {
			data := sub(d, "data")
			data["shipment"] = data["shipmentType"]
			delete(data, "shipmentType")
		}), nil, "shipment"},
		{"mistyped field", shipping.EventSource, shipping.DetailTypeOTP, edit(t, otpDetail, func(d map[string]any) {
			sub(d, "data")["verificationCodeTTL"] = "1700000000000"
		}), nil, "verificationCodeTTL"},
		{"code in an event that says it is left out", shipping.EventSource, shipping.DetailTypeOTP, edit(t, otpHidden, func(d map[string]any) {
			sub(d, "data")["verificationCode"] = "938492"
		}), nil, "oneOf"},
		{"no idempotency key", shipping.EventSource, shipping.DetailTypeOTP, edit(t, otpDetail, func(d map[string]any) {
			delete(sub(d, "metadata"), "idempotencyKey")
		}), nil, "idempotencyKey"},
		{"schemaVersion bumped without a schema", shipping.EventSource, shipping.DetailTypeOTP, edit(t, otpDetail, func(d map[string]any) {
			sub(d, "metadata")["schemaVersion"] = "2"
		}), nil, "schemaVersion"},
		{"signature in fields", aps.EventSource, apsEvent.DetailType, edit(t, apsDetail, func(d map[string]any) {
			sub(d, "data", "fields")["signature"] = "s"
		}), nil, "fields"},
		{"card field though not included", aps.EventSource, apsEvent.DetailType, edit(t, apsDetail, func(d map[string]any) {
			sub(d, "data", "fields")["card_number"] = "400555******0001"
		}), nil, "oneOf"},
		{"status of another detail-type", aps.EventSource, apsEvent.DetailType, edit(t, apsDetail, func(d map[string]any) {
			sub(d, "data")["status"] = "13"
		}), nil, "status"},
		{"known status as unknown", aps.EventSource, aps.DetailTypeUnknown, edit(t, detailOf(t, unknown), func(d map[string]any) {
			sub(d, "data")["status"] = "14"
		}), nil, "status"},
		{"offloaded elsewhere", aps.EventSource, apsEvent.DetailType, edit(t, reduced, func(d map[string]any) {
			sub(d, "offloadedPayload")["location"] = "s3://payload-bucket/oversized/amazon-webhook-gateway.shipping/" + strings.Repeat("0", 64) + ".json"
		}), nil, "location"},
		{"whole event without its fields", aps.EventSource, apsEvent.DetailType, edit(t, apsDetail, func(d map[string]any) {
			delete(sub(d, "data"), "fields")
		}), nil, "oneOf"},
		{"amazon pay without its topic", amazonpay.EventSource, payEvent.DetailType, payDetail, nil, "resources"},
		{"amazon pay kind of another detail-type", amazonpay.EventSource, payEvent.DetailType, edit(t, payDetail, func(d map[string]any) {
			sub(d, "data")["kind"] = "refund"
		}), payEvent.Resources, "kind"},
		{"detail-type without a schema", shipping.EventSource, "Shipping Tracking Update", otpDetail, nil, testenv.ErrNoSchema.Error()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := testenv.ValidateDetail(tc.source, tc.detailType, tc.detail, tc.resources)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("valid event refused: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Errorf("accepted; want an error naming %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Errorf("error does not name %q: %v", tc.wantErr, err)
			}
		})
	}
	if !strings.Contains(reduced, `"offloadedPayload"`) {
		t.Fatal("the oversized event was not reduced: the reduced cases prove nothing")
	}
}
