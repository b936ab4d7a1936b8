package snsverify

// Forgeries that are refused — fields shifted under the same signed text, a certificate URL that is
// not the topic's SNS host, a certificate body that is not one SNS certificate, a legacy S3 "sns"
// bucket host — and genuine AWS-signed messages, which verify.

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/tests/snsfixture"
)

// The string to sign is "Name\nvalue\n" pairs, so moving "\nSubject\n<subject>" into
// MessageId and dropping Subject kept the signed text, and the signature, while changing the
// MessageId a receiver dedupes on. No field but Message may hold a control character, and
// MessageId must be SNS's lower-case UUID.
func TestFieldsShiftedUnderTheSameSignedTextAreRefused(t *testing.T) {
	s := newSNSServer(t)
	v := newVerifier(t, s, nil)
	genuine := signed(t, notification("ChargeNotification"))
	if err := v.Verify(t.Context(), genuine); err != nil {
		t.Fatal(err)
	}
	shifted := *genuine
	shifted.MessageID = genuine.MessageID + "\nSubject\n" + genuine.Subject
	shifted.Subject = ""
	a, _ := StringToSign(genuine)
	b, _ := StringToSign(&shifted)
	if a != b {
		t.Fatalf("the shift no longer keeps the signed text: the test proves nothing")
	}
	raw, _ := json.Marshal(&shifted)
	if _, err := Parse(raw); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "MessageId") {
		t.Errorf("Parse(shifted copy) = %v, want ErrMalformed naming MessageId", err)
	}
	if err := v.Verify(t.Context(), &shifted); !errors.Is(err, ErrMalformed) {
		t.Errorf("Verify(shifted copy) = %v, want ErrMalformed", err)
	}

	// The same trick through any other field, and any control character.
	for _, field := range []string{"Type", "MessageId", "Token", "TopicArn", "Subject", "Timestamp", "SignatureVersion",
		"Signature", "SigningCertURL", "SubscribeURL", "UnsubscribeURL"} {
		for _, c := range []string{"\n", "\r", "\x00", "\t", "\x7f", "\u0085", "\x1b"} {
			t.Run(fmt.Sprintf("%s %q", field, c), func(t *testing.T) {
				f := confirmationFields()
				f["Subject"] = "ChargeNotification"
				f[field] = fmt.Sprint(f[field]) + c + "x"
				_, err := Parse(body(f))
				if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), field) {
					t.Errorf("Parse = %v, want ErrMalformed naming %s", err, field)
				}
			})
		}
	}

	for _, id := range []string{
		"22B80B92-FDEA-4C2C-8F9D-BDFB0C7BF324", "22b80b92fdea4c2c8f9dbdfb0c7bf324", "{22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324}",
		"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf32", "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf3245", "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf32g",
		" 22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", "m-1", "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\u200b",
	} {
		f := notificationFields()
		f["MessageId"] = id
		if _, err := Parse(body(f)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "MessageId") {
			t.Errorf("MessageId %q: Parse = %v, want ErrMalformed naming MessageId", id, err)
		}
	}

	// Message is free text: SNS signs whatever the publisher sent, line breaks included.
	m := notification("s")
	m.Message = "a\nMessageId\nb\r\n\x00\t\x1b"
	if err := v.Verify(t.Context(), signed(t, m)); err != nil {
		t.Errorf("a Message with control characters: %v", err)
	}
}

// Only the canonical certificate URL on the TopicArn's region's SNS host is fetched: otherwise an
// unsigned message with an allowed TopicArn could make the function fetch any path on an
// SNS-looking host, in any region. A 3xx is no certificate (not a 503), and the cache is keyed by
// the canonical URL, not the raw one.
func TestOnlyTheTopicRegionsCanonicalSNSCertificateURLIsFetched(t *testing.T) {
	refused := []struct {
		name, topic, url string
	}{
		{"double slash", topicA, "https://" + host + "//x.pem"},
		{"dot segment", topicA, "https://" + host + "/./SimpleNotificationService-abc.pem"},
		{"dot-dot segment", topicA, "https://" + host + "/x/../SimpleNotificationService-abc.pem"},
		{"escaped letter", topicA, "https://" + host + "/%53impleNotificationService-abc.pem"},
		{"escaped slash", topicA, "https://" + host + "/x%2fSimpleNotificationService-abc.pem"},
		{"another file name", topicA, "https://" + host + "/x.pem"},
		{"a directory", topicA, "https://" + host + "/certs/SimpleNotificationService-abc.pem"},
		{"upper-case hex", topicA, "https://" + host + "/SimpleNotificationService-ABC.pem"},
		{"no hex", topicA, "https://" + host + "/SimpleNotificationService-.pem"},
		{"not hex", topicA, "https://" + host + "/SimpleNotificationService-xyz.pem"},
		{"another region", topicA, "https://sns.ap-south-1.amazonaws.com/SimpleNotificationService-abc.pem"},
		{"another region, cn", topicA, certCN},
		{"cn topic, .com host", topicCN, "https://sns.cn-north-1.amazonaws.com/SimpleNotificationService-abc.pem"},
		{"com topic, .cn host", topicA, "https://sns.eu-west-1.amazonaws.com.cn/SimpleNotificationService-abc.pem"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			s := newSNSServer(t)
			v := newVerifier(t, s, nil)
			m := notification("s")
			m.TopicARN = tt.topic
			signed(t, m)
			m.SigningCertURL = tt.url
			if err := v.Verify(t.Context(), m); !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("Verify = %v, want ErrInvalidSignature", err)
			}
			if s.Dials() != 0 || s.totalHits() != 0 {
				t.Errorf("%d connections, %d requests for a refused URL", s.Dials(), s.totalHits())
			}
		})
	}

	// A redirect is no certificate: 401, not a 503 that fires the 5xx alarm and makes SNS retry.
	for _, status := range []int{301, 302, 303, 307, 308} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			v := staticVerifier(t, topicA, certA, status, nil)
			err := v.Verify(t.Context(), signed(t, notification("s")))
			if !errors.Is(err, ErrInvalidSignature) || errors.Is(err, ErrCertificateUnavailable) {
				t.Fatalf("Verify = %v, want ErrInvalidSignature only", err)
			}
		})
	}
	for _, status := range []int{429, 500, 503} {
		v := staticVerifier(t, topicA, certA, status, nil)
		if err := v.Verify(t.Context(), signed(t, notification("s"))); !errors.Is(err, ErrCertificateUnavailable) {
			t.Errorf("%d: Verify = %v, want ErrCertificateUnavailable", status, err)
		}
	}

	// The cache holds one entry per certificate: only the canonical spelling is ever fetched.
	s := newSNSServer(t)
	v := newVerifier(t, s, nil)
	m := signed(t, notification("s"))
	if err := v.Verify(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"https://" + host + "//SimpleNotificationService-abc.pem", "https://" + host + "/%53impleNotificationService-abc.pem",
		"https://" + host + "/./SimpleNotificationService-abc.pem"} {
		m.SigningCertURL = u
		_ = v.Verify(t.Context(), m)
	}
	if n := s.hitsFor(certPath("abc")); n != 1 || v.cacheLen() != 1 {
		t.Errorf("certificate fetched %d times, %d cache entries; want 1 and 1", n, v.cacheLen())
	}
}

// Decided: AWS's documented host pattern also matches legacy S3 virtual-host names of a bucket
// called "sns" (sns.s3.amazonaws.com, sns.s3-<region>.amazonaws.com, sns.s3-external-1...), where
// whoever owns that bucket could serve a certificate. The host must be the TopicArn's region's SNS
// host, and the default pattern only takes region names, so these are refused even when a TopicArn
// names such a "region" (as an attacker's could in set-up mode).
func TestSNSHostIsNeverAnS3BucketHost(t *testing.T) {
	for _, region := range []string{"s3", "s3-external-1", "s3-eu-west-1", "s3-website-us-east-1", "s3-accesspoint", "s3.dualstack.us-east-1"} {
		t.Run(region, func(t *testing.T) {
			s := newSNSServer(t)
			v, err := NewVerifier(Config{SetUp: true, HTTPClient: s.Client()})
			if err != nil {
				t.Fatal(err)
			}
			topic := "arn:aws:sns:" + region + ":123456789012:attacker"
			m := confirmation(TypeSubscriptionConfirmation, subscribeToken)
			m.TopicARN = topic
			m.SigningCertURL = "https://sns." + region + ".amazonaws.com/SimpleNotificationService-abc.pem"
			signed(t, m)
			if err := v.Discover(t.Context(), m); !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("Discover = %v, want ErrInvalidSignature", err)
			}
			if s.Dials() != 0 {
				t.Error("an S3 host was contacted")
			}
		})
	}
}

// The certificate body must be exactly one PEM CERTIFICATE block (and whitespace), and the
// certificate must name sns.amazonaws.com or sns.<region>.amazonaws.com[.cn].
func TestTheCertificateMustBeOnePEMBlockNamingAnSNSHost(t *testing.T) {
	now := time.Now()
	good := snsfixture.CertPEM(t, testKey(), now.Add(-time.Hour), now.Add(time.Hour)) // CN sns.amazonaws.com
	named := func(cn string, dns ...string) []byte {
		return certNamed(t, cn, dns, now)
	}
	tests := []struct {
		name string
		body []byte
		ok   bool
	}{
		{"the certificate", good, true},
		{"surrounded by whitespace", append(append([]byte(" \r\n\t"), good...), "\n\n  "...), true},
		{"named sns.eu-west-1.amazonaws.com", named("sns.eu-west-1.amazonaws.com"), true},
		{"named sns.cn-north-1.amazonaws.com.cn", named("sns.cn-north-1.amazonaws.com.cn"), true},
		{"an SNS DNS name beside another common name", named("Amazon", "sns.us-east-2.amazonaws.com"), true},
		{"wrapped in XML", []byte("<xml><value>\n" + string(good) + "</value></xml>\n"), false},
		{"wrapped in XML on one line", []byte("<xml><value>" + string(good) + "</value></xml>"), false},
		{"text before", append([]byte("hello\n"), good...), false},
		{"text after", append(append([]byte{}, good...), "trailer"...), false},
		{"two certificates", append(append([]byte{}, good...), good...), false},
		{"a private key after it", append(append([]byte{}, good...), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte{1}})...), false},
		{"PEM headers", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: mustDER(t, good)}), false},
		{"a TRUSTED CERTIFICATE block", pem.EncodeToMemory(&pem.Block{Type: "TRUSTED CERTIFICATE", Bytes: mustDER(t, good)}), false},
		{"named evil.example.com", named("evil.example.com"), false},
		{"named sns.amazonaws.com.evil.example.com", named("sns.amazonaws.com.evil.example.com"), false},
		{"named sqs.amazonaws.com", named("sqs.amazonaws.com"), false},
		{"named sns.s3.amazonaws.com", named("sns.s3.amazonaws.com"), false},
		{"named *.amazonaws.com", named("*.amazonaws.com"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := staticVerifier(t, topicA, certA, http.StatusOK, tt.body)
			err := v.Verify(t.Context(), signed(t, notification("s")))
			if tt.ok && err != nil {
				t.Fatalf("Verify = %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("Verify = %v, want ErrInvalidSignature", err)
			}
		})
	}
}

// AWS publishes genuine AWS-signed SNS messages with their certificate (testdata/aws, see its
// NOTICE.md): they verify with the clock at each message's Timestamp, in both spellings of the
// certificate URL, and fail when changed or once the certificate has expired.
func TestAWSPublishedFixturesVerify(t *testing.T) {
	dir := filepath.Join("testdata", "aws")
	certPEM, err := os.ReadFile(filepath.Join(dir, "SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "notification-*.json"))
	if err != nil || len(files) != 4 {
		t.Fatalf("%d fixtures, %v", len(files), err)
	}
	versions := map[string]int{}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, lambda := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s lambda=%v", filepath.Base(file), lambda), func(t *testing.T) {
				body := raw
				if lambda {
					body = []byte(strings.Replace(string(raw), `"SigningCertURL"`, `"SigningCertUrl"`, 1))
				}
				m, err := Parse(body)
				if err != nil {
					t.Fatal(err)
				}
				versions[m.SignatureVersion]++
				sent, _ := time.Parse(time.RFC3339, m.Timestamp)
				v, err := NewVerifier(Config{
					TopicARNs:  []string{m.TopicARN},
					HTTPClient: &http.Client{Transport: staticTransport{m.SigningCertURL: certPEM}},
					Now:        func() time.Time { return sent },
					MaxAge:     time.Hour,
				})
				if err != nil {
					t.Fatal(err)
				}
				if err := v.Verify(t.Context(), m); err != nil {
					t.Fatalf("a genuine AWS-signed message: %v", err)
				}
				changed := *m
				changed.Message += "!"
				if err := v.Verify(t.Context(), &changed); !errors.Is(err, ErrInvalidSignature) {
					t.Errorf("changed Message: %v", err)
				}
				// MaxAge 0 so that only the certificate's validity decides.
				late, err := NewVerifier(Config{
					TopicARNs:  []string{m.TopicARN},
					HTTPClient: &http.Client{Transport: staticTransport{m.SigningCertURL: certPEM}},
					Now:        func() time.Time { return time.Date(2022, 8, 18, 0, 0, 0, 0, time.UTC) },
				})
				if err != nil {
					t.Fatal(err)
				}
				if err := late.Verify(t.Context(), m); !errors.Is(err, ErrInvalidSignature) {
					t.Errorf("after the certificate expired: %v", err)
				}
			})
		}
	}
	if versions["1"] == 0 || versions["2"] == 0 {
		t.Errorf("signature versions covered: %v", versions)
	}
}

// staticVerifier verifies topic's messages against a certificate URL answered from memory with
// status and body (body nil: the test key's certificate).
func staticVerifier(t *testing.T, topic, certURL string, status int, body []byte) *Verifier {
	t.Helper()
	if body == nil {
		now := time.Now()
		body = snsfixture.CertPEM(t, testKey(), now.Add(-time.Hour), now.Add(time.Hour))
	}
	v, err := NewVerifier(Config{TopicARNs: []string{topic}, HTTPClient: &http.Client{Transport: statusTransport{certURL, status, body}}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// statusTransport answers url with status and body, anything else 404.
type statusTransport struct {
	url    string
	status int
	body   []byte
}

func (s statusTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	status, body := s.status, s.body
	h := http.Header{}
	if r.URL.String() != s.url {
		status, body = http.StatusNotFound, []byte("not found")
	}
	if status >= 300 && status < 400 {
		h.Set("Location", s.url)
	}
	return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(string(body))), Header: h, Request: r}, nil
}

// certNamed is a PEM certificate for testKey with common name cn and DNS names dns.
func certNamed(t *testing.T, cn string, dns []string, now time.Time) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     dns,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &testKey().PublicKey, testKey())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func mustDER(t *testing.T, p []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(p)
	if b == nil {
		t.Fatal("not PEM")
	}
	return b.Bytes
}
