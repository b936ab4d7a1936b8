package harness

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/amazon-webhook-gateway/gateway/shared/delivery"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// Stack is what template.yaml gives every webhook function, created in moto: the idempotency
// table, the event bus and the payload bucket. Its methods create the rest a function needs.
type Stack struct {
	AWS      aws.Config
	Template *localaws.Template
	delivery.Resources
}

// NewStack creates a fresh stack through cfg (moto's endpoint).
func NewStack(t testing.TB, cfg aws.Config, tmpl *localaws.Template) *Stack {
	t.Helper()
	s := &Stack{AWS: cfg, Template: tmpl}
	s.IdempotencyTable = s.Table(t, "IdempotencyTable")
	s.EventBus = must[string](t)(localaws.CreateBus(context.Background(), cfg))
	s.PayloadBucket = must[string](t)(localaws.CreateBucket(context.Background(), cfg))
	return s
}

// MotoStack is NewStack in the moto_server testenv.RunWithMoto started.
func MotoStack(t testing.TB) *Stack {
	t.Helper()
	return NewStack(t, must[aws.Config](t)(localaws.Config(context.Background())), must[*localaws.Template](t)(localaws.LoadTemplate()))
}

// Table creates the template's table logicalID and returns its name.
func (s *Stack) Table(t testing.TB, logicalID string) string {
	t.Helper()
	return must[string](t)(localaws.CreateTable(context.Background(), s.AWS, s.Template, logicalID))
}

// Secret creates a secret holding events/dev/<file> and returns its ARN.
func (s *Stack) Secret(t testing.TB, file string) string {
	t.Helper()
	doc := must[[]byte](t)(os.ReadFile(filepath.Join(localaws.RepoRoot(), "events", "dev", file)))
	return must[string](t)(localaws.CreateSecret(context.Background(), s.AWS, string(doc)))
}

// SetFunctionEnv sets the environment template.yaml gives the webhook function logicalID: the
// stack's resources, LOG_LEVEL, the deferral settings, and values. It fails when main and the template disagree on the names.
func (s *Stack) SetFunctionEnv(t testing.TB, logicalID string, values map[string]string) {
	t.Helper()
	env := map[string]string{"LOG_LEVEL": "INFO", "EVENT_BUS_NAME": s.EventBus, "IDEMPOTENCY_TABLE_NAME": s.IdempotencyTable, "PAYLOAD_BUCKET": s.PayloadBucket,
		// Every webhook's deferral settings; no re-drive queue here (no event source mapping).
		"DEFER_WHEN_UNAVAILABLE": "false", "DEFERRED_RETENTION": "72h", "REDRIVE_BACKOFF": "30s", "REDRIVE_MAX_BACKOFF": "900s", "REDRIVE_QUEUE_URL": ""}
	for k, v := range values {
		env[k] = v
	}
	testenv.SetFunctionEnv(t, logicalID, env)
}

// must returns a function that fails t on an error, else returns the value.
func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// RunSuite is the TestMain body of an integration suite: it starts a Local (moto behind the fault
// proxy) and hands it to started, runs the tests, and when they pass fails the run if logs hold
// any of forbidden (a secret, an OTP, card data). Fuzz workers run only the fuzz target: they
// start nothing.
func RunSuite(m interface{ Run() int }, started func(*testenv.Local), logs *testenv.LogBuffer, forbidden ...string) int {
	if testenv.FuzzWorker() {
		return m.Run()
	}
	if testenv.SkipWithoutMoto() {
		return 0
	}
	local, err := testenv.StartLocal()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer local.Close()
	started(local)
	if code := m.Run(); code != 0 {
		return code
	}
	for _, f := range forbidden {
		if strings.Contains(logs.String(), f) {
			fmt.Fprintf(os.Stderr, "log check: the logs contain %q, which no log may hold\n", f)
			return 1
		}
	}
	return 0
}

// Deployment is one isolated deployment of a webhook for an integration suite: a fresh stack
// with a consumer's queue, and the pipeline's dependencies on it.
type Deployment struct {
	*Stack
	Deps       pipeline.Deps
	Queue      string // receives what the consumer rule consumerPattern matches
	Quarantine *quarantine.Store
}

// Deploy creates a Deployment of webhook in local's moto. Events go through local's fault proxy
// (cleared here), three attempts 1 ms apart; completed keys are kept 48 h; logs go to logs.
func Deploy(t testing.TB, local *testenv.Local, webhook string, maxBody int, consumerPattern string, logs io.Writer) *Deployment {
	t.Helper()
	local.CheckEvents(t)
	ctx := context.Background()
	d := &Deployment{Stack: NewStack(t, local.Config, local.Template)}
	d.Queue = must[string](t)(localaws.RouteToQueue(ctx, local.Config, d.EventBus, consumerPattern))
	d.Quarantine = must[*quarantine.Store](t)(testenv.QuarantineStore(ctx, local.Config))
	eb := eventbridge.NewFromConfig(local.Config, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(local.Faults.URL) })
	local.Faults.Set(nil)
	d.Deps = pipeline.Deps{
		Once:         idempotency.New(dynamodb.NewFromConfig(local.Config), d.IdempotencyTable, 48*time.Hour, nil),
		Events:       eventbus.New(eb, d.EventBus, 3, time.Millisecond),
		Quarantine:   &quarantine.Keeper{Store: d.Quarantine, Webhook: webhook, Function: webhook + "-test"},
		Records:      d.Quarantine,
		MaxBodyBytes: maxBody,
		Log:          slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	return d
}
