package secrets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// A secret that was never read has a refresh floor from its first failure, so that a burst of
// deliveries makes one Secrets Manager call per interval, not one per request.

const (
	floorGood      = `{"apiKeys":["s3cr3t-floor-value"]}`
	floorMalformed = `not json: s3cr3t-malformed-value`
)

// parseJSON stands for the credential parsers: a value that is not JSON is refused, naming no value.
func parseJSON(b []byte) (string, error) {
	if !json.Valid(b) {
		return "", errors.New("credentials secret: not a JSON object")
	}
	return string(b), nil
}

// logLines decodes the slog JSON lines in b.
func logLines(t *testing.T, b string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON log line: %q", line)
		}
		out = append(out, rec)
	}
	return out
}

func countLevel(recs []map[string]any, level string) int {
	n := 0
	for _, r := range recs {
		if r["level"] == level {
			n++
		}
	}
	return n
}

// syncBuffer is a bytes.Buffer safe for the goroutines of a burst.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Until the secret has been read once, a burst of requests makes one GetSecretValue call per
// FailedReadFloor, each answered ErrUnavailable at once; each failed call is one ERROR line naming
// the secret, never its value; a fixed secret is read at the first request after the floor.
func TestUnreadSecretIsReadOncePerFloor(t *testing.T) {
	ctx := context.Background()
	cfg, err := localaws.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(cfg)
	tests := []struct {
		name string
		// unreadable makes a secret that cannot be read (yet) and returns its id; fix makes it readable.
		unreadable func(t *testing.T) string
		fix        func(t *testing.T, id string)
	}{
		{
			name: "missing, then created",
			unreadable: func(*testing.T) string {
				return fmt.Sprintf("floor-missing-%d", time.Now().UnixNano())
			},
			fix: func(t *testing.T, id string) {
				if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: &id, SecretString: aws.String(floorGood)}); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "marked for deletion, then restored",
			unreadable: func(t *testing.T) string {
				arn, err := localaws.CreateSecret(ctx, cfg, floorGood)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: &arn, RecoveryWindowInDays: aws.Int64(7)}); err != nil {
					t.Fatal(err)
				}
				return arn
			},
			fix: func(t *testing.T, id string) {
				if _, err := sm.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: &id}); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "malformed, then corrected",
			unreadable: func(t *testing.T) string {
				arn, err := localaws.CreateSecret(ctx, cfg, floorMalformed)
				if err != nil {
					t.Fatal(err)
				}
				return arn
			},
			fix: func(t *testing.T, id string) {
				if err := localaws.PutSecret(ctx, cfg, id, floorGood); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.unreadable(t)
			client := &countingClient{Getter: sm}
			clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
			c := NewCache(client, id, 5*time.Minute, parseJSON)
			c.now = clk.now
			logs := &syncBuffer{}
			ctx := WithLog(ctx, slog.New(slog.NewJSONHandler(logs, nil)))
			start := clk.t

			// A burst of 64 concurrent deliveries, each reading and then forcing a refresh (a
			// credential that matched nothing): one call.
			var wg sync.WaitGroup
			errs := make(chan error, 128)
			for range 64 {
				wg.Go(func() {
					_, err := c.Get(ctx)
					errs <- err
					_, _, err = c.Refresh(ctx)
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if !errors.Is(err, ErrUnavailable) {
					t.Fatalf("burst: err = %v, want ErrUnavailable", err)
				}
			}
			if n := client.calls(); n != 1 {
				t.Fatalf("burst of 64: %d GetSecretValue calls, want 1", n)
			}

			// Inside the floor: answered at once, saying when the next read is.
			clk.t = start.Add(FailedReadFloor - time.Second)
			for range 10 {
				_, err := c.Get(ctx)
				if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "next read in 1s") {
					t.Fatalf("inside the floor: err = %v, want ErrUnavailable naming the next read", err)
				}
			}
			if n := client.calls(); n != 1 {
				t.Fatalf("inside the floor: %d calls, want 1", n)
			}

			// The floor passed: one more call, still failing.
			clk.t = start.Add(FailedReadFloor)
			if _, err := c.Get(ctx); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("after the floor: err = %v, want ErrUnavailable", err)
			}
			if n := client.calls(); n != 2 {
				t.Fatalf("after the floor: %d calls, want 2", n)
			}

			// Fixed now: picked up at the first request once the floor after the last failure has
			// passed, not before.
			tc.fix(t, id)
			clk.t = start.Add(FailedReadFloor + time.Second)
			if _, _, err := c.Refresh(ctx); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("fixed, inside the floor: err = %v, want ErrUnavailable without a call", err)
			}
			clk.t = start.Add(2 * FailedReadFloor)
			if v, err := c.Get(ctx); err != nil || v != floorGood {
				t.Fatalf("fixed, after the floor: Get = %q, %v", v, err)
			}
			for range 10 {
				if _, err := c.Get(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if n := client.calls(); n != 3 {
				t.Errorf("%d calls in all, want 3 (two failures, one read)", n)
			}

			// One ERROR per failed call, naming the secret; no value anywhere.
			recs := logLines(t, logs.String())
			if got := countLevel(recs, "ERROR"); got != 2 || len(recs) != 2 {
				t.Errorf("%d ERROR lines of %d, want 2 of 2 (one per failed call):\n%s", got, len(recs), logs.String())
			}
			for _, r := range recs {
				if r["msg"] != "secret could not be read" || r["secret"] != Name(id) || r["nextReadAfter"] != "10s" || r["error"] == "" {
					t.Errorf("log line %v: want msg \"secret could not be read\", secret %q, nextReadAfter 10s and the error", r, Name(id))
				}
			}
			for _, v := range []string{"s3cr3t-floor-value", "s3cr3t-malformed-value"} {
				if strings.Contains(logs.String(), v) {
					t.Errorf("a secret value reached the log: %s", logs.String())
				}
			}
		})
	}
}

// A secret that was read keeps its value through a failed refresh, which is one WARN per
// refresh floor (the deliveries go on), never an ERROR.
func TestFailedRefreshOfAReadSecretWarnsOncePerFloor(t *testing.T) {
	ctx := context.Background()
	cfg, err := localaws.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	arn, err := localaws.CreateSecret(ctx, cfg, floorGood)
	if err != nil {
		t.Fatal(err)
	}
	client := &countingClient{Getter: secretsmanager.NewFromConfig(cfg)}
	clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := NewCache(client, arn, 5*time.Minute, parseJSON)
	c.now = clk.now
	logs := &syncBuffer{}
	ctx = WithLog(ctx, slog.New(slog.NewJSONHandler(logs, nil)))
	if _, err := c.Get(ctx); err != nil {
		t.Fatal(err)
	}
	if err := localaws.PutSecret(ctx, cfg, arn, floorMalformed); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(5 * time.Minute)
	for range 59 { // a minute of requests, one a second: the refresh floor lets two reads through
		if v, err := c.Get(ctx); err != nil || v != floorGood {
			t.Fatalf("Get = %q, %v; want the last value", v, err)
		}
		clk.t = clk.t.Add(time.Second)
	}
	if n := client.calls(); n != 3 {
		t.Errorf("%d calls, want 3 (the read, then two refreshes 30 s apart)", n)
	}
	recs := logLines(t, logs.String())
	if countLevel(recs, "WARN") != 2 || len(recs) != 2 {
		t.Errorf("want 2 WARN lines and nothing else:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "s3cr3t-") {
		t.Errorf("a secret value reached the log: %s", logs.String())
	}
}

func TestRequestLogLevelOfAnAuthenticationOutage(t *testing.T) {
	unread := fmt.Errorf("%w: shipping-credentials: AccessDeniedException", ErrUnavailable)
	tests := []struct {
		name string
		err  error
		want slog.Level
	}{
		{"a failed read (the cache logged it at ERROR)", fmt.Errorf("auth: loading credentials: %w", unread), slog.LevelWarn},
		{"the same failure answered inside the floor", &repeatedError{cause: unread, wait: time.Second}, slog.LevelWarn},
		{"signing keys unreachable", errors.New("oauth: signing keys unavailable"), slog.LevelError},
		{"a credential configured twice", errors.New("auth: the credential is configured for several accounts"), slog.LevelError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Level(tc.err); got != tc.want {
				t.Errorf("Level(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestLogsNameTheSecretByItsName(t *testing.T) {
	tests := []struct{ id, want string }{
		{"arn:aws:secretsmanager:eu-west-1:123456789012:secret:shipping/acme-a-AbCdEf", "shipping/acme-a-AbCdEf"},
		{"arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:aps-merchant-x1Y2z3", "aps-merchant-x1Y2z3"},
		{"shipping-credentials", "shipping-credentials"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Name(tc.id); got != tc.want {
			t.Errorf("Name(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}
