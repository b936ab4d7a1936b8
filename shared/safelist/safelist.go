// Package safelist registers (safelists) a webhook URL with Amazon Pay India so that it receives
// IPNs, through POST /v1/ipn signed with Amazon Pay's HMAC-SHA384 scheme, and offers the call as a
// CloudFormation custom resource so a stack can safelist its own endpoint.
//
// Safelisting only starts the subscription: Amazon then sends an SNS SubscriptionConfirmation to
// the endpoint, which must fetch its SubscribeURL. Amazon Pay has no call to remove an endpoint.
package safelist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/amazon-webhook-gateway/gateway/shared/secrets"
)

// Hosts of the API. The sandbox has its own merchant registration: a merchant known to one is
// unknown to the other.
const (
	ProductionHost = "amazonpay.amazon.in"
	SandboxHost    = "amazonpay-sandbox.amazon.in"
)

// Path of the safelisting API.
const Path = "/v1/ipn"

// MaxEndpointLength is Amazon Pay's limit on recipientEndpoint, in characters.
const MaxEndpointLength = 2048

// Defaults for the headers whose value Amazon Pay does not prescribe for a server-to-server call.
const (
	DefaultSource    = "Server"
	DefaultUserIP    = "127.0.0.1"
	DefaultUserAgent = "amazon-webhook-gateway-safelist/1"
	DefaultExpires   = 900 * time.Second
	// DefaultAuthSeparator is the documented "AMZ+<accessKeyId>:<signature>"; some clients send a space.
	DefaultAuthSeparator = "+"
)

// maxBody bounds how much of an answer is read: Amazon Pay's errors are a few hundred bytes.
const maxBody = 64 << 10

// maxMessage bounds Amazon's message in an error, which may end up in a CloudFormation Reason
// (whose whole response is limited to 4 KB).
const maxMessage = 512

// Credentials are a merchant's Amazon Pay India API keys. String and GoString hide SecretKey, so
// that logging the struct by mistake does not leak it.
type Credentials struct {
	MerchantID, AccessKeyID, SecretKey string
}

func (c Credentials) String() string {
	return fmt.Sprintf("{MerchantID:%s AccessKeyID:%s SecretKey:[redacted]}", c.MerchantID, c.AccessKeyID)
}

func (c Credentials) GoString() string { return "safelist.Credentials" + c.String() }

// validate names the first empty or malformed field by its JSON name (the name in the secret)
// and never shows a value.
func (c Credentials) validate() error {
	for _, f := range []struct{ name, value string }{
		{"merchantId", c.MerchantID}, {"accessKeyId", c.AccessKeyID}, {"secretKey", c.SecretKey},
	} {
		if f.value == "" {
			return fmt.Errorf("%w: %s is empty", ErrInvalidCredentials, f.name)
		}
		if !headerSafe(f.value) {
			return fmt.Errorf("%w: %s contains spaces or control characters", ErrInvalidCredentials, f.name)
		}
	}
	return nil
}

// ParseCredentials parses the Secrets Manager JSON {"merchantId","accessKeyId","secretKey"};
// other fields are ignored and surrounding spaces trimmed (a pasted newline otherwise fails as
// AuthorizationFailed). Errors name the field, never a value: JSON syntax errors are not passed
// on, since they quote the offending text.
func ParseCredentials(raw []byte) (Credentials, error) {
	var v struct {
		MerchantID  string `json:"merchantId"`
		AccessKeyID string `json:"accessKeyId"`
		SecretKey   string `json:"secretKey"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Credentials{}, fmt.Errorf("%w: %s must be a JSON string", ErrInvalidCredentials, te.Field)
		}
		return Credentials{}, fmt.Errorf("%w: the secret is not a JSON object {\"merchantId\",\"accessKeyId\",\"secretKey\"}", ErrInvalidCredentials)
	}
	c := Credentials{
		MerchantID:  strings.TrimSpace(v.MerchantID),
		AccessKeyID: strings.TrimSpace(v.AccessKeyID),
		SecretKey:   strings.TrimSpace(v.SecretKey),
	}
	if err := c.validate(); err != nil {
		return Credentials{}, err
	}
	return c, nil
}

// LoadCredentials reads secretID through shared/secrets, as every function reads its secrets, and
// parses it with ParseCredentials. It reads at each call, without a cache: the custom resource runs
// a few times per deploy, and a key rotated in between must be the one used. A secret without a
// value parses as empty (an invalid-credentials answer).
func LoadCredentials(ctx context.Context, sm secrets.Getter, secretID string) (Credentials, error) {
	raw, err := secrets.Read(ctx, sm, secretID)
	if err != nil && !errors.Is(err, secrets.ErrNoValue) {
		return Credentials{}, fmt.Errorf("safelist: reading secret %s: %w", secretID, err)
	}
	c, err := ParseCredentials(raw)
	if err != nil {
		return Credentials{}, fmt.Errorf("secret %s: %w", secretID, err)
	}
	return c, nil
}

// Client calls the safelisting API for one merchant. It is safe for concurrent use.
type Client struct {
	creds     Credentials
	host      string
	http      *http.Client
	now       func() time.Time
	sep       string
	source    string
	expires   time.Duration
	userIP    string
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHost sets the API host (host or host:port), ProductionHost by default.
func WithHost(h string) Option { return func(c *Client) { c.host = h } }

// WithHTTPClient replaces the default client (30 s timeout, redirects not followed, since a
// redirected POST would lose its body and its signature is bound to the host).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithClock sets the source of x-amz-date; tests fix it.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithAuthSeparator sets what goes between "AMZ" and the access key ID in Authorization: "+" as
// documented by default; some implementations use " ".
func WithAuthSeparator(sep string) Option { return func(c *Client) { c.sep = sep } }

// WithSource sets x-amz-source, "Server" by default.
func WithSource(s string) Option { return func(c *Client) { c.source = s } }

// WithExpires sets x-amz-expires, how long the signature is valid (whole seconds, at least one);
// 900 s by default.
func WithExpires(d time.Duration) Option { return func(c *Client) { c.expires = d } }

// WithUserIP sets x-amz-user-ip. Amazon Pay does not say what it expects for a server-to-server
// call; the default is 127.0.0.1. Use the caller's public IP if Amazon asks for it.
func WithUserIP(ip string) Option { return func(c *Client) { c.userIP = ip } }

// WithUserAgent sets x-amz-user-agent.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client for creds; every credential field must be set, and the options sane.
func New(creds Credentials, opts ...Option) (*Client, error) {
	if err := creds.validate(); err != nil {
		return nil, err
	}
	c := &Client{
		creds:     creds,
		host:      ProductionHost,
		now:       time.Now,
		sep:       DefaultAuthSeparator,
		source:    DefaultSource,
		expires:   DefaultExpires,
		userIP:    DefaultUserIP,
		userAgent: DefaultUserAgent,
	}
	for _, o := range opts {
		o(c)
	}
	if c.host == "" || strings.ContainsAny(c.host, "/?#@ ") || !headerSafe(c.host) {
		return nil, fmt.Errorf("safelist: host %q is not a host or host:port", c.host)
	}
	if c.sep == "" || !headerSafe(c.sep) {
		return nil, errors.New(`safelist: the Authorization separator must be "+", " " or similar, not empty`)
	}
	if c.expires < time.Second {
		return nil, fmt.Errorf("safelist: x-amz-expires %v is under one second", c.expires)
	}
	for name, v := range map[string]string{"x-amz-source": c.source, "x-amz-user-ip": c.userIP, "x-amz-user-agent": c.userAgent} {
		if v == "" || !headerSafe(v) {
			return nil, fmt.Errorf("safelist: %s must be non-empty printable text", name)
		}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.http == nil {
		c.http = &http.Client{
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return c, nil
}

// headerSafe: printable, so that a value cannot break or be rejected from a header line.
// Spaces are allowed inside (user agents have them); callers that forbid them check separately.
func headerSafe(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// ValidateEndpoint checks what Amazon Pay would otherwise reject after a round trip: an absolute
// https URL with a host, at most 2048 characters, valid UTF-8 (the JSON body could not carry
// anything else unchanged), without spaces. The error is an *EndpointError matching
// ErrInvalidEndpoint; it shows the URL without its query, which may hold a token.
func ValidateEndpoint(endpoint string) error {
	fail := func(shown, reason string) error { return &EndpointError{Endpoint: shown, Reason: reason} }
	if endpoint == "" {
		return fail("", "empty")
	}
	if !utf8.ValidString(endpoint) {
		return fail("", "not valid UTF-8")
	}
	if n := utf8.RuneCountInString(endpoint); n > MaxEndpointLength {
		return fail("", fmt.Sprintf("%d characters, Amazon Pay accepts at most %d", n, MaxEndpointLength))
	}
	if strings.ContainsFunc(endpoint, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fail("", "contains spaces or control characters")
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		// url.Error quotes the whole URL, query included: not passed on.
		return fail("", "not a URL")
	}
	shown := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	switch {
	case !u.IsAbs():
		return fail(shown, "not absolute; want https://host/path")
	case u.Scheme != "https":
		return fail(shown, fmt.Sprintf("scheme %q; Amazon Pay delivers over https only", u.Scheme))
	case u.Hostname() == "":
		return fail(shown, "no host")
	}
	return nil
}

// Safelist asks Amazon Pay to deliver the merchant's IPNs to endpoint. The endpoint is validated
// first, with no request on failure. A 2xx answer (documented: 200, empty body) is success; any
// other is an *APIError that matches a sentinel by code. Calling it again for the same endpoint is
// what an unchanged CloudFormation update does; Amazon Pay does not document a duplicate error.
func (c *Client) Safelist(ctx context.Context, endpoint string) error {
	if err := ValidateEndpoint(endpoint); err != nil {
		return err
	}
	// One map is both the JSON body and the body parameters of the canonical request, so the
	// signed values are the sent ones.
	params := map[string]string{
		"merchantId":            c.creds.MerchantID,
		"recipientIdentifier":   c.creds.MerchantID,
		"recipientType":         "MERCHANT",
		"recipientEndpoint":     endpoint,
		"recipientEndpointType": "HTTPS",
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false) // keep "&" in a URL as "&", not \u0026: same value, easier to read in a trace
	if err := enc.Encode(params); err != nil {
		return fmt.Errorf("safelist: encoding the request: %w", err)
	}

	amzDate := c.now().UTC().Format(AmzDateLayout)
	headers := c.amzHeaders(amzDate)
	canonical := CanonicalRequest(http.MethodPost, c.host, Path, nil, headers, params)
	sig := Signature(SigningKey(c.creds.SecretKey, amzDate[:8]), StringToSign(amzDate, canonical))

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+c.host+Path, bytes.NewReader(bytes.TrimSuffix(body.Bytes(), []byte("\n"))))
	if err != nil {
		return fmt.Errorf("safelist: building the request: %w", err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Authorization", "AMZ"+c.sep+c.creds.AccessKeyID+":"+sig)
	req.Header.Set("Content-Type", "application/json")

	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error names only our URL (host and /v1/ipn); headers are never in transport errors.
		return fmt.Errorf("safelist: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return c.apiError(resp.StatusCode, raw, sig)
}

// amzHeaders are the x-amz-* headers sent, and all of them are signed: the recipe says "the x-amz-*
// headers" without a list, and signing every one we send is what a verifier that takes the
// request's x-amz-* headers as received would recompute; it also binds the expiry and client ID.
func (c *Client) amzHeaders(amzDate string) map[string]string {
	return map[string]string{
		"x-amz-client-id":  c.creds.MerchantID,
		"x-amz-source":     c.source,
		"x-amz-user-ip":    c.userIP,
		"x-amz-user-agent": c.userAgent,
		"x-amz-algorithm":  Algorithm,
		"x-amz-date":       amzDate,
		"x-amz-expires":    strconv.FormatInt(int64(c.expires/time.Second), 10),
	}
}

// apiError reads Amazon's {"code","message"}. A server or proxy that echoes the request could put
// the signature in its message, so the signature and the secret key are cut out.
func (c *Client) apiError(status int, raw []byte, sig string) *APIError {
	e := &APIError{Status: status}
	var body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &body) != nil {
		return e
	}
	redact := strings.NewReplacer(c.creds.SecretKey, "[redacted]", sig, "[redacted]")
	e.Code = truncate(redact.Replace(strings.TrimSpace(body.Code)), 64)
	e.Message = truncate(redact.Replace(body.Message), maxMessage)
	return e
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
