package load

import (
	"os"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
)

// local is this package's moto_server and fault proxy, shared by its tests.
var local *testenv.Local

func TestMain(m *testing.M) { os.Exit(testenv.RunWithLocal(m, &local)) }
