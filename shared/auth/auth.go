// Package auth authenticates Amazon Shipping push notifications in the four modes Amazon offers
// (EventBridge API destination connection types): an API key header, a query parameter, HTTP Basic,
// and an OAuth 2.0 client-credentials bearer token.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/oauth"
)

// ErrUnauthorized wraps every rejection of the presented credentials. Any other error from
// Authenticate is an outage (secrets or signing keys unreachable) that a retry may get past.
var ErrUnauthorized = errors.New("unauthorized")

// Mode names one authentication mode, as written in configuration.
type Mode string

const (
	ModeAPIKey Mode = "api_key"
	ModeQuery  Mode = "query"
	ModeBasic  Mode = "basic"
	ModeOAuth  Mode = "oauth"
)

// ParseModes reads a comma-separated list such as "api_key,oauth".
func ParseModes(s string) ([]Mode, error) {
	var modes []Mode
	seen := map[Mode]bool{}
	for _, part := range strings.Split(s, ",") {
		m := Mode(strings.TrimSpace(strings.ToLower(part)))
		switch m {
		case "":
			continue
		case ModeAPIKey, ModeQuery, ModeBasic, ModeOAuth:
		default:
			return nil, fmt.Errorf("unknown auth mode %q (want api_key, query, basic or oauth)", m)
		}
		if !seen[m] {
			seen[m] = true
			modes = append(modes, m)
		}
	}
	if len(modes) == 0 {
		return nil, errors.New("no auth mode configured: refusing to accept unauthenticated deliveries")
	}
	return modes, nil
}

// CredentialSource yields the current shared secrets. Refresh is called when presented credentials
// match nothing, in case the secret was rotated since the last fetch; it reports whether it refetched.
type CredentialSource interface {
	Get(ctx context.Context) (Credentials, error)
	Refresh(ctx context.Context) (Credentials, bool, error)
}

// TokenVerifier validates a bearer token; rejections wrap oauth.ErrInvalidToken, anything else
// is an outage.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (*oauth.Claims, error)
}

// Config selects the modes and where their secrets come from.
type Config struct {
	Modes        []Mode
	APIKeyHeader string           // default X-API-KEY
	QueryParam   string           // default api_key
	Credentials  CredentialSource // required for api_key, query and basic
	// Accounts are further credential secrets, one per account (ShippingAccountSecretArns): each
	// names its account label, so rotating one account's credentials touches no other's secret.
	Accounts []CredentialSource
	Tokens   TokenVerifier // required for oauth
	// ClientAccounts labels OAuth clients: the token's client (client_id, else azp) -> account
	// label (OAUTH_CLIENT_ACCOUNTS entries "label=client_id"). A client not listed is
	// account.Default's. When set, a token's client must be an accepted audience, and a token
	// whose aud names another account's client is refused.
	ClientAccounts map[string]string
	Realm          string // for WWW-Authenticate; default amazon-webhook-gateway
}

// Authenticator accepts a request when any enabled mode accepts it.
type Authenticator struct {
	cfg       Config
	enabled   map[Mode]bool
	challenge string
}

// New checks the configuration: a mode without its secret source is an error, so a deployment
// fails at start rather than accepting or refusing everything.
func New(cfg Config) (*Authenticator, error) {
	if len(cfg.Modes) == 0 {
		return nil, errors.New("auth: no mode enabled")
	}
	if cfg.APIKeyHeader == "" {
		cfg.APIKeyHeader = "X-API-KEY"
	}
	if cfg.QueryParam == "" {
		cfg.QueryParam = "api_key"
	}
	if cfg.Realm == "" {
		cfg.Realm = "amazon-webhook-gateway"
	}
	a := &Authenticator{cfg: cfg, enabled: map[Mode]bool{}}
	var challenges []string
	for _, m := range cfg.Modes {
		a.enabled[m] = true
		switch m {
		case ModeAPIKey, ModeQuery, ModeBasic:
			if cfg.Credentials == nil {
				return nil, fmt.Errorf("auth: mode %s needs a credentials secret", m)
			}
		case ModeOAuth:
			if cfg.Tokens == nil {
				return nil, errors.New("auth: mode oauth needs a token verifier")
			}
		default:
			return nil, fmt.Errorf("auth: unknown mode %q", m)
		}
		switch m {
		case ModeBasic:
			challenges = append(challenges, fmt.Sprintf("Basic realm=%q, charset=\"UTF-8\"", cfg.Realm))
		case ModeOAuth:
			challenges = append(challenges, fmt.Sprintf("Bearer realm=%q, error=\"invalid_token\"", cfg.Realm))
		}
	}
	a.challenge = strings.Join(challenges, ", ")
	return a, nil
}

// CredentialNames are the header and query parameter names that carry credentials in the
// configured modes, so that whoever keeps a request can strip them.
func (a *Authenticator) CredentialNames() (headers, query []string) {
	return []string{a.cfg.APIKeyHeader}, []string{a.cfg.QueryParam}
}

// Challenge is the WWW-Authenticate value for a 401, or "" when no enabled mode defines one.
func (a *Authenticator) Challenge() string { return a.challenge }

// presented is what a request offers, gathered once so that secrets are fetched at most once.
type presented struct {
	apiKey, queryKey string
	user, password   string
	hasBasic         bool
	bearer           string
}

func (a *Authenticator) gather(req *events.APIGatewayV2HTTPRequest) presented {
	var p presented
	if a.enabled[ModeAPIKey] {
		p.apiKey = httpapi.Header(req, a.cfg.APIKeyHeader)
	}
	if a.enabled[ModeQuery] {
		p.queryKey = req.QueryStringParameters[a.cfg.QueryParam]
	}
	scheme, value, _ := strings.Cut(httpapi.Header(req, "Authorization"), " ")
	value = strings.TrimSpace(value)
	switch {
	case a.enabled[ModeBasic] && strings.EqualFold(scheme, "Basic"):
		if raw, err := base64.StdEncoding.DecodeString(value); err == nil {
			p.user, p.password, p.hasBasic = strings.Cut(string(raw), ":")
		}
	case a.enabled[ModeOAuth] && strings.EqualFold(scheme, "Bearer"):
		p.bearer = value
	}
	return p
}

// Authenticate returns nil when the request carries a valid credential for an enabled mode, an
// error wrapping ErrUnauthorized when it does not, and any other error when a retry may succeed.
func (a *Authenticator) Authenticate(ctx context.Context, req *events.APIGatewayV2HTTPRequest) error {
	_, err := a.Identify(ctx, req)
	return err
}

// Identity is who a request's credential belongs to.
type Identity struct {
	// Label is the label of the account whose credential (or OAuth client) the request presented.
	Label string
	// AppIDs are the Amazon Shipping application IDs configured for that account (its secret's
	// appIds); empty when none is configured or the request came with a token.
	AppIDs []string
}

// Account is i's label (account.Labeled).
func (i Identity) Account() string { return i.Label }

// ErrAmbiguous: the presented credential is configured for more than one account, so no account
// can be named. A configuration error, not the sender's: it is reported as an outage (a retry
// succeeds once the operator removes the copy).
var ErrAmbiguous = errors.New("auth: the credential is configured for several accounts")

// Identify is Authenticate naming the account whose credential the request carries.
func (a *Authenticator) Identify(ctx context.Context, req *events.APIGatewayV2HTTPRequest) (Identity, error) {
	p := a.gather(req)
	if p.bearer != "" {
		c, err := a.cfg.Tokens.Verify(ctx, p.bearer)
		switch {
		case err == nil:
			return a.clientIdentity(c)
		case !errors.Is(err, oauth.ErrInvalidToken):
			return Identity{}, fmt.Errorf("auth: verifying token: %w", err)
		}
	}
	if p.apiKey == "" && p.queryKey == "" && !p.hasBasic {
		return Identity{}, ErrUnauthorized
	}
	sources := append([]CredentialSource{a.cfg.Credentials}, a.cfg.Accounts...)
	id, err := identify(ctx, p, sources, CredentialSource.Get)
	if errors.Is(err, ErrUnauthorized) {
		// A secret may have been rotated since it was cached.
		id, err = identify(ctx, p, sources, func(s CredentialSource, ctx context.Context) (Credentials, error) {
			c, refetched, err := s.Refresh(ctx)
			if err == nil && !refetched {
				// Unchanged since the first pass: it cannot match now.
				return Credentials{}, nil
			}
			return c, err
		})
	}
	return id, err
}

// identify is the identity of the one account whose credentials (read by get) p matches. Every
// account is compared, so that a credential configured twice is refused, not given to whichever
// comes first. A secret that cannot be read is an outage only when no other matches: the
// credential may be in it.
func identify(ctx context.Context, p presented, sources []CredentialSource, get func(CredentialSource, context.Context) (Credentials, error)) (Identity, error) {
	var found []Identity
	var outage error
	for _, s := range sources {
		if s == nil {
			continue
		}
		c, err := get(s, ctx)
		if err != nil {
			outage = fmt.Errorf("auth: loading credentials: %w", err)
			continue
		}
		if matches(p, c) {
			found = append(found, Identity{Label: c.label(), AppIDs: c.AppIDs})
		}
	}
	switch {
	case len(found) > 1:
		return Identity{}, ErrAmbiguous
	case len(found) == 1:
		return found[0], nil
	case outage != nil:
		return Identity{}, outage
	}
	return Identity{}, ErrUnauthorized
}

// clientIdentity labels a verified token. Without client labels every token is the default
// account's. With them, the label comes from the token's client alone (client_id, else azp),
// which must itself be an accepted audience; an aud naming a client of another account is
// refused: the audience list is the token holder's claim, the client is whom it was issued to.
func (a *Authenticator) clientIdentity(c *oauth.Claims) (Identity, error) {
	if len(a.cfg.ClientAccounts) == 0 {
		return Identity{Label: account.Default}, nil
	}
	client := c.Client()
	if client == "" || !c.ClientAccepted {
		return Identity{}, ErrUnauthorized
	}
	label, ok := a.cfg.ClientAccounts[client]
	if !ok {
		label = account.Default
	}
	for _, aud := range c.Audience {
		if l, ok := a.cfg.ClientAccounts[aud]; ok && l != label {
			return Identity{}, ErrUnauthorized
		}
	}
	return Identity{Label: label}, nil
}

func matches(p presented, c Credentials) bool {
	ok := false
	if p.apiKey != "" {
		ok = anyEqual(p.apiKey, c.APIKeys) || ok
	}
	if p.queryKey != "" {
		ok = anyEqual(p.queryKey, c.QueryKeys) || ok
	}
	if p.hasBasic {
		for _, b := range c.Basic {
			u, pw := equal(p.user, b.Username), equal(p.password, b.Password)
			ok = (u && pw) || ok
		}
	}
	return ok
}

// anyEqual compares against every candidate without stopping early.
func anyEqual(got string, want []string) bool {
	ok := false
	for _, w := range want {
		ok = equal(got, w) || ok
	}
	return ok
}

// equal compares in constant time; hashing first hides the secret's length too.
func equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
