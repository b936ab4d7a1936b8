// Package secrets keeps a parsed AWS Secrets Manager secret in memory and refreshes it after an
// interval, so that rotating a credential needs no redeploy and a request costs no API call.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// ErrUnavailable wraps every failure to obtain the secret: the caller answers with a retryable status.
var ErrUnavailable = errors.New("secret unavailable")

// minForcedRefresh bounds how often Refresh may call Secrets Manager, so that unauthenticated
// requests cannot turn into an API-call flood.
const minForcedRefresh = 30 * time.Second

type secretGetter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Cache holds one secret, parsed by parse. It is safe for concurrent use.
type Cache[T any] struct {
	client   secretGetter
	secretID string
	interval time.Duration
	parse    func([]byte) (T, error)
	now      func() time.Time

	mu      sync.Mutex
	value   T
	loaded  bool
	fetched time.Time // last successful fetch
	tried   time.Time // last attempt, successful or not
}

// NewCache returns a cache of secretID that refetches after interval.
func NewCache[T any](client secretGetter, secretID string, interval time.Duration, parse func([]byte) (T, error)) *Cache[T] {
	return &Cache[T]{client: client, secretID: secretID, interval: interval, parse: parse, now: time.Now}
}

// Get returns the parsed secret, fetching it when it is older than the interval. When a refresh
// fails the last good value is kept: a Secrets Manager outage must not lock Amazon out.
func (c *Cache[T]) Get(ctx context.Context) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// During an outage, keep serving the last value and try again only after the short floor.
	if c.loaded && (c.now().Sub(c.fetched) < c.interval || c.now().Sub(c.tried) < minForcedRefresh) {
		return c.value, nil
	}
	v, _, err := c.fetchLocked(ctx)
	return v, err
}

// Refresh refetches now unless the value is younger than a short floor. It reports whether the
// value was refetched. Callers use it when a credential does not match, in case it was just rotated.
func (c *Cache[T]) Refresh(ctx context.Context) (T, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded && c.now().Sub(c.tried) < minForcedRefresh {
		return c.value, false, nil
	}
	return c.fetchLocked(ctx)
}

// fetchLocked reports whether the value it returns is freshly fetched.
func (c *Cache[T]) fetchLocked(ctx context.Context) (T, bool, error) {
	c.tried = c.now()
	v, err := c.fetch(ctx)
	if err != nil {
		if c.loaded {
			return c.value, false, nil
		}
		var zero T
		return zero, false, err
	}
	c.value, c.loaded, c.fetched = v, true, c.now()
	return v, true, nil
}

func (c *Cache[T]) fetch(ctx context.Context) (T, error) {
	var zero T
	out, err := c.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &c.secretID})
	if err != nil {
		// The SDK error names the secret ARN, not its value; keep the cause for the logs.
		return zero, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var raw []byte
	switch {
	case out.SecretString != nil:
		raw = []byte(*out.SecretString)
	case out.SecretBinary != nil:
		raw = out.SecretBinary
	default:
		return zero, fmt.Errorf("%w: secret has no value", ErrUnavailable)
	}
	v, err := c.parse(raw)
	if err != nil {
		// Parse errors must not quote the secret; parse functions only name the field.
		return zero, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return v, nil
}
