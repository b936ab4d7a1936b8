package oauth

import (
	"crypto/rsa"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// jwkset can fetch a JWK's x5u and read private members; with the options
// parseJWKS passes it must do neither: no request leaves the JWKS fetch, and
// a published "d" never turns into a private key in memory.
func TestParseJWKSNoX5UFetchNoPrivateParts(t *testing.T) {
	testKeys(t)
	// Connections rather than requests are counted: jwkset's x5u client would
	// not trust this server's certificate, so no request would arrive.
	var hits atomic.Int64
	x5u := httptest.NewUnstartedServer(http.NotFoundHandler())
	x5u.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			hits.Add(1)
		}
	}
	x5u.StartTLS()
	defer x5u.Close()
	n := b64.EncodeToString(rsaKey1.N.Bytes())
	d := b64.EncodeToString(rsaKey1.D.Bytes())
	p := b64.EncodeToString(rsaKey1.Primes[0].Bytes())
	q := b64.EncodeToString(rsaKey1.Primes[1].Bytes())
	pre := rsaKey1.Precomputed
	doc := fmt.Sprintf(`{"keys":[
		{"kty":"RSA","kid":"x5u","n":%[1]q,"e":"AQAB","x5u":%[2]q},
		{"kty":"RSA","kid":"private","n":%[1]q,"e":"AQAB","d":%[3]q,"p":%[4]q,"q":%[5]q,"dp":%[6]q,"dq":%[7]q,"qi":%[8]q}
	]}`, n, x5u.URL+"/cert.pem", d, p, q,
		b64.EncodeToString(pre.Dp.Bytes()), b64.EncodeToString(pre.Dq.Bytes()), b64.EncodeToString(pre.Qinv.Bytes()))
	keys, err := parseJWKS([]byte(doc))
	if hits.Load() != 0 {
		t.Error("parsing the JWKS fetched a JWK's x5u")
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, kid := range []string{"x5u", "private"} {
		k, ok := keys[kid]
		if !ok {
			t.Errorf("%s: key not kept", kid)
			continue
		}
		if pub, ok := k.Key().(*rsa.PublicKey); !ok || !pub.Equal(&rsaKey1.PublicKey) {
			t.Errorf("%s: key is %T, want the *rsa.PublicKey", kid, k.Key())
		}
	}
}
