package shipping

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/auth"
	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
	"github.com/amazon-webhook-gateway/gateway/shared/oauth"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
	"github.com/amazon-webhook-gateway/gateway/shared/trackingstore"
)

// Config is the shipping-otp function's configuration (template.yaml, ShippingOtpFunction).
type Config struct {
	pipeline.Settings
	OTPTable   string
	IncludeOTP bool
	Modes      []auth.Mode
	// APIKeyHeader and QueryParam name the credential of the api_key and query modes.
	APIKeyHeader, QueryParam string
	// Secret holds the shared credentials (api_key, query, basic): the default account's unless it
	// names another.
	Secret secrets.Setting
	// AccountSecrets hold further accounts' credentials, one secret per account
	// (ShippingAccountSecretArns): an account is rotated or revoked in its own secret.
	AccountSecrets []AccountSecret
	// OAuthClientAccounts labels OAuth clients: client_id -> account label (ShippingOAuthClientAccounts,
	// entries "label=client_id").
	OAuthClientAccounts map[string]string
	// OAuth configures the bearer tokens' verifier (oauth).
	OAuth oauth.Config
	// TrackingTable keeps the latest tracking state per tracking ID for TrackingRetentionDays.
	TrackingTable         string
	TrackingRetentionDays int
	// NDRDetailTypes are the envelope detail-types of NDR entries (ShippingNdrDetailTypes).
	NDRDetailTypes []string
	// MaxOTPTTL is how long after its receipt an OTP may stay valid (ShippingOtpMaxTtlDays): one
	// valid longer is quarantined. 0: DefaultMaxOTPTTL.
	MaxOTPTTL time.Duration
	// KeepStrayCodes keeps a verificationCode found outside an OTP entry (ArchiveOtpEvents=true);
	// otherwise it is stripped before anything is stored or published.
	KeepStrayCodes bool
	// OmitDeprecatedCopies stops the deprecated Shipping Notification copy of each tracking and
	// NDR entry (PublishDeprecatedDetailTypes=false), for consumers that moved to the tracking and
	// NDR detail-types before the copies stop (CHANGELOG.md, Deprecations). The zero value keeps
	// publishing them, as the template's default does.
	OmitDeprecatedCopies bool
}

// DefaultMaxOTPTTL is the template's ShippingOtpMaxTtlDays default.
const DefaultMaxOTPTTL = 7 * 24 * time.Hour

// AccountSecret is one further account's credentials secret and the label the configuration
// binds it to ("label=arn"): whoever may write the secret cannot relabel its account. A secret
// naming another account fails to load. An empty Label (a bare ARN, deprecated) takes the
// secret's own "account".
type AccountSecret struct {
	Label string
	secrets.Setting
}

// ParseAccountSecrets reads ShippingAccountSecretArns' entries: "label=arn", or a bare ARN. A
// label configured twice, or the default account's (its secret is ShippingAuthSecretArn), is
// refused from the configuration alone, before any secret is read.
func ParseAccountSecrets(entries []string, refresh time.Duration) ([]AccountSecret, error) {
	var out []AccountSecret
	seen := map[string]bool{}
	for _, e := range entries {
		s := AccountSecret{Setting: secrets.Setting{ARN: e, Refresh: refresh}}
		if !strings.HasPrefix(e, "arn:") {
			label, arn, ok := strings.Cut(e, "=")
			if !ok || !strings.HasPrefix(arn, "arn:") {
				return nil, fmt.Errorf("entry %q: want label=arn or an ARN", e)
			}
			if err := account.Check(label); err != nil {
				return nil, err
			}
			if label == account.Default {
				return nil, fmt.Errorf("label %q: the default account's credentials are ShippingAuthSecretArn's secret", label)
			}
			if seen[label] {
				return nil, fmt.Errorf("label %q configured twice", label)
			}
			seen[label] = true
			s.Label, s.ARN = label, arn
		}
		out = append(out, s)
	}
	return out, nil
}

// DefaultTrackingRetentionDays is the template's TrackingRetentionDays default.
const DefaultTrackingRetentionDays = 90

// ReadConfig reads the function's environment; its errors name the variable.
func ReadConfig() (Config, error) {
	s, err := pipeline.ReadSettings(DefaultMaxBodyBytes, DeferByDefault)
	if err != nil {
		return Config{}, err
	}
	c := Config{Settings: s, APIKeyHeader: os.Getenv("API_KEY_HEADER"), QueryParam: os.Getenv("QUERY_PARAM_NAME")}
	if c.OTPTable, err = envconfig.Required("OTP_TABLE_NAME"); err != nil {
		return Config{}, err
	}
	if c.IncludeOTP, err = envconfig.Bool("INCLUDE_OTP_IN_EVENTS", true); err != nil {
		return Config{}, err
	}
	if c.TrackingTable, err = envconfig.Required("TRACKING_TABLE_NAME"); err != nil {
		return Config{}, err
	}
	if c.TrackingRetentionDays, err = envconfig.PositiveInt("TRACKING_RETENTION_DAYS", DefaultTrackingRetentionDays); err != nil {
		return Config{}, err
	}
	c.NDRDetailTypes = envconfig.List("NDR_DETAIL_TYPES")
	days, err := envconfig.PositiveInt("OTP_MAX_TTL_DAYS", int(DefaultMaxOTPTTL/(24*time.Hour)))
	if err != nil {
		return Config{}, err
	}
	c.MaxOTPTTL = time.Duration(days) * 24 * time.Hour
	if c.KeepStrayCodes, err = envconfig.Bool("ARCHIVE_OTP_EVENTS", false); err != nil {
		return Config{}, err
	}
	publish, err := envconfig.Bool("PUBLISH_DEPRECATED_DETAIL_TYPES", true)
	if err != nil {
		return Config{}, err
	}
	c.OmitDeprecatedCopies = !publish
	if c.Modes, err = auth.ParseModes(os.Getenv("AUTH_MODES")); err != nil {
		return Config{}, fmt.Errorf("AUTH_MODES: %w", err)
	}
	// Each mode's settings are read only when the mode is on.
	for _, m := range c.Modes {
		switch {
		case m == auth.ModeOAuth && c.OAuth.Issuer == "":
			if c.OAuth.Issuer, err = envconfig.Required("OAUTH_ISSUER"); err != nil {
				return Config{}, err
			}
			if c.OAuth.MaxLifetime, err = envconfig.Duration("OAUTH_MAX_TOKEN_LIFETIME", 0); err != nil {
				return Config{}, err
			}
			c.OAuth.JWKSURL = os.Getenv("OAUTH_JWKS_URL")
			c.OAuth.Audiences = envconfig.List("OAUTH_AUDIENCES")
			c.OAuth.RequiredScope = os.Getenv("OAUTH_REQUIRED_SCOPE")
			if c.OAuthClientAccounts, err = account.ParseMap(envconfig.List("OAUTH_CLIENT_ACCOUNTS")); err != nil {
				return Config{}, fmt.Errorf("OAUTH_CLIENT_ACCOUNTS: %w", err)
			}
		case m != auth.ModeOAuth && c.Secret.ARN == "":
			if c.Secret, err = pipeline.ReadSecretSetting("AUTH_SECRET_ARN"); err != nil {
				return Config{}, err
			}
			if c.AccountSecrets, err = ParseAccountSecrets(envconfig.List("ACCOUNT_SECRET_ARNS"), c.Secret.Refresh); err != nil {
				return Config{}, fmt.Errorf("ACCOUNT_SECRET_ARNS: %w", err)
			}
		}
	}
	return c, nil
}

// New builds the function's Lambda handler on awsCfg.
func New(awsCfg aws.Config, c Config, log *slog.Logger) (pipeline.LambdaHandler, error) {
	ac := auth.Config{Modes: c.Modes, APIKeyHeader: c.APIKeyHeader, QueryParam: c.QueryParam, ClientAccounts: c.OAuthClientAccounts}
	for _, m := range c.Modes {
		switch {
		case m == auth.ModeOAuth && ac.Tokens == nil:
			v, err := oauth.NewVerifier(c.OAuth)
			if err != nil {
				return nil, fmt.Errorf("OAuth: %w", err)
			}
			ac.Tokens = v
		case m != auth.ModeOAuth && ac.Credentials == nil:
			ac.Credentials = secrets.Open(awsCfg, c.Secret, auth.ParseCredentials)
			// Each account's secret is cached on its own: rotating one refetches only it.
			for _, s := range c.AccountSecrets {
				parse := auth.ParseCredentials
				if s.Label != "" {
					parse = auth.ParseCredentialsOf(s.Label)
				} else {
					log.Warn("an account secret without a label in ShippingAccountSecretArns: its own \"account\" labels it; bind it as label=arn (bare ARNs are deprecated)", "secret", s.ARN)
				}
				ac.Accounts = append(ac.Accounts, secrets.Open(awsCfg, s.Setting, parse))
			}
		}
	}
	log.Info("authentication configured", "modes", fmt.Sprint(c.Modes), "accountSecrets", len(ac.Accounts), "oauthClientAccounts", len(c.OAuthClientAccounts))
	authn, err := auth.New(ac)
	if err != nil {
		return nil, err
	}
	// The credential names are configurable, so the quarantine's redaction must be told them.
	s := c.Settings
	s.SecretHeaders, s.SecretQuery = authn.CredentialNames()
	db := dynamodb.NewFromConfig(awsCfg)
	steps := &Steps{Auth: authn, OTPs: otpstore.New(db, c.OTPTable, nil), IncludeOTP: c.IncludeOTP, NDRDetailTypes: c.NDRDetailTypes,
		MaxOTPTTL: c.MaxOTPTTL, KeepStrayCodes: c.KeepStrayCodes, OmitDeprecatedCopies: c.OmitDeprecatedCopies}
	if c.TrackingTable != "" {
		days := c.TrackingRetentionDays
		if days <= 0 {
			days = DefaultTrackingRetentionDays
		}
		steps.Tracking = trackingstore.New(db, c.TrackingTable, time.Duration(days)*24*time.Hour, nil)
	}
	return pipeline.Build(awsCfg, s, Webhook, steps, log), nil
}
