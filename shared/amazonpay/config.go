package amazonpay

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/amazonpayapi"
	"github.com/amazon-webhook-gateway/gateway/shared/delivery"
	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
)

// noTopic matches no SNS topic ARN.
const noTopic = "none"

// maxMessageAge refuses replayed IPNs: SNS retries within minutes, and the idempotency store
// remembers a MessageId and a signed text for 48 h, so a captured message is a duplicate until it
// is refused.
const maxMessageAge = 24 * time.Hour

// Config is the amazon-pay-ipn function's configuration (template.yaml, AmazonPayIpnFunction).
type Config struct {
	pipeline.Settings
	// Topics are the SNS topic ARNs whose messages are accepted.
	Topics []string
	// TopicAccounts labels topics: ARN -> account label (IPN_TOPIC_ARNS entries "label=arn"; a
	// bare ARN is account.Default's).
	TopicAccounts map[string]string
	// MerchantAccounts are each account's merchant IDs: MerchantID -> label (IPN_MERCHANT_IDS
	// entries "label=merchantId"; a bare ID is account.Default's).
	MerchantAccounts map[string]string
	// Discovery asks for set-up mode while Topics is empty.
	Discovery bool
	// HTTPClient fetches certificates and confirms subscriptions (nil: the verifier's own).
	HTTPClient *http.Client

	// APIKey names the secret holding the Amazon Pay API v2 key (amazonpayapi.ParseKey); without
	// an ARN no call is made and v2 events say enrichment "disabled".
	APIKey secrets.Setting
	// IncludeBuyerData keeps buyer and address fields in a fetched state.
	IncludeBuyerData bool
	// APIBaseURL replaces the Amazon Pay API's address derived from the key (a local stand-in).
	// Only the tests' wiring sets it: the environment never does.
	APIBaseURL string
	// APIHTTPClient calls the Amazon Pay API (nil: http.DefaultClient; each call is bounded by
	// DefaultFetchTimeout).
	APIHTTPClient *http.Client
	// OmitDeprecatedCopies stops the deprecated copy of each v2 message under its India
	// detail-type (PublishDeprecatedDetailTypes=false), for consumers that moved to the v2
	// detail-types before the copies stop (CHANGELOG.md, Deprecations). The zero value keeps
	// publishing them, as the template's default does.
	OmitDeprecatedCopies bool
}

// ReadConfig reads the function's environment; its errors name the variable.
func ReadConfig() (Config, error) {
	s, err := pipeline.ReadSettings(DefaultMaxBodyBytes, DeferByDefault)
	if err != nil {
		return Config{}, err
	}
	c := Config{Settings: s}
	entries := envconfig.List("IPN_TOPIC_ARNS")
	if c.TopicAccounts, err = account.ParseMap(entries); err != nil {
		return Config{}, fmt.Errorf("IPN_TOPIC_ARNS: %w", err)
	}
	for _, e := range entries {
		// The ARN of "label=arn", as ParseMap reads it.
		if _, arn, ok := strings.Cut(e, "="); ok {
			e = arn
		}
		c.Topics = append(c.Topics, strings.TrimSpace(e))
	}
	if c.MerchantAccounts, err = account.ParseMap(envconfig.List("IPN_MERCHANT_IDS")); err != nil {
		return Config{}, fmt.Errorf("IPN_MERCHANT_IDS: %w", err)
	}
	if c.Discovery, err = envconfig.Bool("IPN_TOPIC_DISCOVERY", false); err != nil {
		return Config{}, err
	}
	c.APIKey.ARN = os.Getenv("AMAZON_PAY_API_KEY_SECRET_ARN")
	if c.APIKey.Refresh, err = envconfig.Duration("SECRET_REFRESH_INTERVAL", 5*time.Minute); err != nil {
		return Config{}, err
	}
	if c.IncludeBuyerData, err = envconfig.Bool("AMAZON_PAY_INCLUDE_BUYER_DATA", false); err != nil {
		return Config{}, err
	}
	publish, err := envconfig.Bool("PUBLISH_DEPRECATED_DETAIL_TYPES", true)
	if err != nil {
		return Config{}, err
	}
	c.OmitDeprecatedCopies = !publish
	return c, nil
}

// New builds the function's Lambda handler on awsCfg.
func New(awsCfg aws.Config, c Config, log *slog.Logger) (pipeline.LambdaHandler, error) {
	topics, setUp := c.Topics, false
	switch {
	case len(topics) > 0 && c.Discovery:
		// Set-up is over once a topic is allowed: never verify other topics' messages again.
		log.Warn("IPN_TOPIC_DISCOVERY is ignored: IPN_TOPIC_ARNS is set")
	case len(topics) == 0 && c.Discovery:
		// Amazon Pay's topic ARN is first seen in its SubscriptionConfirmation: in set-up mode a
		// verified one is logged (never confirmed) and every message is refused.
		log.Warn("set-up mode: every message is refused; verified SubscriptionConfirmations are logged with their topic, never confirmed")
		setUp = true
	case len(topics) == 0:
		log.Warn("IPN_TOPIC_ARNS is empty: every message is refused until its topic is allowed (see IPN_TOPIC_DISCOVERY)")
		topics = []string{noTopic}
	}
	sns, err := snsverify.NewVerifier(snsverify.Config{TopicARNs: topics, SetUp: setUp, MaxAge: maxMessageAge, HTTPClient: c.HTTPClient})
	if err != nil {
		return nil, fmt.Errorf("IPN_TOPIC_ARNS: %w", err)
	}
	steps := &Steps{SNS: sns, IncludeBuyerData: c.IncludeBuyerData, Topics: c.TopicAccounts, Merchants: c.MerchantAccounts,
		OmitDeprecatedCopies: c.OmitDeprecatedCopies}
	if c.APIKey.ARN != "" {
		// Read at the first v2 message, not here: an IPN must never wait on (or fail for) the key.
		key := secrets.Open(awsCfg, c.APIKey, amazonpayapi.ParseKey)
		steps.API = &amazonpayapi.Client{Key: key.Get, BaseURL: c.APIBaseURL, HTTP: c.APIHTTPClient}
		steps.Pending = &quarantine.Keeper{Store: quarantine.New(delivery.Objects(awsCfg), c.PayloadBucket), Webhook: Webhook, Function: c.Function}
	}
	log.Info("Amazon Pay IPN configured", "topics", len(topics), "merchantIds", len(c.MerchantAccounts), "setUp", setUp, "enrichment", steps.API != nil, "includeBuyerData", c.IncludeBuyerData)
	return pipeline.Build(awsCfg, c.Settings, Webhook, steps, log), nil
}
