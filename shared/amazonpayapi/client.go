package amazonpayapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"time"
)

// Object is a kind of Amazon Pay object with a documented GET.
type Object string

// The objects an IPN names that can be fetched (Amazon Pay documents no GET for a chargeback).
const (
	Charge           Object = "charges"
	Refund           Object = "refunds"
	ChargePermission Object = "chargePermissions"
)

// maxResponseBytes bounds a response body: an object is a few KB.
const maxResponseBytes = 1 << 20

// objectID is what an object id may hold before it goes into a URL path (S01-5105180-3221187-C056351).
var objectID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,99}$`)

// ErrInvalidID: the id cannot name an object; no call is made.
var ErrInvalidID = errors.New("amazonpayapi: invalid object id")

// ErrKeyUnavailable wraps a failure to obtain the key (its secret); no call is made.
var ErrKeyUnavailable = errors.New("amazonpayapi: key unavailable")

// StatusError is a response other than 200.
type StatusError struct {
	StatusCode int
	// RequestID is X-Amz-Pay-Request-Id, for a support case.
	RequestID string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("amazonpayapi: HTTP %d (request id %q)", e.StatusCode, e.RequestID)
}

// Client gets objects from the Amazon Pay API v2 with the key Key returns. It is safe for
// concurrent use.
type Client struct {
	// Key returns the current key (a cached secret).
	Key func(context.Context) (Key, error)
	// BaseURL replaces the key's https://<host>[/live|/sandbox] when set: a stand-in's address.
	BaseURL string
	HTTP    *http.Client
	Now     func() time.Time
}

// Get fetches object id and returns its JSON object as sent.
func (c *Client) Get(ctx context.Context, object Object, id string) (json.RawMessage, error) {
	if !objectID.MatchString(id) {
		return nil, ErrInvalidID
	}
	key, err := c.Key(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyUnavailable, err)
	}
	base := key.BaseURL()
	if c.BaseURL != "" {
		base = c.BaseURL
	}
	u, err := url.Parse(base + "/v2/" + string(object) + "/" + id)
	if err != nil {
		return nil, fmt.Errorf("amazonpayapi: base URL: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("amazonpayapi: %w", err)
	}
	if err := c.sign(req, key, nil); err != nil {
		return nil, err
	}
	client := c.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("amazonpayapi: GET %s: %w", object, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("amazonpayapi: reading %s: %w", object, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Amz-Pay-Request-Id")}
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("amazonpayapi: %s response over %d bytes", object, maxResponseBytes)
	}
	return body, nil
}

// sign sets the headers Amazon Pay expects and the authorization that signs them.
func (c *Client) sign(req *http.Request, key Key, payload []byte) error {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	headers := map[string]string{
		headerAccept:      "application/json",
		headerContentType: "application/json",
		HeaderDate:        now().UTC().Format(DateFormat),
		HeaderHost:        req.URL.Host,
		HeaderRegion:      key.Region,
	}
	canonical, signed := CanonicalRequest(req.Method, req.URL.Path, req.URL.Query(), headers, payload)
	sig, err := Sign(key.PrivateKey, StringToSign(canonical))
	if err != nil {
		return err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Authorization", Authorization(key.PublicKeyID, signed, sig))
	return nil
}
