package main

import (
	"context"
	"encoding/base64"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/amazon-webhook-gateway/gateway/shared/aps"
	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// An APS message carries no timestamp, so its dedupe record must outlive the 48 h the
// other webhooks keep. The retention set in the environment is the stored record's TTL.
func TestTheDedupeRetentionIsTheStoredRecordsTTL(t *testing.T) {
	for _, days := range []int{30, 400} {
		t.Run(strconv.Itoa(days)+" days", func(t *testing.T) {
			table := deployEnv(t)
			t.Setenv("APS_DEDUPE_RETENTION_DAYS", strconv.Itoa(days))
			h := harness.Built(t, build, quiet())
			req := sampleRequest(t)
			before := time.Now()
			resp, _ := h.Handle(context.Background(), req)
			after := time.Now()
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}

			raw, _ := base64.StdEncoding.DecodeString(req.Body)
			params, err := aps.ParseParams(aps.MediaForm, raw)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := localaws.Config(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			out, err := dynamodb.NewFromConfig(cfg).GetItem(context.Background(), &dynamodb.GetItemInput{
				TableName: &table,
				Key:       map[string]types.AttributeValue{idempotency.KeyAttribute: &types.AttributeValueMemberS{Value: aps.IdempotencyKey(params)}},
			})
			if err != nil || out.Item == nil {
				t.Fatalf("no record under the message's key: %v", err)
			}
			ttl, _ := out.Item[idempotency.TTLAttribute].(*types.AttributeValueMemberN)
			if ttl == nil {
				t.Fatalf("record without %s: %v", idempotency.TTLAttribute, out.Item)
			}
			exp, _ := strconv.ParseInt(ttl.Value, 10, 64)
			keep := time.Duration(days) * 24 * time.Hour
			if exp < before.Add(keep).Unix() || exp > after.Add(keep).Unix() {
				t.Errorf("record expires at %s, want %d days after it was written (%s)", time.Unix(exp, 0).UTC(), days, before.Add(keep).UTC())
			}
		})
	}
}

// The template's default is the one main falls back to, and a retention in months is allowed.
func TestTheTemplatesRetentionDefaultIsMainsAndAtLeastAYear(t *testing.T) {
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	p, ok := tmpl.Parameters["ApsDedupeRetentionDays"]
	if !ok {
		t.Fatal("template.yaml has no ApsDedupeRetentionDays parameter")
	}
	if p.Default != aps.DefaultDedupeRetentionDays || aps.DefaultDedupeRetentionDays < 365 || p.MinValue != 2 || p.MaxValue != 3650 {
		t.Errorf("ApsDedupeRetentionDays = %+v, want default %d (>= a year), 2..3650", p, aps.DefaultDedupeRetentionDays)
	}
}

func sampleRequest(t *testing.T) events.APIGatewayV2HTTPRequest {
	return testenv.LoadEvent(t, "aps-transaction-feedback-form.json")
}
