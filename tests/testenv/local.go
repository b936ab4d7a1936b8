package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// Local is what the handler integration tests share: moto_server, an SDK configuration for it,
// the template, and a PutEvents fault proxy in front of moto.
type Local struct {
	Moto     *localaws.Moto
	Config   aws.Config
	Template *localaws.Template
	Faults   *localaws.EventBridgeFaults

	mu         sync.Mutex
	violations []error // PutEvents entries that failed their schema, not yet reported
}

// StartLocal starts it all; Close stops it.
func StartLocal() (*Local, error) {
	// The event schemas compile now, not inside the first delivery's PutEvents.
	if _, err := loadSchemas(); err != nil {
		return nil, err
	}
	moto, err := localaws.StartMoto()
	if err != nil {
		return nil, err
	}
	l := &Local{Moto: moto}
	if l.Config, err = localaws.Config(context.Background()); err == nil {
		l.Template, err = localaws.LoadTemplate()
	}
	if err != nil {
		moto.Stop()
		return nil, err
	}
	l.Faults = localaws.NewEventBridgeFaults(moto.Endpoint)
	// Every event a function sends through the proxy is checked against its schema, including
	// those no test reads back from a queue (the load test counts PutEvents entries).
	l.Faults.Inspect(func(source, detailType, detail string, resources []string) {
		if err := ValidateDetail(source, detailType, detail, resources); err != nil {
			l.mu.Lock()
			l.violations = append(l.violations, err)
			l.mu.Unlock()
		}
	})
	return l, nil
}

// CheckEvents fails t, at its end, if a PutEvents entry sent through the proxy while it ran did
// not match its event schema (harness.Start and harness.Deploy call it).
func (l *Local) CheckEvents(t testing.TB) {
	t.Helper()
	t.Cleanup(func() {
		errs := l.takeViolations()
		for _, err := range errs[:min(len(errs), 5)] {
			t.Errorf("published event: %v", err)
		}
		if len(errs) > 5 {
			t.Errorf("... and %d more published events that do not match their schema", len(errs)-5)
		}
	})
}

func (l *Local) takeViolations() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := l.violations
	l.violations = nil
	return v
}

// RunWithLocal is a TestMain body for a package whose tests share one Local: it starts it into
// *l, runs the tests and closes it.
//
//	func TestMain(m *testing.M) { os.Exit(testenv.RunWithLocal(m, &local)) }
func RunWithLocal(m interface{ Run() int }, l **Local) int {
	if SkipWithoutMoto() {
		return 0
	}
	local, err := StartLocal()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer local.Close()
	*l = local
	return m.Run()
}

// Close stops the proxy and moto_server.
func (l *Local) Close() {
	l.Faults.Close()
	l.Moto.Stop()
}

// LoadEvent reads events/<name>, an HTTP API payload 2.0 request.
func LoadEvent(t testing.TB, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(localaws.RepoRoot(), "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return req
}

// EventFiles lists the events/ files matching pattern, and fails the test when one has no
// expectation in want or an expectation has no file: every sample must be exercised.
func EventFiles[V any](t testing.TB, pattern string, want map[string]V) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(localaws.RepoRoot(), "events", pattern))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	for _, n := range names {
		if _, ok := want[n]; !ok {
			t.Errorf("events/%s has no expectation: add it to the test", n)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(want)) {
		if !slices.Contains(names, n) {
			t.Errorf("expected events/%s does not exist", n)
		}
	}
	return names
}
