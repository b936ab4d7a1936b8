// Package testenv is the tests' side of the local AWS: TestMain bodies that start moto_server and
// the helpers that take a *testing.T. The local AWS itself (moto, resources built from
// template.yaml, the template reader, the fault proxy) is tools/localaws, which tests import too.
package testenv

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// RunWithMoto is a TestMain body: it runs the package's tests against a fresh moto_server.
//
//	func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }
func RunWithMoto(m interface{ Run() int }) int {
	if FuzzWorker() {
		return m.Run()
	}
	if SkipWithoutMoto() {
		return 0
	}
	moto, err := localaws.StartMoto()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer moto.Stop()
	return m.Run()
}

// SkipWithoutMoto reports, and says, that -short (make test-unit, the edit loop) leaves out a
// package whose tests need moto_server; make test runs them.
func SkipWithoutMoto() bool {
	if !flag.Parsed() {
		flag.Parse()
	}
	if !testing.Short() {
		return false
	}
	fmt.Println("skipped in -short mode: the package's tests need moto_server (make test runs them)")
	return true
}

// FuzzWorker reports whether this test binary is a worker process of `go test -fuzz`: workers run
// only the fuzz target, so they need no moto_server (and would each start one otherwise).
func FuzzWorker() bool {
	if !flag.Parsed() {
		flag.Parse()
	}
	f := flag.Lookup("test.fuzzworker")
	return f != nil && f.Value.String() == "true"
}

// QuarantineStore creates a bucket and returns a quarantine store on it.
func QuarantineStore(ctx context.Context, cfg aws.Config) (*quarantine.Store, error) {
	bucket, err := localaws.CreateBucket(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return quarantine.New(localaws.S3(cfg), bucket), nil
}
