package shipping_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

func basicHeader(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// mustKey loads the development signing key whose public half events/dev/jwks.json publishes.
func mustKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(localaws.RepoRoot(), "events", "dev", "oauth-private-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}
