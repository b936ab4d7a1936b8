package safelist

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzCanonicalRequest: CanonicalRequest never panics, gives the same text whatever the map
// order, and its three pair sections hold only unreserved characters, %XX, "=" and "&", each
// key and value decoding back to its input.
func FuzzCanonicalRequest(f *testing.F) {
	f.Add("POST", "amazonpay.amazon.in", "/v1/ipn", "x", "1", "x-amz-date", "20240113T101112Z", "recipientEndpoint", "https://www.merchantwebhook.in/ipn?x=1")
	f.Add("GET", "h", "/", "a b", "é/~", "X-Amz-User-Agent", "gateway-safelist/1.0 (Go)", "a+b", "50%")
	f.Add("", "", "", "", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, method, host, path, qk, qv, hk, hv, bk, bv string) {
		// Fuzzed keys may equal the fixed ones: build both versions with the same content, the
		// fuzzed entry added after the fixed ones (a map literal would let either win).
		query := url.Values{}
		query[qk] = append(query[qk], qv, qv+"2")
		query["z"] = append(query["z"], "last")
		headers := map[string]string{"x-amz-date": "20240113T101112Z", "content-type": "ignored"}
		headers[hk] = hv
		body := map[string]string{"merchantId": "AMAZONMID12"}
		body[bk] = bv
		got := CanonicalRequest(method, host, path, query, headers, body)

		// Same content, maps built in the other order.
		query2 := url.Values{"z": {"last"}}
		query2[qk] = append(query2[qk], qv, qv+"2")
		headers2 := map[string]string{"content-type": "ignored", "x-amz-date": "20240113T101112Z"}
		headers2[hk] = hv
		body2 := map[string]string{"merchantId": "AMAZONMID12"}
		body2[bk] = bv
		if again := CanonicalRequest(method, host, path, query2, headers2, body2); again != got {
			t.Fatalf("not deterministic:\n%q\n%q", got, again)
		}

		head := method + "\n" + host + path + "\n"
		if !strings.HasPrefix(got, head) {
			t.Fatalf("does not start with method and host+path: %q", got)
		}
		if strings.Contains(method+host+path, "\n") {
			return // the free-text lines then have no fixed shape; only the checks above apply
		}
		sections := strings.Split(strings.TrimPrefix(got, head), "\n")
		if len(sections) != 3 {
			t.Fatalf("%d sections after host+path, want 3: %q", len(sections), got)
		}
		for i, sec := range sections {
			if sec == "" {
				continue
			}
			for _, kv := range strings.Split(sec, "&") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("section %d: pair %q has no '='", i, kv)
				}
				for _, s := range []string{k, v} {
					if !encodedOnly(s) {
						t.Fatalf("section %d: %q has characters outside unreserved and %%XX", i, s)
					}
					if _, err := url.PathUnescape(s); err != nil {
						t.Fatalf("section %d: %q does not decode: %v", i, s, err)
					}
				}
				if i == 1 && !strings.HasPrefix(k, "x-amz-") {
					t.Fatalf("non x-amz header signed: %q", k)
				}
			}
		}
		if dk, _ := url.PathUnescape(encode(bk)); dk != bk {
			t.Fatalf("encode(%q) decodes to %q", bk, dk)
		}
	})
}

// encodedOnly is written apart from the package's encoder, so that the check does not share its bugs.
func encodedOnly(s string) bool {
	const kept = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
	for i := 0; i < len(s); i++ {
		switch {
		case strings.IndexByte(kept, s[i]) >= 0:
		case s[i] == '%' && i+2 < len(s) && isUpperHex(s[i+1]) && isUpperHex(s[i+2]):
			i += 2
		default:
			return false
		}
	}
	return true
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }
