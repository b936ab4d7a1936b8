package snsverify

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// defaultCertHostPattern is the host a SigningCertURL or SubscribeURL must have. AWS documents
// ^sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?$, which also matches legacy S3 virtual-host names of
// a bucket called "sns" (sns.s3.amazonaws.com, sns.s3-external-1.amazonaws.com): the label here must
// look like a region, and the host must also be the SNS host of the TopicArn's region (snsHost).
var defaultCertHostPattern = regexp.MustCompile(`^sns\.[a-z]{2}(-[a-z]+)+-[0-9]+\.amazonaws\.com(\.cn)?$`)

// certPathPattern is the path of every SNS signing certificate URL.
var certPathPattern = regexp.MustCompile(`^/SimpleNotificationService-[0-9a-f]{1,64}\.pem$`)

// certNamePattern is a name the signing certificate must hold (as CommonName or DNS name).
var certNamePattern = regexp.MustCompile(`^sns(\.[a-z]{2}(-[a-z]+)+-[0-9]+)?\.amazonaws\.com(\.cn)?$`)

const (
	defaultMaxCachedCerts = 32
	defaultTimeout        = 3 * time.Second
	maxCertBytes          = 64 << 10 // an SNS certificate is about 2 KiB
	maxConfirmBodyBytes   = 64 << 10
)

// Config configures a Verifier.
type Config struct {
	// TopicARNs is the allow-list of TopicArns, matched exactly. Required (an empty list is an
	// error: fail closed) unless SetUp.
	TopicARNs []string
	// SetUp is the set-up (topic discovery) mode, allowed only with an empty TopicARNs: Verify
	// refuses every message (ErrTopicNotAllowed, no network call), and Discover verifies a
	// SubscriptionConfirmation of any topic, so that the operator can learn Amazon Pay's topic
	// from a verified message. Nothing is ever confirmed in this mode.
	SetUp bool
	// HTTPClient fetches certificates and SubscribeURLs. Default: a 3 s timeout. Redirects are
	// never followed, whatever the client's CheckRedirect (a redirect is a non-200 answer).
	HTTPClient *http.Client
	// Now is the clock for certificate validity. Default: time.Now.
	Now func() time.Time
	// MaxCachedCerts bounds the certificate cache (keyed by URL; the oldest entry is evicted).
	// Default: 32.
	MaxCachedCerts int
	// CertHostPattern is the host a SigningCertURL or SubscribeURL must have. It must match the
	// whole host (it is anchored whether or not it has ^ and $). Default:
	// ^sns\.[a-z]{2}(-[a-z]+)+-[0-9]+\.amazonaws\.com(\.cn)?$ (AWS's documented pattern narrowed to
	// region names). Whatever the pattern, the host must also be sns.<region>.amazonaws.com, with
	// ".cn" for the aws-cn partition, for the TopicArn's region and partition.
	CertHostPattern *regexp.Regexp
	// MaxAge, when positive, refuses a message whose Timestamp is more than MaxAge before Now
	// (or more than MaxClockSkew after it) as a replay: with MaxAge below the time a receiver
	// remembers a MessageId, a captured message can only ever be a duplicate or refused.
	// 0: no age check.
	MaxAge time.Duration
}

// MaxClockSkew is how far in the future a Timestamp may be when Config.MaxAge is set.
const MaxClockSkew = 5 * time.Minute

// Verifier verifies SNS messages. It is safe for concurrent use.
type Verifier struct {
	topics map[string]struct{}
	setUp  bool
	client *http.Client
	now    func() time.Time
	host   *regexp.Regexp
	max    int
	maxAge time.Duration

	mu    sync.Mutex
	certs map[string]*x509.Certificate
	order []string // cache keys, oldest first
}

// NewVerifier checks cfg and fills in the defaults.
func NewVerifier(cfg Config) (*Verifier, error) {
	switch {
	case cfg.SetUp && len(cfg.TopicARNs) > 0:
		return nil, errors.New("snsverify: Config.SetUp needs an empty Config.TopicARNs: set-up mode is for learning the first topic")
	case !cfg.SetUp && len(cfg.TopicARNs) == 0:
		return nil, errors.New("snsverify: Config.TopicARNs is empty: no topic would be accepted")
	}
	v := &Verifier{topics: make(map[string]struct{}, len(cfg.TopicARNs)), setUp: cfg.SetUp, now: cfg.Now, max: cfg.MaxCachedCerts, maxAge: cfg.MaxAge}
	for _, t := range cfg.TopicARNs {
		if strings.TrimSpace(t) == "" {
			return nil, errors.New("snsverify: Config.TopicARNs has an empty entry")
		}
		v.topics[t] = struct{}{}
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.max <= 0 {
		v.max = defaultMaxCachedCerts
	}
	pattern := cfg.CertHostPattern
	if pattern == nil {
		pattern = defaultCertHostPattern
	}
	host, err := regexp.Compile(`^(?:` + pattern.String() + `)$`)
	if err != nil {
		return nil, fmt.Errorf("snsverify: Config.CertHostPattern: %w", err)
	}
	v.host = host
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		v.client = &c
	} else {
		v.client = &http.Client{Timeout: defaultTimeout}
	}
	v.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	v.certs = make(map[string]*x509.Certificate, v.max)
	return v, nil
}

// Verify checks m, cheapest step first: TopicArn on the allow-list (ErrTopicNotAllowed, no network),
// the fields Parse requires (ErrMalformed), SignatureVersion and the base64 of Signature, the
// SigningCertURL (exactly https://sns.<the TopicArn's region>.amazonaws.com[.cn]/
// SimpleNotificationService-<hex>.pem), then the certificate (from the cache or fetched:
// ErrCertificateUnavailable if that fails), its validity period at Now, its RSA key, and the
// signature over StringToSign(m).
func (v *Verifier) Verify(ctx context.Context, m *Message) error {
	if m == nil {
		return malformed("no message")
	}
	if _, ok := v.topics[m.TopicARN]; !ok {
		return ErrTopicNotAllowed
	}
	return v.verify(ctx, m)
}

// Discover verifies a SubscriptionConfirmation from a topic that is not on the allow-list, as Verify
// would if it were, so that an operator can learn a topic from a verified message. It works only in
// set-up mode (Config.SetUp) and only for SubscriptionConfirmations: otherwise it returns
// ErrTopicNotAllowed without any network call. It never confirms anything.
//
// A verified signature proves that SNS sent the message, not that the topic is Amazon Pay's:
// anyone can subscribe this endpoint to a topic of their own, and SNS signs it with the same key.
func (v *Verifier) Discover(ctx context.Context, m *Message) error {
	if m == nil {
		return malformed("no message")
	}
	if !v.setUp || m.Type != TypeSubscriptionConfirmation {
		return ErrTopicNotAllowed
	}
	return v.verify(ctx, m)
}

// verify is Verify after the allow-list.
func (v *Verifier) verify(ctx context.Context, m *Message) error {
	if err := validate(m); err != nil {
		return err
	}
	// Before any network call: an old message is refused whoever signed it.
	if v.maxAge > 0 {
		ts, _ := time.Parse(time.RFC3339, m.Timestamp) // validate checked it
		switch now := v.now(); {
		case now.Sub(ts) > v.maxAge:
			return invalid("Timestamp is more than %s old: a replayed message", v.maxAge)
		case ts.Sub(now) > MaxClockSkew:
			return invalid("Timestamp is in the future")
		}
	}
	h, err := hashFor(m.SignatureVersion)
	if err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return invalid("Signature is not base64")
	}
	s, err := StringToSign(m)
	if err != nil {
		return err
	}
	certURL, err := v.checkURL(m.SigningCertURL, "SigningCertURL", m.TopicARN, true)
	if err != nil {
		return err
	}
	cert, err := v.cert(ctx, certURL.String())
	if err != nil {
		return err
	}
	if now := v.now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return invalid("signing certificate is outside its validity period")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return invalid("signing certificate key is not RSA")
	}
	if err := rsa.VerifyPKCS1v15(pub, h, digest(h, s), sig); err != nil {
		return invalid("signature does not match")
	}
	return nil
}

// Confirm verifies m (as Verify does), which must be a SubscriptionConfirmation, and then
// confirms the subscription with a GET of its SubscribeURL. The SubscribeURL must be https on a host
// matching CertHostPattern that is the SNS host of the TopicArn's region, with no userinfo or port (else an error wrapping ErrInvalidSignature,
// and no request is made). A network error or a non-2xx answer is ErrConfirmFailed (transient).
func (v *Verifier) Confirm(ctx context.Context, m *Message) error {
	if m == nil {
		return malformed("no message")
	}
	if m.Type != TypeSubscriptionConfirmation {
		return malformed("Confirm needs a SubscriptionConfirmation")
	}
	if err := v.Verify(ctx, m); err != nil {
		return err
	}
	u, err := v.checkURL(m.SubscribeURL, "SubscribeURL", m.TopicARN, false)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.SubscribeURL, nil)
	if err != nil {
		return fmt.Errorf("%w: building the request", ErrConfirmFailed)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return transportError(ErrConfirmFailed, "GET SubscribeURL", err, u.RawQuery, m.Token)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxConfirmBodyBytes))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%w: SubscribeURL answered status %d", ErrConfirmFailed, resp.StatusCode)
	}
	return nil
}

// snsHost is the SNS host of topicARN's region and partition, or "" for a malformed ARN.
func snsHost(topicARN string) string {
	partition, region, _, ok := SplitTopicARN(topicARN)
	if !ok {
		return ""
	}
	if partition == "aws-cn" {
		return "sns." + region + ".amazonaws.com.cn"
	}
	return "sns." + region + ".amazonaws.com"
}

// checkURL checks a SigningCertURL (cert: exactly https://<host>/SimpleNotificationService-<hex>.pem)
// or a SubscribeURL, both on the SNS host of topicARN's region.
func (v *Verifier) checkURL(raw, name, topicARN string, cert bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, invalid("%s does not parse", name)
	}
	switch {
	case u.Scheme != "https":
		return nil, invalid("%s is not https", name)
	case u.Opaque != "" || u.Host == "":
		return nil, invalid("%s has no host", name)
	case u.User != nil:
		return nil, invalid("%s has userinfo", name)
	case strings.Contains(u.Host, ":"):
		return nil, invalid("%s has a port", name)
	case !v.host.MatchString(u.Host):
		return nil, invalid("%s host is not an SNS host", name)
	case u.Host != snsHost(topicARN):
		// A certificate elsewhere than in the topic's own region is not SNS's for that topic.
		return nil, invalid("%s host is not the SNS host of the TopicArn's region", name)
	}
	if cert {
		switch {
		case u.RawQuery != "" || u.ForceQuery:
			return nil, invalid("%s has a query", name)
		case u.Fragment != "" || strings.Contains(raw, "#"):
			return nil, invalid("%s has a fragment", name)
		case !strings.HasSuffix(u.Path, ".pem"):
			return nil, invalid("%s does not end in .pem", name)
		case !certPathPattern.MatchString(u.Path):
			return nil, invalid("%s path is not /SimpleNotificationService-<hex>.pem", name)
		case raw != "https://"+u.Host+u.Path:
			// Escapes, dot segments and the like: only the one spelling SNS uses is fetched, so the
			// cache key is that spelling.
			return nil, invalid("%s is not in canonical form", name)
		}
	}
	return u, nil
}

// cert returns the certificate at rawURL from the cache, or fetches, parses and caches it.
// Concurrent misses for one URL may fetch it more than once; the cache stays bounded.
func (v *Verifier) cert(ctx context.Context, rawURL string) (*x509.Certificate, error) {
	v.mu.Lock()
	c, ok := v.certs[rawURL]
	v.mu.Unlock()
	if ok {
		return c, nil
	}
	c, err := v.fetch(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.certs[rawURL]; !ok {
		for len(v.order) >= v.max {
			delete(v.certs, v.order[0])
			v.order = slices.Delete(v.order, 0, 1)
		}
		v.certs[rawURL] = c
		v.order = append(v.order, rawURL)
	}
	return c, nil
}

func (v *Verifier) fetch(ctx context.Context, rawURL string) (*x509.Certificate, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, invalid("SigningCertURL does not parse")
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, transportError(ErrCertificateUnavailable, "GET SigningCertURL", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxCertBytes))
		// A 4xx is SNS saying there is no such certificate: the message is forged, and a retry
		// would fail the same way; SNS serves its certificates without redirects, so a 3xx is
		// no certificate either. Anything else (5xx, 429) may pass.
		if resp.StatusCode >= 300 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return nil, invalid("SigningCertURL answered status %d", resp.StatusCode)
		}
		return nil, fmt.Errorf("%w: SigningCertURL answered status %d", ErrCertificateUnavailable, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCertBytes+1))
	if err != nil {
		return nil, transportError(ErrCertificateUnavailable, "reading SigningCertURL", err)
	}
	if len(body) > maxCertBytes {
		return nil, invalid("signing certificate is larger than %d bytes", maxCertBytes)
	}
	return parseCert(body)
}

// parseCert parses a signing certificate as SNS serves it: one PEM CERTIFICATE block, an RSA key,
// issued to an SNS name.
func parseCert(body []byte) (*x509.Certificate, error) {
	// Exactly one PEM certificate and whitespace: pem.Decode alone skips any text around a block.
	body = bytes.TrimLeft(body, " \t\r\n")
	if !bytes.HasPrefix(body, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, invalid("signing certificate is not a PEM certificate")
	}
	block, rest := pem.Decode(body)
	if block == nil || block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
		return nil, invalid("signing certificate is not a PEM certificate")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, invalid("signing certificate has more than one PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, invalid("signing certificate does not parse")
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return nil, invalid("signing certificate key is not RSA")
	}
	if !namesSNS(cert) {
		return nil, invalid("signing certificate is not issued to sns.amazonaws.com or sns.<region>.amazonaws.com")
	}
	return cert, nil
}

// namesSNS reports whether cert is issued to an SNS name, as SNS's signing certificates are.
func namesSNS(cert *x509.Certificate) bool {
	if certNamePattern.MatchString(cert.Subject.CommonName) {
		return true
	}
	return slices.ContainsFunc(cert.DNSNames, certNamePattern.MatchString)
}

// cacheLen is the number of cached certificates (for tests).
func (v *Verifier) cacheLen() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.certs)
}

// opError is a transient failure: it matches its sentinel and its cause with errors.Is, and its text
// has had secrets removed.
type opError struct {
	sentinel error
	msg      string
	cause    error
}

func (e *opError) Error() string   { return e.msg }
func (e *opError) Unwrap() []error { return []error{e.sentinel, e.cause} }

// transportError wraps an http.Client error without its URL (which may carry a token), and with any
// of the secrets removed from the cause's text.
func transportError(sentinel error, what string, err error, secrets ...string) error {
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err
	}
	text := cause.Error()
	for _, s := range secrets {
		if s != "" {
			text = strings.ReplaceAll(text, s, "[redacted]")
		}
	}
	return &opError{sentinel: sentinel, msg: fmt.Sprintf("%s: %s: %s", sentinel.Error(), what, text), cause: cause}
}
