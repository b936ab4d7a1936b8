package secrets

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestCacheRefreshesAfterInterval(t *testing.T) {
	ctx := context.Background()
	cfg, err := localaws.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	arn, err := localaws.CreateSecret(ctx, cfg, "v1")
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	fetches := 0
	c := NewCache(secretsmanager.NewFromConfig(cfg), arn, 5*time.Minute, func(b []byte) (string, error) {
		fetches++
		return string(b), nil
	})
	c.now = clk.now

	get := func(want string) {
		t.Helper()
		got, err := c.Get(ctx)
		if err != nil || got != want {
			t.Fatalf("Get = %q, %v; want %q", got, err, want)
		}
	}
	get("v1")
	if err := localaws.PutSecret(ctx, cfg, arn, "v2"); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(4 * time.Minute)
	get("v1") // cached: no API call per request
	if fetches != 1 {
		t.Errorf("fetches = %d, want 1", fetches)
	}
	clk.t = clk.t.Add(2 * time.Minute)
	get("v2") // interval passed: rotation picked up without a redeploy

	if err := localaws.PutSecret(ctx, cfg, arn, "v3"); err != nil {
		t.Fatal(err)
	}
	if v, refreshed, _ := c.Refresh(ctx); refreshed || v != "v2" {
		t.Errorf("Refresh right after a fetch = %q, %v; want the floor to hold it back", v, refreshed)
	}
	clk.t = clk.t.Add(31 * time.Second)
	if v, refreshed, err := c.Refresh(ctx); !refreshed || v != "v3" || err != nil {
		t.Errorf("Refresh after the floor = %q, %v, %v; want v3", v, refreshed, err)
	}
}

func TestCacheKeepsLastValueWhenSecretsManagerFails(t *testing.T) {
	ctx := context.Background()
	cfg, err := localaws.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	arn, err := localaws.CreateSecret(ctx, cfg, "good")
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := NewCache(secretsmanager.NewFromConfig(cfg), arn, time.Minute, func(b []byte) (string, error) { return string(b), nil })
	c.now = clk.now
	if v, err := c.Get(ctx); err != nil || v != "good" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if _, err := secretsmanager.NewFromConfig(cfg).DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: &arn, ForceDeleteWithoutRecovery: new(true)}); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(2 * time.Minute)
	if v, err := c.Get(ctx); err != nil || v != "good" {
		t.Errorf("after the secret vanished: Get = %q, %v; want the last good value", v, err)
	}

	fresh := NewCache(secretsmanager.NewFromConfig(cfg), arn, time.Minute, func(b []byte) (string, error) { return string(b), nil })
	if _, err := fresh.Get(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("never loaded: err = %v, want ErrUnavailable", err)
	}
}

func TestCacheParseErrorIsUnavailable(t *testing.T) {
	ctx := context.Background()
	cfg, _ := localaws.Config(ctx)
	arn, err := localaws.CreateSecret(ctx, cfg, "s3cr3t-value")
	if err != nil {
		t.Fatal(err)
	}
	c := NewCache(secretsmanager.NewFromConfig(cfg), arn, time.Minute, func([]byte) (int, error) { return 0, errors.New("field apiKeys has the wrong type") })
	_, err = c.Get(ctx)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
}

// countingClient counts GetSecretValue calls, from any number of goroutines.
type countingClient struct {
	Getter
	n atomic.Int64
}

func (c *countingClient) calls() int { return int(c.n.Load()) }

func (c *countingClient) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.n.Add(1)
	return c.Getter.GetSecretValue(ctx, in, optFns...)
}

func TestOutageDoesNotTurnRequestsIntoAPICalls(t *testing.T) {
	ctx := context.Background()
	cfg, _ := localaws.Config(ctx)
	arn, err := localaws.CreateSecret(ctx, cfg, "good")
	if err != nil {
		t.Fatal(err)
	}
	client := &countingClient{Getter: secretsmanager.NewFromConfig(cfg)}
	clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := NewCache(client, arn, 5*time.Minute, func(b []byte) (string, error) { return string(b), nil })
	c.now = clk.now
	if _, err := c.Get(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := secretsmanager.NewFromConfig(cfg).DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: &arn, ForceDeleteWithoutRecovery: new(true)}); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(6 * time.Minute)
	before := client.calls()
	for range 10 { // ten requests in ten seconds, each with a credential that does not match
		clk.t = clk.t.Add(time.Second)
		if v, err := c.Get(ctx); err != nil || v != "good" {
			t.Fatalf("Get = %q, %v", v, err)
		}
		_, _, _ = c.Refresh(ctx)
	}
	if got := client.calls() - before; got != 1 {
		t.Errorf("%d GetSecretValue calls during the outage, want 1 (then one per 30 s)", got)
	}
}
