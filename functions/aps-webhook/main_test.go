package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }

// deployEnv sets every variable the template gives ApsFunction, with values for local resources,
// and fails when main and the template disagree on the names. It returns the idempotency table.
func deployEnv(t *testing.T) string {
	t.Helper()
	stack := harness.MotoStack(t)
	stack.SetFunctionEnv(t, "ApsFunction", map[string]string{
		"APS_SIGNATURE_ALGORITHM": "SHA-256", "APS_SECRET_ARN": stack.Secret(t, "aps-merchant.json"), "SECRET_REFRESH_INTERVAL": "5m",
		"APS_INCLUDE_CARD_FIELDS": "false", "MAX_BODY_BYTES": "65536", "APS_DEDUPE_RETENTION_DAYS": "400",
		"APS_DETAIL_TYPES_BY_COMMAND": "false",
	})
	return stack.IdempotencyTable
}

func quiet() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

func TestBuildFromTemplateEnvironment(t *testing.T) {
	deployEnv(t)
	h := harness.Built(t, build, quiet())
	if resp, _ := h.Handle(context.Background(), testenv.LoadEvent(t, "aps-transaction-feedback-form.json")); resp.StatusCode != 200 {
		t.Fatalf("sample through the wired handler: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestBuildRejectsBadConfiguration(t *testing.T) {
	tests := []struct{ key, value, wantInError string }{
		{"IDEMPOTENCY_TABLE_NAME", "", "IDEMPOTENCY_TABLE_NAME"},
		{"EVENT_BUS_NAME", "", "EVENT_BUS_NAME"},
		{"PAYLOAD_BUCKET", "", "PAYLOAD_BUCKET"},
		{"APS_SECRET_ARN", "", "APS_SECRET_ARN"},
		{"APS_SIGNATURE_ALGORITHM", "MD5", "APS_SIGNATURE_ALGORITHM"},
		{"APS_SIGNATURE_ALGORITHM", "", "APS_SIGNATURE_ALGORITHM"},
		{"SECRET_REFRESH_INTERVAL", "0s", "SECRET_REFRESH_INTERVAL"},
		{"APS_INCLUDE_CARD_FIELDS", "maybe", "APS_INCLUDE_CARD_FIELDS"},
		{"MAX_BODY_BYTES", "lots", "MAX_BODY_BYTES"},
		{"APS_DEDUPE_RETENTION_DAYS", "0", "APS_DEDUPE_RETENTION_DAYS"},
		{"APS_DEDUPE_RETENTION_DAYS", "1", "APS_DEDUPE_RETENTION_DAYS"},
		{"APS_DEDUPE_RETENTION_DAYS", "3651", "APS_DEDUPE_RETENTION_DAYS"},
		{"APS_DEDUPE_RETENTION_DAYS", "a year", "APS_DEDUPE_RETENTION_DAYS"},
		{"APS_DETAIL_TYPES_BY_COMMAND", "by command", "APS_DETAIL_TYPES_BY_COMMAND"},
	}
	for _, tc := range tests {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			deployEnv(t)
			t.Setenv(tc.key, tc.value)
			harness.BuildFails(t, build, tc.wantInError)
		})
	}
}
