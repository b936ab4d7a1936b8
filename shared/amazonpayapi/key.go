package amazonpayapi

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidKey is wrapped by every ParseKey error. The errors name a field, never a value.
var ErrInvalidKey = errors.New("invalid Amazon Pay API key")

// Key is the merchant's Amazon Pay API v2 key, as the secret AmazonPayApiKeySecretArn holds it:
// {"publicKeyId": "...", "privateKey": "<PEM>", "region": "na|eu|jp", "sandbox": false}.
type Key struct {
	PublicKeyID string
	PrivateKey  *rsa.PrivateKey
	// Region is na, eu or jp.
	Region  string
	Sandbox bool
}

// String never shows the private key.
func (k Key) String() string {
	return fmt.Sprintf("{PublicKeyID:%s Region:%s Sandbox:%t PrivateKey:[redacted]}", k.PublicKeyID, k.Region, k.Sandbox)
}

// GoString never shows the private key.
func (k Key) GoString() string { return "amazonpayapi.Key" + k.String() }

// regions maps the names the SDKs accept to the region sent in x-amz-pay-region.
var regions = map[string]string{"na": "na", "us": "na", "eu": "eu", "uk": "eu", "de": "eu", "jp": "jp"}

// hosts are the API hosts by region.
var hosts = map[string]string{"na": "pay-api.amazon.com", "eu": "pay-api.amazon.eu", "jp": "pay-api.amazon.jp"}

// ParseKey parses the secret's JSON. The private key is PKCS#8 or PKCS#1 PEM, RSA.
func ParseKey(raw []byte) (Key, error) {
	var v struct {
		PublicKeyID *string `json:"publicKeyId"`
		PrivateKey  *string `json:"privateKey"`
		Region      *string `json:"region"`
		Sandbox     *bool   `json:"sandbox"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Key{}, fmt.Errorf("%w: %s has the wrong JSON type", ErrInvalidKey, te.Field)
		}
		return Key{}, fmt.Errorf("%w: the secret is not a JSON object {\"publicKeyId\",\"privateKey\",\"region\",\"sandbox\"}", ErrInvalidKey)
	}
	var k Key
	if v.PublicKeyID == nil || strings.TrimSpace(*v.PublicKeyID) == "" {
		return Key{}, fmt.Errorf("%w: publicKeyId is empty", ErrInvalidKey)
	}
	k.PublicKeyID = strings.TrimSpace(*v.PublicKeyID)
	// The id goes into a header: refuse what would break or forge one.
	if strings.ContainsAny(k.PublicKeyID, " ,;=\r\n\t") || !printableASCII(k.PublicKeyID) {
		return Key{}, fmt.Errorf("%w: publicKeyId holds a character an id cannot", ErrInvalidKey)
	}
	if v.Region == nil {
		return Key{}, fmt.Errorf("%w: region is empty (na, eu or jp)", ErrInvalidKey)
	}
	region, ok := regions[strings.ToLower(strings.TrimSpace(*v.Region))]
	if !ok {
		return Key{}, fmt.Errorf("%w: region must be na, eu or jp", ErrInvalidKey)
	}
	k.Region = region
	if v.Sandbox != nil {
		k.Sandbox = *v.Sandbox
	}
	if v.PrivateKey == nil {
		return Key{}, fmt.Errorf("%w: privateKey is empty", ErrInvalidKey)
	}
	pk, err := parsePrivateKey(*v.PrivateKey)
	if err != nil {
		return Key{}, err
	}
	k.PrivateKey = pk
	return k, nil
}

// parsePrivateKey reads one PEM block, PKCS#8 ("PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY"). Its
// errors never quote the key.
func parsePrivateKey(s string) (*rsa.PrivateKey, error) {
	block, rest := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil || len(strings.TrimSpace(string(rest))) != 0 {
		return nil, fmt.Errorf("%w: privateKey must be one PEM block", ErrInvalidKey)
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%w: privateKey must be a PEM PRIVATE KEY or RSA PRIVATE KEY", ErrInvalidKey)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: privateKey does not parse as %s", ErrInvalidKey, block.Type)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: privateKey is not an RSA key", ErrInvalidKey)
	}
	if rk.N.BitLen() < 2048 {
		return nil, fmt.Errorf("%w: privateKey is shorter than 2048 bits", ErrInvalidKey)
	}
	return rk, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// BaseURL is the API's root for k: https://<region's host>, then /live or /sandbox unless the
// public key id names its environment itself (LIVE-… or SANDBOX-…, any case).
func (k Key) BaseURL() string {
	return "https://" + hosts[k.Region] + k.envSegment()
}

func (k Key) envSegment() string {
	id := strings.ToUpper(k.PublicKeyID)
	if strings.HasPrefix(id, "LIVE") || strings.HasPrefix(id, "SANDBOX") {
		return ""
	}
	if k.Sandbox {
		return "/sandbox"
	}
	return "/live"
}
