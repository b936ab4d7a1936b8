// Package snstest is an Amazon SNS look-alike for tests of packages that receive SNS HTTP(S)
// messages through snsverify.
//
// NewServer starts an HTTPS server on 127.0.0.1 with a certificate, issued by a test CA, for
// sns.eu-west-1.amazonaws.com, sns.ap-south-1.amazonaws.com and sns.cn-north-1.amazonaws.com.cn.
// Server.Client trusts that CA and connects to the server whatever host a URL names, so a
// snsverify.Verifier built with it fetches the signing certificate from a real SNS-looking https URL
// over real TLS, and Verifier.Confirm really calls the SubscribeURL:
//
//	sns := snstest.NewServer(t)
//	v, _ := snsverify.NewVerifier(snsverify.Config{TopicARNs: []string{snstest.TopicARN}, HTTPClient: sns.Client()})
//	m := &snsverify.Message{Type: snsverify.TypeNotification, MessageID: "id-1", TopicARN: snstest.TopicARN,
//		Message: `{"k":"v"}`, Timestamp: "2026-01-02T03:04:05.678Z"}
//	sns.Sign(m)
//	body, _ := json.Marshal(m) // an SNS HTTP body
package snstest

import (
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
	"github.com/amazon-webhook-gateway/gateway/tests/snsfixture"
)

// TopicARN is a topic ARN for tests (the one SubscribeURL names).
const TopicARN = "arn:aws:sns:eu-west-1:123456789012:amazon-pay-ipn-test"

const (
	host = "sns.eu-west-1.amazonaws.com"
	// SNS names its certificates SimpleNotificationService-<hex>.pem.
	certPath = "/SimpleNotificationService-7e57ce57ce57ce57ce57ce57ce57ce57.pem"
	// redirectPath answers 302 to certPath (SNS never redirects).
	redirectPath = "/SimpleNotificationService-30230230230230230230230230230230.pem"
)

// Server is a running SNS look-alike. Its methods are safe for concurrent use.
type Server struct {
	t       testing.TB
	fx      *snsfixture.Server
	key     *rsa.PrivateKey
	certPEM []byte

	mu            sync.Mutex
	confirmations []string
}

// NewServer starts the server; it stops when the test ends. The signing certificate (a self-signed
// certificate for a fresh RSA 2048 key, valid from an hour ago for a day) is served at CertURL;
// GET https://<SNS host>/?Action=ConfirmSubscription&TopicArn=...&Token=... records Token and answers
// 200 like SNS; anything else is 404 (or 400 for a confirmation without a token).
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, key: snsfixture.RSAKey(t)}
	now := time.Now()
	s.certPEM = snsfixture.CertPEM(t, s.key, now.Add(-time.Hour), now.Add(24*time.Hour))
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+certPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(s.certPEM)
	})
	mux.HandleFunc("GET "+redirectPath, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, certPath, http.StatusFound)
	})
	mux.HandleFunc("GET /{$}", s.confirm)
	s.fx = snsfixture.Start(t, mux)
	return s
}

func (s *Server) confirm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	token := q.Get("Token")
	if q.Get("Action") != "ConfirmSubscription" || token == "" {
		http.Error(w, "bad ConfirmSubscription request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.confirmations = append(s.confirmations, token)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write([]byte(`<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ConfirmSubscriptionResult><SubscriptionArn>` +
		TopicARN + `:00000000-0000-0000-0000-000000000000</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>`))
}

// Client returns an http.Client for snsverify.Config.HTTPClient: it trusts the test CA and sends
// every connection to this server.
func (s *Server) Client() *http.Client { return s.fx.Client() }

// CertURL is where the signing certificate is served:
// https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-7e57ce57ce57ce57ce57ce57ce57ce57.pem.
func (s *Server) CertURL() string { return "https://" + host + certPath }

// RedirectCertURL is an SNS-shaped certificate URL that answers 302 to CertURL.
func (s *Server) RedirectCertURL() string { return "https://" + host + redirectPath }

// Key is the signing key (the private half of the certificate at CertURL).
func (s *Server) Key() *rsa.PrivateKey { return s.key }

// Sign sets m.SigningCertURL to CertURL and m.SignatureVersion to "2" if they are empty, replaces a
// MessageID that is not SNS's lower-case UUID with MessageID(m.MessageID), then signs m with Key.
// It fails the test if m cannot be signed.
func (s *Server) Sign(m *snsverify.Message) {
	s.t.Helper()
	m.MessageID = MessageID(m.MessageID)
	if m.SigningCertURL == "" {
		m.SigningCertURL = s.CertURL()
	}
	if m.SignatureVersion == "" {
		m.SignatureVersion = "2"
	}
	if err := snsverify.Sign(m, s.key); err != nil {
		s.t.Fatalf("snstest: Sign: %v", err)
	}
}

// MessageID is an SNS-shaped MessageId (a lower-case UUID) for name: name itself if it is one,
// else a UUID derived from name (the same for the same name), so tests can name their messages.
func MessageID(name string) string {
	if uuid.MatchString(name) {
		return name
	}
	h := sha256.Sum256([]byte(name))
	h[6] = h[6]&0x0f | 0x50 // a name-based UUID (version 5 layout, SHA-256)
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

var uuid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Dials is the number of connections Client has opened: 0 proves that nothing was fetched.
func (s *Server) Dials() int64 { return s.fx.Dials() }

// SubscribeURL is an SNS-shaped SubscribeURL for TopicARN that confirms token on this server.
func (s *Server) SubscribeURL(token string) string {
	q := url.Values{"Action": {"ConfirmSubscription"}, "TopicArn": {TopicARN}, "Token": {token}}
	return "https://" + host + "/?" + q.Encode()
}

// Confirmations returns the tokens confirmed so far, in order.
func (s *Server) Confirmations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.confirmations)
}
