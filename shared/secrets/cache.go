// Package secrets keeps a parsed AWS Secrets Manager secret in memory and refreshes it after an
// interval, so that rotating a credential needs no redeploy and a request costs no API call.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// ErrUnavailable wraps every failure to obtain the secret: the caller answers with a retryable status.
var ErrUnavailable = errors.New("secret unavailable")

// minForcedRefresh bounds how often Refresh may call Secrets Manager, so that unauthenticated
// requests cannot turn into an API-call flood.
const minForcedRefresh = 30 * time.Second

// FailedReadFloor is how long a cache that holds no value yet (the secret was never read) waits
// after a failed read before it calls Secrets Manager again: meanwhile every Get and Refresh
// answers that failure at once, without a call. Until the secret is read, every delivery that
// needs it is answered 503, so the floor is short: a fixed secret (its permissions, its KMS key,
// its value) is picked up within 10 s, as soon as a sender that honours the answer's Retry-After
// (10 s) retries; and long enough that a burst of any size makes one call per interval, not one
// per request. A cache that holds a value keeps serving it and waits minForcedRefresh instead.
const FailedReadFloor = 10 * time.Second

// Getter is the part of the Secrets Manager client a secret is read with.
type Getter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// ErrNoValue is Read's answer for a secret whose current version holds neither a string nor
// binary value.
var ErrNoValue = errors.New("secret has no value")

// Read reads secretID's current value once: its SecretString, else its SecretBinary. The error
// is the SDK's, which names the secret at most, never its value, or ErrNoValue. A Cache reads
// through it; so does a caller that must see every change at once (the safelisting custom
// resource, run a few times per deploy).
func Read(ctx context.Context, client Getter, secretID string) ([]byte, error) {
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &secretID})
	switch {
	case err != nil:
		return nil, err
	case out.SecretString != nil:
		return []byte(*out.SecretString), nil
	case out.SecretBinary != nil:
		return out.SecretBinary, nil
	}
	return nil, ErrNoValue
}

// Cache holds one secret, parsed by parse. It is safe for concurrent use.
type Cache[T any] struct {
	client   Getter
	secretID string
	name     string // the secret's name, as logs and errors name it
	interval time.Duration
	parse    func([]byte) (T, error)
	now      func() time.Time

	mu      sync.Mutex
	value   T
	loaded  bool
	fetched time.Time // last successful fetch
	tried   time.Time // last attempt, successful or not
	// failed is the last attempt's failure while no value is loaded: answered again, without a
	// call, until FailedReadFloor has passed since tried.
	failed error
}

// NewCache returns a cache of secretID that refetches after interval.
func NewCache[T any](client Getter, secretID string, interval time.Duration, parse func([]byte) (T, error)) *Cache[T] {
	return &Cache[T]{client: client, secretID: secretID, name: Name(secretID), interval: interval, parse: parse, now: time.Now}
}

// Name is the name part of a secret's ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>),
// or id itself when it is no ARN: what a log line may say of the secret.
func Name(id string) string {
	if _, name, ok := strings.Cut(id, ":secret:"); ok && strings.HasPrefix(id, "arn:") {
		return name
	}
	return id
}

// Get returns the parsed secret, fetching it when it is older than the interval. When a refresh
// fails the last good value is kept: a Secrets Manager outage must not lock Amazon out. A secret
// never read is read at most once per FailedReadFloor while reading it fails.
func (c *Cache[T]) Get(ctx context.Context) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	// During an outage, keep serving the last value and try again only after the short floor.
	if c.loaded && (now.Sub(c.fetched) < c.interval || now.Sub(c.tried) < minForcedRefresh) {
		return c.value, nil
	}
	if err := c.repeatLocked(now); err != nil {
		var zero T
		return zero, err
	}
	v, _, err := c.fetchLocked(ctx)
	return v, err
}

// Refresh refetches now unless the value is younger than a short floor. It reports whether the
// value was refetched. Callers use it when a credential does not match, in case it was just rotated.
func (c *Cache[T]) Refresh(ctx context.Context) (T, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.loaded && now.Sub(c.tried) < minForcedRefresh {
		return c.value, false, nil
	}
	if err := c.repeatLocked(now); err != nil {
		var zero T
		return zero, false, err
	}
	return c.fetchLocked(ctx)
}

// repeatLocked is the last failure, answered again, while no value is loaded and the floor after
// that failed read has not passed; nil when a read may be tried.
func (c *Cache[T]) repeatLocked(now time.Time) error {
	if c.loaded || c.failed == nil {
		return nil
	}
	wait := FailedReadFloor - now.Sub(c.tried)
	if wait <= 0 {
		return nil
	}
	return &repeatedError{cause: c.failed, wait: wait}
}

// repeatedError is a failed read answered again without a call.
type repeatedError struct {
	cause error
	wait  time.Duration // until the next read
}

func (e *repeatedError) Error() string {
	return e.cause.Error() + " (the last read failed; next read in " + e.wait.Round(time.Second).String() + ")"
}

func (e *repeatedError) Unwrap() error { return e.cause }

// fetchLocked reports whether the value it returns is freshly fetched. A failed read is logged
// once, on the logger ctx carries (WithLog): ERROR when there is no value to serve (the callers
// answer 503; at most one such line per FailedReadFloor), WARN when the last value is kept.
func (c *Cache[T]) fetchLocked(ctx context.Context) (T, bool, error) {
	c.tried = c.now()
	v, err := c.fetch(ctx)
	if err != nil {
		if c.loaded {
			logFailure(ctx, slog.LevelWarn, "secret could not be refreshed; the last value read is kept", c.name, err, minForcedRefresh)
			return c.value, false, nil
		}
		logFailure(ctx, slog.LevelError, "secret could not be read", c.name, err, FailedReadFloor)
		c.failed = err
		var zero T
		return zero, false, err
	}
	c.value, c.loaded, c.fetched, c.failed = v, true, c.now(), nil
	return v, true, nil
}

func (c *Cache[T]) fetch(ctx context.Context) (T, error) {
	var zero T
	raw, err := Read(ctx, c.client, c.secretID)
	if err != nil {
		// Keep the cause for the logs.
		return zero, fmt.Errorf("%w: %s: %w", ErrUnavailable, c.name, err)
	}
	v, err := c.parse(raw)
	if err != nil {
		// Parse errors must not quote the secret; parse functions only name the field.
		return zero, fmt.Errorf("%w: %s: %w", ErrUnavailable, c.name, err)
	}
	return v, nil
}

type logKey struct{}

// WithLog returns ctx carrying log: a cache read through ctx logs a failed read there, once per
// call to Secrets Manager (never once per request). Without it, failures are only returned.
func WithLog(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, logKey{}, log)
}

func logFailure(ctx context.Context, level slog.Level, msg, name string, err error, next time.Duration) {
	log, _ := ctx.Value(logKey{}).(*slog.Logger)
	if log == nil {
		return
	}
	// err names the secret and the cause (the SDK's error, or the field a parser refused), never
	// the value.
	log.LogAttrs(ctx, level, msg, slog.String("secret", name), slog.String("error", err.Error()),
		slog.String("nextReadAfter", next.String()))
}

// Level is the level of a request's own log line about err, an authentication that could not
// complete: WARN when a secret could not be read (ErrUnavailable), whose read the cache logged at
// ERROR already, once per FailedReadFloor rather than once per request; ERROR for any other cause.
func Level(err error) slog.Level {
	if errors.Is(err, ErrUnavailable) {
		return slog.LevelWarn
	}
	return slog.LevelError
}
