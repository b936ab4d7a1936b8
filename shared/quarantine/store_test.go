package quarantine_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }

func TestStoreAgainstS3(t *testing.T) {
	ctx := context.Background()
	cfg, err := localaws.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	store, err := testenv.QuarantineStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(webhook, body string) quarantine.Record {
		return quarantine.Record{
			Webhook: webhook, Function: webhook + "-fn", Reason: "invalid_payload", Field: "id", Message: "id: is required",
			QuarantinedAt: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
			Request:       events.APIGatewayV2HTTPRequest{RawPath: "/" + webhook, Body: body, IsBase64Encoded: true},
		}
	}
	k1, err := store.Put(ctx, rec("shipping", "eyJhIjoxfQ=="))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Put(ctx, rec("aps", "c3RhdHVzPQ==")); err != nil {
		t.Fatal(err)
	}
	// A retry of the same delivery overwrites its record instead of adding one.
	again := rec("shipping", "eyJhIjoxfQ==")
	again.Reason = "internal_error"
	if k, err := store.Put(ctx, again); err != nil || k != k1 {
		t.Fatalf("retry stored as %s (%v), want %s", k, err, k1)
	}

	got, err := store.Get(ctx, k1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Reason != "internal_error" || got.Request.Body != "eyJhIjoxfQ==" || !got.Request.IsBase64Encoded || got.Function != "shipping-fn" {
		t.Errorf("read back %+v", got)
	}
	all, err := store.List(ctx, "")
	if err != nil || len(all) != 2 {
		t.Fatalf("List all = %v, %v", all, err)
	}
	ship, err := store.List(ctx, "shipping")
	if err != nil || len(ship) != 1 || ship[0].Key != k1 || ship[0].Size == 0 {
		t.Fatalf("List shipping = %+v, %v", ship, err)
	}
	if err := store.Delete(ctx, k1); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get(ctx, k1); !errors.Is(err, quarantine.ErrNotFound) {
		t.Errorf("after Delete: %v, want ErrNotFound", err)
	}
	if _, err := store.Get(ctx, "oversized/x.json"); !errors.Is(err, quarantine.ErrNotFound) {
		t.Errorf("a key outside the quarantine: %v, want ErrNotFound", err)
	}
}
