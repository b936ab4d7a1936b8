package harness

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
	"github.com/amazon-webhook-gateway/gateway/shared/shipping"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// Two further accounts of every webhook, to prove that accounts stay apart, beside the development
// configuration's own (the default account): Shipping accounts with a secret each
// (ShippingAccountSecretArns) and an OAuth client each, APS merchants with a phrase set each,
// Amazon Pay merchants with a topic each.
const (
	AccountA = "acme-a"
	AccountB = "acme-b"

	// Shipping: each account's secret holds its own key, Basic user and app ID; each OAuth client
	// is mapped to its account.
	APIKeyA, APIKeyB           = "dev-api-key-a-0123456789abcdefghijk", "dev-api-key-b-0123456789abcdefghijk"
	BasicUserB, BasicPasswordB = "amazon-shipping-b", "dev-password-b-0123456789abcdefgh"
	QueryKeyB                  = "dev-query-key-b-0123456789abcdefgh"
	AppIDA, AppIDB             = "amzn1.aaa.app.test-a", "amzn1.aaa.app.test-b"
	ClientA, ClientB           = "dev-amazon-shipping-client-a", "dev-amazon-shipping-client-b"

	// APS: merchant A's set names no account (its name is the label, being another merchant's),
	// merchant B's names one.
	APSMerchantA, APSAccessCodeA, APSPhraseA = "MerchantA1", "dev-access-code-a-0123", "dev-response-phrase-a-0123456789"
	APSMerchantB, APSAccessCodeB, APSPhraseB = "MerchantB2", "dev-access-code-b-0123", "dev-response-phrase-b-0123456789"

	// Amazon Pay: a topic and a merchant ID per account (the default topic's merchant is unchecked).
	TopicARNA   = "arn:aws:sns:eu-west-1:123456789012:amazon-pay-ipn-test-a"
	TopicARNB   = "arn:aws:sns:eu-west-1:123456789012:amazon-pay-ipn-test-b"
	MerchantIDA = "A1MERCHANTA"
	MerchantIDB = "B2MERCHANTB"
)

// AccountSecrets are the secret values of the further accounts: no log may hold one.
var AccountSecrets = []string{APIKeyA, APIKeyB, BasicPasswordB, QueryKeyB, APSAccessCodeA, APSPhraseA, APSAccessCodeB, APSPhraseB}

// Accounts is a Gateway serving the default account and AccountA and AccountB on every webhook.
type Accounts struct {
	*Gateway
	// ShippingSecretA and ShippingSecretB are the two accounts' Shipping secrets.
	ShippingSecretA, ShippingSecretB string
}

// ShippingSecret is a Shipping account secret: the credentials format with its account and app ID.
func ShippingSecret(label, appID string, apiKeys ...string) string {
	doc := map[string]any{"account": label, "apiKeys": apiKeys, "appIds": []string{appID}}
	if label == AccountB {
		doc["basicAuth"] = []map[string]string{{"username": BasicUserB, "password": BasicPasswordB}}
		doc["queryKeys"] = QueryKeyB
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// StartAccounts is Start with the further accounts configured as an operator would.
func StartAccounts(t testing.TB, local *testenv.Local) *Accounts {
	t.Helper()
	a := &Accounts{}
	a.Gateway = start(t, local, func(s *Stack, c Configs) {
		ctx := context.Background()
		a.ShippingSecretA = must[string](t)(localaws.CreateSecret(ctx, s.AWS, ShippingSecret(AccountA, AppIDA, APIKeyA)))
		a.ShippingSecretB = must[string](t)(localaws.CreateSecret(ctx, s.AWS, ShippingSecret(AccountB, AppIDB, APIKeyB)))
		// A is bound to its label in the configuration (label=arn); B is a bare ARN, labelled
		// by its secret (deprecated, kept for one release).
		c.Shipping.AccountSecrets = append(c.Shipping.AccountSecrets,
			shipping.AccountSecret{Label: AccountA, Setting: secrets.Setting{ARN: a.ShippingSecretA, Refresh: c.Shipping.Secret.Refresh}},
			shipping.AccountSecret{Setting: secrets.Setting{ARN: a.ShippingSecretB, Refresh: c.Shipping.Secret.Refresh}})
		c.Shipping.OAuth.Audiences = append(c.Shipping.OAuth.Audiences, ClientA, ClientB)
		c.Shipping.OAuthClientAccounts = map[string]string{ClientA: AccountA, ClientB: AccountB}

		c.APS.Secret.ARN = must[string](t)(localaws.CreateSecret(ctx, s.AWS, `{"merchantIdentifier":"MxvOupuG","accessCode":"SILgpo7pWbmzuURp2qri","shaResponsePhrase":"`+APSPhrase+`",
			"phraseSets":[
				{"name":"apple-pay","accessCode":"`+ApplePayAccessCode+`","shaResponsePhrase":"`+ApplePayPhrase+`","algorithm":"SHA-512"},
				{"name":"`+AccountA+`","merchantIdentifier":"`+APSMerchantA+`","accessCode":"`+APSAccessCodeA+`","shaResponsePhrase":"`+APSPhraseA+`"},
				{"name":"merchant-b","account":"`+AccountB+`","merchantIdentifier":"`+APSMerchantB+`","accessCode":"`+APSAccessCodeB+`","shaResponsePhrase":"`+APSPhraseB+`"}]}`))

		c.AmazonPay.Topics = []string{TopicARN, TopicARNA, TopicARNB}
		c.AmazonPay.TopicAccounts = map[string]string{TopicARN: "default", TopicARNA: AccountA, TopicARNB: AccountB}
		c.AmazonPay.MerchantAccounts = map[string]string{MerchantIDA: AccountA, MerchantIDB: AccountB}
	})
	return a
}

// PutShippingSecret replaces the value of a Shipping secret (a rotation), returning its new version.
func (a *Accounts) PutShippingSecret(t testing.TB, arn, value string) string {
	t.Helper()
	out := must[*secretsmanager.PutSecretValueOutput](t)(secretsmanager.NewFromConfig(a.Local.Config).PutSecretValue(context.Background(),
		&secretsmanager.PutSecretValueInput{SecretId: &arn, SecretString: &value}))
	return aws.ToString(out.VersionId)
}

// SecretVersion is the current version id of secret arn.
func (a *Accounts) SecretVersion(t testing.TB, arn string) string {
	t.Helper()
	out := must[*secretsmanager.GetSecretValueOutput](t)(secretsmanager.NewFromConfig(a.Local.Config).GetSecretValue(context.Background(),
		&secretsmanager.GetSecretValueInput{SecretId: &arn}))
	return aws.ToString(out.VersionId)
}

// ShippingWithKey is Shipping(body) presenting API key key.
func ShippingWithKey(body, key string) events.APIGatewayV2HTTPRequest {
	r := Shipping(body)
	r.Headers["x-api-key"] = key
	return r
}

// SignAPSWith returns params, for merchant identifier id and access code code, signed (SHA-256)
// with phrase.
func SignAPSWith(params map[string]string, id, code, phrase string) map[string]string {
	p := map[string]string{}
	for k, v := range params {
		p[k] = v
	}
	p["merchant_identifier"], p["access_code"] = id, code
	s, _ := apssignature.NewSigner(apssignature.SHA256, phrase)
	p["signature"] = s.Sign(p)
	return p
}

// NotificationOn is Notification from topic.
func (g *Gateway) NotificationOn(topic, id, message string) events.APIGatewayV2HTTPRequest {
	m := g.Notification(id, message)
	m.TopicARN = topic
	g.SNS.Sign(m)
	return AmazonPay(m)
}

// ChargeMessageOf is ChargeMessage of merchant merchantID.
func ChargeMessageOf(merchantID, id string) string {
	return `{"MerchantID":"` + merchantID + `","ObjectType":"CHARGE","ObjectId":"` + id + `","ChargePermissionId":"S02-0000000-0000000","NotificationType":"STATE_CHANGE","NotificationId":"n-` + id + `","NotificationVersion":"V1"}`
}
