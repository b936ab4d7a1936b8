package limits

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
	"github.com/amazon-webhook-gateway/gateway/tests/harness"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// The roles are narrow (iam_test.go), and moto enforces none of it, so this proves the
// functions stay inside them. Each webhook's deliveries (processed, quarantined, oversized) run
// through its function on moto; every idempotency key, event source and bucket key it wrote is
// then checked against what template.yaml grants its role.
func TestWhatEachFunctionWritesIsWithinItsRole(t *testing.T) {
	res := loadTemplate(t)
	const bucketArn = "${PayloadBucket.Arn}/"
	now := time.Now()
	for _, tc := range []struct {
		function string
		// deliveries and the statuses they get (200 processed, 202 quarantined).
		deliveries func(g *harness.Gateway) []events.APIGatewayV2HTTPRequest
		statuses   []int
		// offloaded: one event is too large for the bus and is stored in the bucket.
		offloaded bool
	}{
		{"ShippingOtpFunction", func(*harness.Gateway) []events.APIGatewayV2HTTPRequest {
			return []events.APIGatewayV2HTTPRequest{
				harness.Shipping(harness.ShippingBody("narrow-role-ok", now, harness.OTP{TrackingID: "TBA1", Code: "1234", TTL: now.Add(time.Hour).UnixMilli()})),
				harness.Shipping(harness.ShippingBody("narrow-role-bad", now, harness.OTP{Code: "1234", TTL: now.Add(time.Hour).UnixMilli()})),
			}
		}, []int{200, 202}, false},
		{"ApsFunction", func(*harness.Gateway) []events.APIGatewayV2HTTPRequest {
			bad := harness.APSParams("narrow-role-bad", "1702")
			bad["status"] = "ab"
			return []events.APIGatewayV2HTTPRequest{
				harness.APS("/aps/transaction-feedback", harness.SignAPS(harness.APSParams("narrow-role-ok", "1701")), false),
				harness.APS("/aps/transaction-feedback", harness.SignAPS(bad), false),
			}
		}, []int{200, 202}, false},
		{"AmazonPayIpnFunction", func(g *harness.Gateway) []events.APIGatewayV2HTTPRequest {
			big := `{"ObjectType":"CHARGE","ObjectId":"C-NARROW-ROLE","NotificationType":"STATE_CHANGE","Notes":"` + strings.Repeat("n", 262000) + `"}`
			return []events.APIGatewayV2HTTPRequest{
				harness.AmazonPay(g.Notification("narrow-role-ok", harness.ChargeMessage("C-1"))),
				harness.AmazonPay(g.Notification("narrow-role-big", big)),
			}
		}, []int{200, 200}, true},
	} {
		t.Run(tc.function, func(t *testing.T) {
			// What the template grants the function's role.
			var keyPatterns, sources, objectPatterns []string
			for _, s := range statements(t, res, tc.function) {
				switch {
				case touches(s, "s3:"):
					for _, r := range strs(s["Resource"]) {
						objectPatterns = append(objectPatterns, strings.TrimPrefix(r, bucketArn))
					}
				case touches(s, "events:"):
					sources = append(sources, condition(s, "ForAllValues:StringEquals", "events:source")...)
				case strings.HasPrefix(strings.Join(strs(s["Resource"]), " "), "IdempotencyTable"):
					keyPatterns = append(keyPatterns, condition(s, "ForAllValues:StringLike", "dynamodb:LeadingKeys")...)
				}
			}
			within := func(patterns []string, v string) bool {
				for _, p := range patterns {
					if glob(p, v) {
						return true
					}
				}
				return false
			}

			g := harness.Start(t, local)
			queue := g.RouteAll(t)
			reqs := tc.deliveries(g)
			for i, req := range reqs {
				if resp := g.Deliver(req); resp.StatusCode != tc.statuses[i] {
					t.Fatalf("delivery %d: got %d %s, want %d", i, resp.StatusCode, resp.Body, tc.statuses[i])
				}
			}
			ctx := context.Background()

			items, err := dynamodb.NewFromConfig(local.Config).Scan(ctx, &dynamodb.ScanInput{TableName: &g.IdempotencyTable})
			if err != nil {
				t.Fatal(err)
			}
			if len(items.Items) == 0 {
				t.Fatal("no idempotency record: the check proves nothing")
			}
			for _, it := range items.Items {
				key := it[idempotency.KeyAttribute].(*ddbtypes.AttributeValueMemberS).Value
				if !within(keyPatterns, key) {
					t.Errorf("idempotency key %q is outside the role's dynamodb:LeadingKeys %v", key, keyPatterns)
				}
			}

			evs := testenv.Consume[struct {
				Source string `json:"source"`
			}](t, local.Config, queue, 10)
			if len(evs) == 0 {
				t.Fatal("no event published: the check proves nothing")
			}
			for _, e := range evs {
				if !within(sources, e.Source) {
					t.Errorf("published source %q; the role may publish %v", e.Source, sources)
				}
			}

			objs, err := localaws.S3(local.Config).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(g.Quarantine.Bucket())})
			if err != nil {
				t.Fatal(err)
			}
			var quarantined, offloaded int
			for _, o := range objs.Contents {
				key := aws.ToString(o.Key)
				if !within(objectPatterns, key) {
					t.Errorf("wrote %s; the role may write %v", key, objectPatterns)
				}
				if strings.HasPrefix(key, "quarantine/") {
					quarantined++
				} else {
					offloaded++
				}
			}
			wantQuarantined := 0
			for _, s := range tc.statuses {
				if s == 202 {
					wantQuarantined++
				}
			}
			if quarantined != wantQuarantined || (offloaded > 0) != tc.offloaded {
				t.Errorf("%d quarantined and %d offloaded objects, want %d and offloaded=%v", quarantined, offloaded, wantQuarantined, tc.offloaded)
			}
		})
	}
}
