package auth

import (
	"context"
	"crypto/subtle"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/tests/benchpair"
)

type benchCreds struct{ c Credentials }

func (s benchCreds) Get(context.Context) (Credentials, error)           { return s.c, nil }
func (s benchCreds) Refresh(context.Context) (Credentials, bool, error) { return s.c, false, nil }

// BenchmarkAPIKeyAgainstGoCrypto: an API key checked by Authenticate against Go's constant-time
// compare of the same key, so that verification is measured apart from the rest of the path.
func BenchmarkAPIKeyAgainstGoCrypto(b *testing.B) {
	const key = "dev-api-key-0123456789abcdefghijklmn"
	a, err := New(Config{Modes: []Mode{ModeAPIKey}, Credentials: benchCreds{Credentials{APIKeys: []string{key}}}})
	if err != nil {
		b.Fatal(err)
	}
	req := &events.APIGatewayV2HTTPRequest{Headers: map[string]string{"x-api-key": key}}
	ctx := context.Background()
	benchpair.Run(b, "crypto", func() {
		if err := a.Authenticate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}, func() {
		if subtle.ConstantTimeCompare([]byte(req.Headers["x-api-key"]), []byte(key)) != 1 {
			b.Fatal("differs")
		}
	})
}
