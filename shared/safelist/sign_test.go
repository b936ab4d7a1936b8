package safelist

import (
	"crypto/sha512"
	"encoding/hex"
	"net/url"
	"testing"
)

// Worked example. Every expected value below was computed independently of this package, with
// Python 3's hashlib, hmac, base64 and urllib.parse.quote:
//
//	import hashlib, hmac, base64
//	from urllib.parse import quote
//	enc = lambda s: quote(s, safe='-_.~')
//	def pairs(d): return '&'.join(f'{enc(k)}={enc(v)}' for k, v in sorted(d.items()))
//	mid, akid, secret = 'AMAZONMID12', 'AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
//	amz_date = '20240113T101112Z'
//	headers = {'x-amz-client-id': mid, 'x-amz-source': 'Server', 'x-amz-user-ip': '203.0.113.10',
//	           'x-amz-user-agent': 'gateway-safelist/1.0 (Go)', 'x-amz-algorithm': 'AWS4-HMAC-SHA384',
//	           'x-amz-date': amz_date, 'x-amz-expires': '900'}
//	body = {'merchantId': mid, 'recipientIdentifier': mid, 'recipientType': 'MERCHANT',
//	        'recipientEndpoint': 'https://www.merchantwebhook.in/ipn?x=1', 'recipientEndpointType': 'HTTPS'}
//	canonical = '\n'.join(['POST', 'amazonpay.amazon.in/v1/ipn', '', pairs(headers), pairs(body)])
//	digest = hashlib.sha384(canonical.encode()).hexdigest()
//	sts = f'AWS4-HMAC-SHA384\n{amz_date}\n{amz_date[:8]}/eu-west-1/AmazonPay/aws4_request\n{digest}'
//	h = lambda k, m: hmac.new(k, m.encode(), hashlib.sha384).digest()
//	key = ('AWS4' + secret).encode()
//	for part in (amz_date[:8], 'eu-west-1', 'AmazonPay', 'aws4_request'):
//	    key = h(key, part)
//	sig = base64.urlsafe_b64encode(h(key, sts)).rstrip(b'=').decode()
//	print(repr(canonical)); print(digest); print(repr(sts)); print(key.hex()); print(sig)
//
// The request: production host, no query, the seven x-amz-* headers the client sends (user IP and
// user agent set explicitly; the agent's "/", " ", "(" and ")" exercise the encoding), and the
// JSON body's five fields; the endpoint's own query "?x=1" is a body value, so it is encoded whole.
const (
	exMerchantID  = "AMAZONMID12"
	exAccessKeyID = "AKIDEXAMPLE"
	exSecretKey   = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	exAmzDate     = "20240113T101112Z" // the fixed clock, 2024-01-13T10:11:12Z
	exEndpoint    = "https://www.merchantwebhook.in/ipn?x=1"
	exUserIP      = "203.0.113.10"
	exUserAgent   = "gateway-safelist/1.0 (Go)"

	exCanonical = "POST\n" +
		"amazonpay.amazon.in/v1/ipn\n" +
		"\n" +
		"x-amz-algorithm=AWS4-HMAC-SHA384&x-amz-client-id=AMAZONMID12&x-amz-date=20240113T101112Z&x-amz-expires=900&x-amz-source=Server&x-amz-user-agent=gateway-safelist%2F1.0%20%28Go%29&x-amz-user-ip=203.0.113.10\n" +
		"merchantId=AMAZONMID12&recipientEndpoint=https%3A%2F%2Fwww.merchantwebhook.in%2Fipn%3Fx%3D1&recipientEndpointType=HTTPS&recipientIdentifier=AMAZONMID12&recipientType=MERCHANT"
	exCanonicalSHA384 = "617bf948149114c7efd57c18d9a4e4a3d286e9cd37b86f6af97a0e658d3e4e8e47d9f88f1cd4f280b676e2f3a38175db"
	exStringToSign    = "AWS4-HMAC-SHA384\n" +
		"20240113T101112Z\n" +
		"20240113/eu-west-1/AmazonPay/aws4_request\n" +
		exCanonicalSHA384
	exSigningKeyHex = "c564b78807a94d488f3ab1730511a6dd6c39eb8cd73fa5a806649bf8e0a1e354a94d9271616d0f5a5a2d2bdcc68adffc"
	exSignature     = "U8zOG8s9SfQGE9_3g-D2ZhVnDmG2zyYwVfLuwsjzX8w4-88fqVW1i9CmHErc_9Bk"
	exAuthorization = "AMZ+" + exAccessKeyID + ":" + exSignature
)

func exHeaders() map[string]string {
	return map[string]string{
		"x-amz-client-id":  exMerchantID,
		"x-amz-source":     "Server",
		"x-amz-user-ip":    exUserIP,
		"x-amz-user-agent": exUserAgent,
		"x-amz-algorithm":  "AWS4-HMAC-SHA384",
		"x-amz-date":       exAmzDate,
		"x-amz-expires":    "900",
	}
}

func exBody() map[string]string {
	return map[string]string{
		"merchantId":            exMerchantID,
		"recipientIdentifier":   exMerchantID,
		"recipientType":         "MERCHANT",
		"recipientEndpoint":     exEndpoint,
		"recipientEndpointType": "HTTPS",
	}
}

func TestWorkedExampleStepByStep(t *testing.T) {
	canonical := CanonicalRequest("POST", ProductionHost, Path, nil, exHeaders(), exBody())
	if canonical != exCanonical {
		t.Fatalf("step 1, canonical request:\n got %q\nwant %q", canonical, exCanonical)
	}
	sum := sha512.Sum384([]byte(canonical))
	if got := hex.EncodeToString(sum[:]); got != exCanonicalSHA384 {
		t.Fatalf("step 2, SHA-384 of the canonical request = %s", got)
	}
	sts := StringToSign(exAmzDate, canonical)
	if sts != exStringToSign {
		t.Fatalf("step 3, string to sign:\n got %q\nwant %q", sts, exStringToSign)
	}
	key := SigningKey(exSecretKey, exAmzDate[:8])
	if got := hex.EncodeToString(key); got != exSigningKeyHex {
		t.Fatalf("step 4, signing key = %s", got)
	}
	if got := Signature(key, sts); got != exSignature {
		t.Fatalf("step 5, signature = %s, want %s", got, exSignature)
	}
}

// Each step must depend on its inputs: a changed input changes the output.
func TestSigningStepsAreSensitive(t *testing.T) {
	key := SigningKey(exSecretKey, "20240113")
	for name, other := range map[string]string{
		"secret": hex.EncodeToString(SigningKey(exSecretKey+"x", "20240113")),
		"date":   hex.EncodeToString(SigningKey(exSecretKey, "20240114")),
	} {
		if other == hex.EncodeToString(key) {
			t.Errorf("signing key ignores the %s", name)
		}
	}
	if Signature(key, exStringToSign) == Signature(key, exStringToSign+" ") {
		t.Error("signature ignores the string to sign")
	}
	h := exHeaders()
	h["x-amz-expires"] = "901"
	if CanonicalRequest("POST", ProductionHost, Path, nil, h, exBody()) == exCanonical {
		t.Error("canonical request ignores a signed header")
	}
}

// A second case, with a query, repeated keys, non-x-amz headers and mixed-case names. Expected text
// from Python (sorted over the encoded (key, value) pairs):
//
//	q = [('b', '2'), ('b', '1'), ('a b', 'x/y'), ('é', '~ok')]
//	h = [('X-Amz-Date', '20240113T101112Z'), ('x-amz-b', 'v 1')]  # Content-Type left out
//	body = [('z', ''), ('a+b', '50%')]
//	'\n'.join(['GET', 'example.com/p/a th', pairs(q), pairs([(k.lower(), v) for k, v in h]), pairs(body)])
func TestCanonicalRequestSections(t *testing.T) {
	tests := []struct {
		name                string
		method, host, path  string
		query               url.Values
		headers, bodyParams map[string]string
		want                string
	}{
		{
			name: "query, header filter, body", method: "GET", host: "example.com", path: "/p/a th",
			query:      url.Values{"b": {"2", "1"}, "a b": {"x/y"}, "é": {"~ok"}},
			headers:    map[string]string{"X-Amz-Date": "20240113T101112Z", "x-amz-b": "v 1", "Content-Type": "application/json"},
			bodyParams: map[string]string{"z": "", "a+b": "50%"},
			want:       "GET\nexample.com/p/a th\n%C3%A9=~ok&a%20b=x%2Fy&b=1&b=2\nx-amz-b=v%201&x-amz-date=20240113T101112Z\na%2Bb=50%25&z=",
		},
		{
			name: "all empty", method: "POST", host: "h", path: "/",
			want: "POST\nh/\n\n\n",
		},
		{
			// Sorted by key first: "a" before "a-b" although "a=" > "a-" as bytes.
			name: "key order, not pair-string order", method: "POST", host: "h", path: "/",
			bodyParams: map[string]string{"a-b": "1", "a": "2"},
			want:       "POST\nh/\n\n\na=2&a-b=1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CanonicalRequest(tt.method, tt.host, tt.path, tt.query, tt.headers, tt.bodyParams); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestStringToSignShortDate(t *testing.T) {
	// A malformed date must not panic; the scope simply carries what there is.
	if got := StringToSign("2024", ""); got[:len("AWS4-HMAC-SHA384\n2024\n2024/eu-west-1/")] != "AWS4-HMAC-SHA384\n2024\n2024/eu-west-1/" {
		t.Errorf("got %q", got)
	}
}

// Expected encodings from Python's urllib.parse.quote(s, safe='-_.~').
func TestEncodeRFC3986(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a b", "a%20b"}, // space is %20, never "+"
		{"a/b", "a%2Fb"}, // "/" is not kept, unlike url.PathEscape
		{"~", "~"},       // "~" is unreserved, unlike old encoders
		{"-_.", "-_."},
		{"AZaz09", "AZaz09"},
		{"é", "%C3%A9"}, // UTF-8 bytes, upper-case hex
		{"日本", "%E6%97%A5%E6%9C%AC"},
		{"+", "%2B"},
		{"*", "%2A"},
		{"!'()", "%21%27%28%29"},
		{"%", "%25"},
		{"=&", "%3D%26"},
		{"\x00\xff", "%00%FF"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := encode(tt.in); got != tt.want {
			t.Errorf("encode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
