// Package amazonpaystub is a local stand-in for the Amazon Pay API v2: an HTTP server on
// 127.0.0.1 that checks each request's AMZN-PAY-RSASSA-PSS-V2 signature with the merchant's
// public key, as Amazon Pay does, and answers GETs of the objects a test put, or a failure the
// test chose.
package amazonpaystub

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpayapi"
)

// Server is the stand-in. Its URL is the client's base URL (paths /v2/<objects>/<id>).
type Server struct {
	*httptest.Server
	publicKeyID string
	public      *rsa.PublicKey

	mu      sync.Mutex
	objects map[string]string
	fail    int  // answer this status to every request (0: none)
	hang    bool // answer nothing until the client gives up
	seen    []Request
}

// Request is one request the stand-in received.
type Request struct {
	Path          string
	SignedHeaders string
	// Verified: the signature verified with the public key over the canonical request.
	Verified bool
	Status   int
}

// New starts a stand-in that accepts requests signed for publicKeyID with the key whose public
// half is pub.
func New(t testing.TB, publicKeyID string, pub *rsa.PublicKey) *Server {
	t.Helper()
	s := &Server{publicKeyID: publicKeyID, public: pub, objects: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Put serves body (a JSON object) for GET /v2/<object>/<id>.
func (s *Server) Put(object amazonpayapi.Object, id, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects["/v2/"+string(object)+"/"+id] = body
}

// Fail answers status to every request from now on (0: answer normally again).
func (s *Server) Fail(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = status
}

// Hang holds every request until its client gives up (a timeout), or answers again (false).
func (s *Server) Hang(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang = on
}

// Requests are the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.seen...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	signed, err := s.verify(r, body)
	s.mu.Lock()
	fail, hang, obj, found := s.fail, s.hang, "", false
	if err == nil {
		obj, found = s.objects[r.URL.Path]
	}
	status := http.StatusOK
	switch {
	case hang:
		status = 0
	case err != nil:
		status = http.StatusUnauthorized
	case fail != 0:
		status = fail
	case r.Method != http.MethodGet || !found:
		status = http.StatusNotFound
	}
	s.seen = append(s.seen, Request{Path: r.URL.Path, SignedHeaders: signed, Verified: err == nil, Status: status})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Pay-Request-Id", fmt.Sprintf("stub-%d", time.Now().UnixNano()))
	switch status {
	case 0:
		<-r.Context().Done()
	case http.StatusOK:
		_, _ = io.WriteString(w, obj)
	case http.StatusUnauthorized:
		w.WriteHeader(status)
		reason := "chosen by the test"
		if err != nil {
			reason = err.Error()
		}
		fmt.Fprintf(w, `{"reasonCode":"InvalidRequestSignature","message":%q}`, reason)
	default:
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"reasonCode":"Stub%d","message":"chosen by the test"}`, status)
	}
}

// required are the headers every request must sign.
var required = []string{"accept", "content-type", amazonpayapi.HeaderDate, amazonpayapi.HeaderHost, amazonpayapi.HeaderRegion}

// verify checks the authorization header: the algorithm, the public key id, the signed headers
// (the five required, the host the one reached, a date within 15 minutes) and the PSS signature
// over the canonical request rebuilt from what arrived. It returns the signed headers' list.
func (s *Server) verify(r *http.Request, body []byte) (string, error) {
	rest, ok := strings.CutPrefix(r.Header.Get("Authorization"), amazonpayapi.Algorithm+" ")
	if !ok {
		return "", errors.New("authorization is not " + amazonpayapi.Algorithm)
	}
	parts := map[string]string{}
	for _, p := range strings.Split(rest, ", ") {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return "", fmt.Errorf("authorization part %q", p)
		}
		parts[k] = v
	}
	if parts["PublicKeyId"] != s.publicKeyID {
		return "", errors.New("unknown PublicKeyId")
	}
	signed := parts["SignedHeaders"]
	headers := map[string]string{}
	for _, name := range strings.Split(signed, ";") {
		headers[name] = r.Header.Get(name)
	}
	for _, name := range required {
		if _, ok := headers[name]; !ok {
			return signed, fmt.Errorf("%s is not signed", name)
		}
	}
	if headers[amazonpayapi.HeaderHost] != r.Host {
		return signed, errors.New("x-amz-pay-host is not the host reached")
	}
	at, err := time.Parse(amazonpayapi.DateFormat, headers[amazonpayapi.HeaderDate])
	if err != nil || time.Since(at).Abs() > 15*time.Minute {
		return signed, errors.New("x-amz-pay-date is missing or off by more than 15 minutes")
	}
	canonical, _ := amazonpayapi.CanonicalRequest(r.Method, r.URL.Path, r.URL.Query(), headers, body)
	sig, err := base64.StdEncoding.DecodeString(parts["Signature"])
	if err != nil {
		return signed, errors.New("signature is not Base64")
	}
	sum := sha256.Sum256([]byte(amazonpayapi.StringToSign(canonical)))
	if err := rsa.VerifyPSS(s.public, crypto.SHA256, sum[:], sig, &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256}); err != nil {
		return signed, errors.New("signature does not verify")
	}
	return signed, nil
}
