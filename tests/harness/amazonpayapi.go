package harness

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpay"
	"github.com/amazon-webhook-gateway/gateway/shared/amazonpayapi"
	"github.com/amazon-webhook-gateway/gateway/shared/delivery"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
	"github.com/amazon-webhook-gateway/gateway/tests/amazonpaystub"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// AmazonPayAPIKeyFile is the development Amazon Pay API v2 key (events/dev/), as the secret
// AmazonPayApiKeySecretArn holds it.
const AmazonPayAPIKeyFile = "amazon-pay-api-key.json"

// AmazonPayAPI is an Amazon Pay function with enrichment: its Lambda handler and the Amazon Pay
// stand-in it calls.
type AmazonPayAPI struct {
	Handler pipeline.LambdaHandler
	Stub    *amazonpaystub.Server
}

// AmazonPayWithAPI builds the Amazon Pay function as its main.go does, on g's resources, with
// the development key in a secret (AmazonPayApiKeySecretArn) and the Amazon Pay API's address at
// a new local stand-in that verifies the key's signatures.
func (g *Gateway) AmazonPayWithAPI(t testing.TB, includeBuyerData bool) *AmazonPayAPI {
	t.Helper()
	doc := must[[]byte](t)(os.ReadFile(filepath.Join(localaws.RepoRoot(), "events", "dev", AmazonPayAPIKeyFile)))
	key := must[amazonpayapi.Key](t)(amazonpayapi.ParseKey(doc))
	secret := must[string](t)(localaws.CreateSecret(context.Background(), g.Local.Config, string(doc)))
	stub := amazonpaystub.New(t, key.PublicKeyID, &key.PrivateKey.PublicKey)
	h := must[pipeline.LambdaHandler](t)(amazonpay.New(g.AWS, amazonpay.Config{
		Settings: pipeline.Settings{
			Function: "AmazonPayIpnFunction", MaxBodyBytes: amazonpay.DefaultMaxBodyBytes, Metrics: g.Metrics,
			Resources: delivery.Resources{IdempotencyTable: g.IdempotencyTable, EventBus: g.Bus, PayloadBucket: g.Quarantine.Bucket()},
		},
		Topics: []string{TopicARN}, HTTPClient: g.SNS.Client(),
		APIKey: secrets.Setting{ARN: secret, Refresh: 5 * time.Minute}, IncludeBuyerData: includeBuyerData,
		APIBaseURL: stub.URL,
	}, slog.New(slog.NewJSONHandler(g.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	return &AmazonPayAPI{Handler: h, Stub: stub}
}
