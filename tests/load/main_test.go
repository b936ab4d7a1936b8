package load

import (
	"fmt"
	"os"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
)

// local is this package's moto_server and fault proxy, shared by its tests.
var local *testenv.Local

// motoMode says which moto_server runs, for the test log.
var motoMode string

func TestMain(m *testing.M) {
	mode, serialized, restore := useSerializedMoto()
	var err error
	local, err = testenv.StartLocal()
	restore()
	if err != nil && serialized {
		// A moto whose internals differ from 5.x: run it as is rather than not at all.
		mode = fmt.Sprintf("moto_server, unserialized: the serializing launcher failed (%v); conditional writes may not be atomic", err)
		local, err = testenv.StartLocal()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	motoMode = mode
	code := m.Run()
	local.Close()
	os.Exit(code)
}
