// Package testenv is the tests' side of the local AWS: TestMain bodies that start moto_server, the
// helpers that take a *testing.T, and, re-exported so that a test needs one import, the
// testing-free local AWS of tools/localaws (moto, resources built from template.yaml, the
// template reader, the fault proxy).
package testenv

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// The local AWS, from tools/localaws.
type (
	Moto              = localaws.Moto
	Template          = localaws.Template
	Resource          = localaws.Resource
	Parameter         = localaws.Parameter
	Output            = localaws.Output
	Event             = localaws.Event
	EventBridgeFaults = localaws.EventBridgeFaults
	EntryFault        = localaws.EntryFault
	RequestFault      = localaws.RequestFault
	Fault             = localaws.Fault
)

const (
	Region      = localaws.Region
	Pass        = localaws.Pass
	Throttle    = localaws.Throttle
	Unavailable = localaws.Unavailable
	Drop        = localaws.Drop
)

var (
	StartMoto            = localaws.StartMoto
	Config               = localaws.Config
	RepoRoot             = localaws.RepoRoot
	LoadTemplate         = localaws.LoadTemplate
	ReadTemplate         = localaws.ReadTemplate
	CreateTable          = localaws.CreateTable
	CreateTableNamed     = localaws.CreateTableNamed
	CreateBucket         = localaws.CreateBucket
	CreateBucketNamed    = localaws.CreateBucketNamed
	S3                   = localaws.S3
	CreateBus            = localaws.CreateBus
	CreateArchive        = localaws.CreateArchive
	ArchiveFromTemplate  = localaws.ArchiveFromTemplate
	RouteToQueue         = localaws.RouteToQueue
	receiveAll           = localaws.ReceiveAll
	CreateSecret         = localaws.CreateSecret
	PutSecret            = localaws.PutSecret
	NewEventBridgeFaults = localaws.NewEventBridgeFaults
	Target               = localaws.Target
)

// RunWithMoto is a TestMain body: it runs the package's tests against a fresh moto_server.
//
//	func TestMain(m *testing.M) { os.Exit(testenv.RunWithMoto(m)) }
func RunWithMoto(m interface{ Run() int }) int {
	if FuzzWorker() {
		return m.Run()
	}
	moto, err := StartMoto()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer moto.Stop()
	return m.Run()
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
	bucket, err := CreateBucket(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return quarantine.New(S3(cfg), bucket), nil
}
