package snsverify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/tests/snsfixture"
)

const (
	topicA  = "arn:aws:sns:eu-west-1:123456789012:amazon-pay-ipn"
	topicB  = "arn:aws:sns:eu-west-1:123456789012:amazon-pay-ipn-other"
	topicCN = "arn:aws-cn:sns:cn-north-1:123456789012:amazon-pay-ipn"
	topicAP = "arn:aws:sns:ap-south-1:123456789012:amazon-pay-ipn"
	topicUS = "arn:aws:sns:us-east-1:123456789012:amazon-pay-ipn"
	host    = "sns.eu-west-1.amazonaws.com"
	certA   = "https://" + host + "/SimpleNotificationService-abc.pem"
	certCN  = "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem"
	// subscribeToken is what the confirmation messages carry; the SNS look-alike checks it.
	subscribeToken = "2336412f37fb687f5d51e6e2425c464de12884d4b4ca5d3e0b2f9d3fa7e1a5b3c0a8a8f4ed1e6ff9"
)

// testKey is the RSA 2048 signing key, generated once per test binary.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// otherKey signs the certificate served as "wrongkey".
var otherKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// snsServer is the SNS look-alike for this package's tests (package snstest imports this package,
// so these tests cannot use it). It counts every request by path and records confirmed tokens.
type snsServer struct {
	*snsfixture.Server
	mu     sync.Mutex
	hits   map[string]int
	tokens []string
}

func newSNSServer(t testing.TB) *snsServer {
	t.Helper()
	now := time.Now()
	good := snsfixture.CertPEM(t, testKey(), now.Add(-time.Hour), now.Add(24*time.Hour))
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"abc":      good,
		"a":        good,
		"b":        good,
		"c":        good,
		"expired":  snsfixture.CertPEM(t, testKey(), now.Add(-48*time.Hour), now.Add(-time.Hour)),
		"future":   snsfixture.CertPEM(t, testKey(), now.Add(time.Hour), now.Add(48*time.Hour)),
		"notpem":   []byte("this is not a certificate\n"),
		"ecdsa":    snsfixture.CertPEM(t, ecKey, now.Add(-time.Hour), now.Add(24*time.Hour)),
		"wrongkey": snsfixture.CertPEM(t, otherKey(), now.Add(-time.Hour), now.Add(24*time.Hour)),
		"big":      append(good, []byte(strings.Repeat("x", 70<<10))...),
	}
	s := &snsServer{hits: map[string]int{}}
	mux := http.NewServeMux()
	for name, body := range files {
		mux.HandleFunc("GET "+certPath(name), func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write(body)
		})
	}
	mux.HandleFunc("GET "+certPath("unavailable"), func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "try later", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("GET "+certPath("redirect"), func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, certPath("abc"), http.StatusFound)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("Action") != "ConfirmSubscription" || q.Get("TopicArn") == "" || q.Get("Token") == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if q.Get("Token") == "fail" {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		s.mu.Lock()
		s.tokens = append(s.tokens, q.Get("Token"))
		s.mu.Unlock()
		_, _ = w.Write([]byte("<ConfirmSubscriptionResponse/>"))
	})
	s.Server = snsfixture.Start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	return s
}

// certPath is where the test server serves the certificate called name. SNS's certificate names
// are hex, so a name that is not is hex-encoded ("abc" stays "abc").
func certPath(name string) string {
	if strings.Trim(name, "0123456789abcdef") != "" {
		name = hex.EncodeToString([]byte(name))
	}
	return "/SimpleNotificationService-" + name + ".pem"
}

// certURL is certPath on the eu-west-1 SNS host.
func certURL(name string) string { return "https://" + host + certPath(name) }

func (s *snsServer) hitsFor(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func (s *snsServer) totalHits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.hits {
		n += c
	}
	return n
}

func (s *snsServer) confirmed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tokens...)
}

func newVerifier(t testing.TB, s *snsServer, mod func(*Config)) *Verifier {
	t.Helper()
	cfg := Config{TopicARNs: []string{topicA, topicB, topicCN, topicAP}, HTTPClient: s.Client()}
	if mod != nil {
		mod(&cfg)
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func subscribeURL(token string) string {
	return "https://" + host + "/?Action=ConfirmSubscription&TopicArn=" + topicA + "&Token=" + token
}

// notification is an unsigned Amazon Pay IPN-like notification.
func notification(subject string) *Message {
	return &Message{
		Type:             TypeNotification,
		MessageID:        "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
		TopicARN:         topicA,
		Subject:          subject,
		Message:          `{"NotificationType":"ChargeNotification","NotificationData":"{\"amount\":\"100.00\"}"}`,
		Timestamp:        "2026-01-02T03:04:05.678Z",
		SignatureVersion: "2",
		SigningCertURL:   certA,
		UnsubscribeURL:   "https://" + host + "/?Action=Unsubscribe&SubscriptionArn=" + topicA + ":c9135db0",
	}
}

// confirmation is an unsigned SubscriptionConfirmation or UnsubscribeConfirmation.
func confirmation(typ, token string) *Message {
	return &Message{
		Type:             typ,
		MessageID:        "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
		Token:            token,
		TopicARN:         topicA,
		Message:          "You have chosen to subscribe to the topic " + topicA + ".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
		SubscribeURL:     subscribeURL(token),
		Timestamp:        "2026-01-02T03:04:05.678Z",
		SignatureVersion: "1",
		SigningCertURL:   certA,
	}
}

func signed(t testing.TB, m *Message) *Message {
	t.Helper()
	if err := Sign(m, testKey()); err != nil {
		t.Fatal(err)
	}
	return m
}
