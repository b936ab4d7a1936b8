// Package limits proves the gateway's size limits end to end: an event too large for an
// EventBridge entry is published reduced, with a pointer to its full detail, never dropped.
package limits

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/snstest"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

var local *testenv.Local

func TestMain(m *testing.M) { os.Exit(testenv.RunWithLocal(m, &local)) }

// An Amazon Pay IPN may carry an SNS message of up to 256 KB; with the gateway's metadata its
// event is over the 256 KB entry budget.
func TestOversizedEventIsReducedWithAPointerToTheFullDetail(t *testing.T) {
	g := harness.Start(t, local)
	queue := g.RouteAll(t)
	// 262,000 bytes: within SNS's 256 KiB message limit.
	head := `{"MerchantID":"A3EXAMPLE","ObjectType":"CHARGE","ObjectId":"C-BIG","NotificationType":"STATE_CHANGE","Notes":"`
	notes := 262000 - len(head) - 2
	message := head + strings.Repeat("n", notes) + `"}`
	resp := g.Send(t, harness.AmazonPay(g.Notification("m-big", message)))
	if resp.StatusCode != 200 {
		t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
	}
	got := testenv.Consume[struct {
		Source     string          `json:"source"`
		DetailType string          `json:"detail-type"`
		Resources  []string        `json:"resources"`
		Detail     json.RawMessage `json:"detail"`
	}](t, local.Config, queue, 10)
	// A v2 charge: its own event and the deprecated one it still publishes for one release, both
	// reduced; the latter is checked here.
	if len(got) != 2 {
		t.Fatalf("%d events on the bus, want 2", len(got))
	}
	if got[0].DetailType != "Amazon Pay Charge Notification" {
		got[0], got[1] = got[1], got[0]
	}
	var reduced struct {
		Offloaded eventbus.OffloadedPayload `json:"offloadedPayload"`
		Metadata  struct {
			IdempotencyKey string `json:"idempotencyKey"`
		} `json:"metadata"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(got[0].Detail, &reduced); err != nil {
		t.Fatal(err)
	}
	if got[0].DetailType != "Amazon Pay Charge Notification" || reduced.Metadata.IdempotencyKey != "amazonpay:"+snstest.MessageID("m-big") || reduced.Data["objectId"] != "C-BIG" {
		t.Errorf("the reduced event lost its essentials: %s %s", got[0].DetailType, got[0].Detail[:min(len(got[0].Detail), 400)])
	}
	if len(got[0].Detail) > eventbus.MaxEntryBytes/4 {
		t.Errorf("reduced detail is still %d bytes", len(got[0].Detail))
	}

	bucket, key, ok := strings.Cut(strings.TrimPrefix(reduced.Offloaded.Location, "s3://"), "/")
	if !ok || bucket != g.Quarantine.Bucket() {
		t.Fatalf("location %q", reduced.Offloaded.Location)
	}
	obj, err := localaws.S3(local.Config).GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Body.Close()
	full, _ := io.ReadAll(obj.Body)
	// The full detail is an event's detail too: it matches the schema as a whole event.
	if err := testenv.ValidateDetail(got[0].Source, got[0].DetailType, string(full), got[0].Resources); err != nil {
		t.Errorf("the offloaded detail: %v", err)
	}
	var detail struct {
		Data struct {
			Message struct {
				Notes string `json:"Notes"`
			} `json:"message"`
		} `json:"data"`
	}
	if err := json.Unmarshal(full, &detail); err != nil || len(detail.Data.Message.Notes) != notes || len(full) != reduced.Offloaded.Bytes {
		t.Errorf("the offloaded detail is not the full one: %d bytes, %v", len(full), err)
	}
}
