package amazonpayapi

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func pkcs8PEM(k *rsa.PrivateKey) string {
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func pkcs1PEM(k *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

func secretJSON(fields map[string]any) string {
	b, _ := json.Marshal(fields)
	return string(b)
}

func TestParseKey(t *testing.T) {
	k := testKey()
	p8, p1 := pkcs8PEM(k), pkcs1PEM(k)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	tests := []struct {
		name    string
		raw     string
		region  string
		sandbox bool
		base    string
		err     string
	}{
		{"pkcs8 na", secretJSON(map[string]any{"publicKeyId": "AFVX7ULWSGBZ5535PCUQOY7B", "privateKey": p8, "region": "na"}), "na", false, "https://pay-api.amazon.com/live", ""},
		{"pkcs1 eu sandbox", secretJSON(map[string]any{"publicKeyId": "AFVX7ULWSGBZ5535PCUQOY7B", "privateKey": p1, "region": "EU", "sandbox": true}), "eu", true, "https://pay-api.amazon.eu/sandbox", ""},
		{"alias uk", secretJSON(map[string]any{"publicKeyId": "K", "privateKey": p8, "region": "uk"}), "eu", false, "https://pay-api.amazon.eu/live", ""},
		{"alias us", secretJSON(map[string]any{"publicKeyId": "K", "privateKey": p8, "region": "us"}), "na", false, "https://pay-api.amazon.com/live", ""},
		{"jp, environment in the key id", secretJSON(map[string]any{"publicKeyId": "SANDBOX-AFVX7ULWSGBZ5535PCUQOY7B", "privateKey": p8, "region": "jp", "sandbox": false}), "jp", false, "https://pay-api.amazon.jp", ""},
		{"live- prefix, lower case", secretJSON(map[string]any{"publicKeyId": "live-AFVX", "privateKey": p8, "region": "na", "sandbox": true}), "na", true, "https://pay-api.amazon.com", ""},
		{"no public key id", secretJSON(map[string]any{"privateKey": p8, "region": "na"}), "", false, "", "publicKeyId is empty"},
		{"public key id with a comma", secretJSON(map[string]any{"publicKeyId": "A, Signature=x", "privateKey": p8, "region": "na"}), "", false, "", "publicKeyId holds"},
		{"no region", secretJSON(map[string]any{"publicKeyId": "K", "privateKey": p8}), "", false, "", "region is empty"},
		{"unknown region", secretJSON(map[string]any{"publicKeyId": "K", "privateKey": p8, "region": "in"}), "", false, "", "region must be"},
		{"no private key", secretJSON(map[string]any{"publicKeyId": "K", "region": "na"}), "", false, "", "privateKey is empty"},
		{"not PEM", secretJSON(map[string]any{"publicKeyId": "K", "privateKey": "MIIEvQIBADANBgkq", "region": "na"}), "", false, "", "one PEM block"},
		{"two PEM blocks", secretJSON(map[string]any{"publicKeyId": "K", "privateKey": p8 + p8, "region": "na"}), "", false, "", "one PEM block"},
		{"public key", secretJSON(map[string]any{"publicKeyId": "K", "privateKey": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "region": "na"}), "", false, "", "PRIVATE KEY"},
		{"short key", secretJSON(map[string]any{"publicKeyId": "K", "privateKey": pkcs8PEM(small), "region": "na"}), "", false, "", "2048"},
		{"sandbox a string", `{"publicKeyId":"K","privateKey":"x","region":"na","sandbox":"yes"}`, "", false, "", "sandbox has the wrong JSON type"},
		{"not JSON", `privateKey`, "", false, "", "not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKey([]byte(tc.raw))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrInvalidKey) {
					t.Fatalf("err = %v, want one with %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "MII") {
					t.Errorf("the error quotes the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Region != tc.region || got.Sandbox != tc.sandbox || got.BaseURL() != tc.base || !got.PrivateKey.Equal(k) {
				t.Errorf("got %v base %s", got, got.BaseURL())
			}
		})
	}
}

func TestKeyFormattingHidesPrivateKey(t *testing.T) {
	k := Key{PublicKeyID: "K", PrivateKey: testKey(), Region: "na"}
	d := k.PrivateKey.D.String()
	for _, f := range []string{"%v", "%+v", "%s", "%#v"} {
		if s := fmt.Sprintf(f, k); strings.Contains(s, d[:20]) || !strings.Contains(s, "redacted") {
			t.Errorf("%s shows %q", f, s)
		}
	}
}

// FuzzParseKey: no secret text panics the parser, and an error never quotes the secret.
func FuzzParseKey(f *testing.F) {
	f.Add([]byte(secretJSON(map[string]any{"publicKeyId": "K", "privateKey": pkcs1PEM(testKey()), "region": "eu", "sandbox": true})))
	f.Add([]byte(`{"publicKeyId":"LIVE-X","privateKey":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----","region":"jp"}`))
	f.Add([]byte(`{"publicKeyId":null,"region":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		k, err := ParseKey(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("error %v does not wrap ErrInvalidKey", err)
			}
			if len(raw) > 24 && strings.Contains(err.Error(), string(raw)) {
				t.Fatalf("the error quotes the secret: %v", err)
			}
			return
		}
		if k.PrivateKey == nil || k.PublicKeyID == "" || hosts[k.Region] == "" || !strings.HasPrefix(k.BaseURL(), "https://pay-api.amazon.") {
			t.Fatalf("accepted an incomplete key: %v", k)
		}
	})
}
