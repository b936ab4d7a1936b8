package harness

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
)

var local *testenv.Local

func TestMain(m *testing.M) { os.Exit(testenv.RunWithLocal(m, &local)) }

// Every builder makes a delivery its function accepts, and the events reach a consumer's queue.
func TestBuildersMakeAcceptedDeliveries(t *testing.T) {
	g := Start(t, local)
	queue := g.RouteAll(t)
	ttl := time.Now().Add(time.Hour).UnixMilli()
	reqs := map[string]reqType{
		"shipping":       Shipping(ShippingBody("env-1", time.Now(), OTP{TrackingID: "T1", Code: "111111", TTL: ttl})),
		"shipping-many":  Shipping(ShippingBody("env-2", time.Now(), OTP{TrackingID: "T2", Code: "222222", TTL: ttl}, OTP{TrackingID: "T3", Code: "333333", TTL: ttl})),
		"aps-json":       APS("/aps/transaction-feedback", SignAPS(APSParams("ORDER-1", "F1")), false),
		"aps-form":       APS("/aps/notification-feedback", SignAPS(APSParams("ORDER-2", "F2")), true),
		"shipping-oauth": withBearer(Shipping(ShippingBody("env-3", time.Now(), OTP{TrackingID: "T4", Code: "444444", TTL: ttl})), g.Token(Claims())),
		"amazon-pay-ipn": AmazonPay(g.Notification("m-1", ChargeMessage("C1"))),
	}
	for name, r := range reqs {
		resp := g.Send(t, r)
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", name, resp.StatusCode, resp.Body)
		}
	}
	got := testenv.Consume[map[string]any](t, g.Local.Config, queue, 20)
	// The Amazon Pay v2 charge has two: its own and the deprecated one it still publishes for one release.
	if len(got) != 8 {
		t.Errorf("%d events on the bus, want 8", len(got))
	}
	for _, s := range append(Secrets, "111111") {
		if strings.Contains(g.Logs.String(), s) {
			t.Errorf("logs contain %q", s)
		}
	}
}

type reqType = events.APIGatewayV2HTTPRequest

func withBearer(r reqType, token string) reqType {
	delete(r.Headers, "x-api-key")
	r.Headers["authorization"] = "Bearer " + token
	return r
}
