package snsverify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fuzz target's signing key is derived from a fixed seed (not stored as PEM), so that the
// committed seed corpus can hold messages that really verify. The corpus was written by a
// throwaway program with its own string-to-sign code: TestFuzzCorpusVerifies checks that the
// "valid_" files verify, which cross-checks StringToSign against that independent implementation.
var fuzzNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	fuzzTopic   = "arn:aws:sns:ap-south-1:123456789012:amazon-pay-ipn"
	fuzzCertURL = "https://sns.ap-south-1.amazonaws.com/SimpleNotificationService-f022f022f022f022f022f022f022f022.pem"
)

var fuzzKey = sync.OnceValue(func() *rsa.PrivateKey {
	rng := mrand.New(mrand.NewChaCha8([32]byte([]byte("snsverify-fuzz-rsa-key-seed-0001"))))
	e := big.NewInt(65537)
	one := big.NewInt(1)
	prime := func() *big.Int {
		buf := make([]byte, 128)
		for i := range buf {
			buf[i] = byte(rng.Uint32())
		}
		buf[0] |= 0xc0 // two top bits set: the product is exactly 2048 bits
		buf[127] |= 1
		p := new(big.Int).SetBytes(buf)
		for !p.ProbablyPrime(20) || new(big.Int).GCD(nil, nil, e, new(big.Int).Sub(p, one)).Cmp(one) != 0 {
			p.Add(p, big.NewInt(2))
		}
		return p
	}
	p, q := prime(), prime()
	phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
	k := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: 65537},
		D:         new(big.Int).ModInverse(e, phi),
		Primes:    []*big.Int{p, q},
	}
	k.Precompute()
	if err := k.Validate(); err != nil {
		panic(err)
	}
	return k
})

// fuzzSeedMessages are the only messages the fuzz target signs (also written to the corpus).
func fuzzSeedMessages() []*Message {
	sub := "https://sns.ap-south-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + fuzzTopic + "&Token=2336412f37fb687f"
	return []*Message{
		{Type: TypeNotification, MessageID: "f1d9b7c4-0001-4a5b-8c6d-7e8f90a1b2c3", TopicARN: fuzzTopic, Subject: "ChargeNotification",
			Message:   `{"NotificationType":"ChargeNotification","NotificationData":"{\"amount\":\"100.00\"}"}`,
			Timestamp: "2026-01-01T00:00:00.000Z", SignatureVersion: "2", SigningCertURL: fuzzCertURL},
		{Type: TypeNotification, MessageID: "f1d9b7c4-0002-4a5b-8c6d-7e8f90a1b2c3", TopicARN: fuzzTopic,
			Message:   `{"NotificationType":"RefundNotification"}`,
			Timestamp: "2026-01-01T00:00:01Z", SignatureVersion: "1", SigningCertURL: fuzzCertURL},
		{Type: TypeSubscriptionConfirmation, MessageID: "f1d9b7c4-0003-4a5b-8c6d-7e8f90a1b2c3", TopicARN: fuzzTopic, Token: "2336412f37fb687f",
			Message: "You have chosen to subscribe to the topic " + fuzzTopic + ".", SubscribeURL: sub,
			Timestamp: "2026-01-01T00:00:02.123Z", SignatureVersion: "1", SigningCertURL: fuzzCertURL},
		{Type: TypeUnsubscribeConfirmation, MessageID: "f1d9b7c4-0004-4a5b-8c6d-7e8f90a1b2c3", TopicARN: fuzzTopic, Token: "2336412f37fb687f",
			Message: "You have unsubscribed.", SubscribeURL: sub,
			Timestamp: "2026-01-01T00:00:03Z", SignatureVersion: "2", SigningCertURL: fuzzCertURL},
	}
}

// staticTransport answers from memory: no network.
type staticTransport map[string][]byte

func (s staticTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body, ok := s[r.URL.String()]
	status := http.StatusOK
	if !ok {
		status, body = http.StatusNotFound, []byte("not found")
	}
	return &http.Response{StatusCode: status, Body: io.NopCloser(bytes.NewReader(body)), Header: http.Header{}, Request: r}, nil
}

type fuzzSetup struct {
	v     *Verifier
	known map[string]bool // signedKey of every message signed here
	seeds []*Message
	// certPEM is the signing certificate, as the certificate URL serves it.
	certPEM []byte
}

var fuzzFixture = sync.OnceValues(func() (*fuzzSetup, error) {
	key := fuzzKey()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore:    fuzzNow.Add(-365 * 24 * time.Hour),
		NotAfter:     fuzzNow.Add(365 * 24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	pemCert := []byte("-----BEGIN CERTIFICATE-----\n" + base64.StdEncoding.EncodeToString(der) + "\n-----END CERTIFICATE-----\n")
	v, err := NewVerifier(Config{
		TopicARNs:  []string{fuzzTopic, "arn:aws:sns:ap-south-1:123456789012:other"},
		HTTPClient: &http.Client{Transport: staticTransport{fuzzCertURL: pemCert}},
		Now:        func() time.Time { return fuzzNow },
	})
	if err != nil {
		return nil, err
	}
	fs := &fuzzSetup{v: v, known: map[string]bool{}, certPEM: pemCert}
	for _, m := range fuzzSeedMessages() {
		if err := Sign(m, key); err != nil {
			return nil, err
		}
		fs.known[signedKey(m)] = true
		fs.seeds = append(fs.seeds, m)
	}
	return fs, nil
})

func FuzzParseAndVerify(f *testing.F) {
	fs, err := fuzzFixture()
	if err != nil {
		f.Fatal(err)
	}
	for _, m := range fs.seeds {
		b, _ := json.Marshal(m)
		f.Add(b)
		t := *m
		t.Message += "!"
		b, _ = json.Marshal(&t)
		f.Add(b)
	}
	f.Add([]byte(`{"Type":"Notification"}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := Parse(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || m != nil {
				t.Fatalf("Parse = %v, %v; want nil, ErrMalformed", m, err)
			}
			return
		}
		// What Parse returns survives a round trip through the wire format.
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if m2, err := Parse(again); err != nil || *m2 != *m {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, m, m2)
		}
		err = fs.v.Verify(context.Background(), m)
		if err == nil {
			// Field by field, not just the signed text: the same text split into other fields
			// is a message nobody signed.
			if !fs.known[signedKey(m)] {
				s, _ := StringToSign(m)
				t.Fatalf("a message this test never signed verified:\n%q\n%+v", s, m)
			}
			return
		}
		switch {
		case errors.Is(err, ErrMalformed), errors.Is(err, ErrTopicNotAllowed), errors.Is(err, ErrInvalidSignature), errors.Is(err, ErrCertificateUnavailable):
		default:
			t.Fatalf("Verify error matches no sentinel: %v", err)
		}
		for _, secret := range []string{m.Token, m.Signature, m.Message} {
			if len(secret) >= 16 && strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q contains a message value", err)
			}
		}
	})
}

// signedKey identifies a message by each signed field and the signature bytes.
func signedKey(m *Message) string {
	sig, _ := base64.StdEncoding.DecodeString(m.Signature)
	return fmt.Sprintf("%q", []string{m.Type, m.MessageID, m.Token, m.TopicARN, m.Subject, m.Message, m.Timestamp, m.SubscribeURL, string(sig)})
}

// FuzzParseCertificate: whatever a certificate URL answers, a certificate is accepted only when the
// body is one PEM CERTIFICATE block (and whitespace) for an RSA key, issued to an SNS name.
func FuzzParseCertificate(f *testing.F) {
	fs, err := fuzzFixture()
	if err != nil {
		f.Fatal(err)
	}
	good := fs.certPEM
	f.Add(good)
	f.Add(append([]byte("<xml><value>\n"), append(append([]byte{}, good...), "</value></xml>"...)...))
	f.Add(append(append([]byte{}, good...), good...))
	f.Add(append([]byte(" \n"), good...))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		cert, err := parseCert(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidSignature) || cert != nil {
				t.Fatalf("parseCert = %v, %v; want nil, ErrInvalidSignature", cert, err)
			}
			return
		}
		block, rest := pem.Decode(bytes.TrimSpace(body))
		if block == nil || block.Type != "CERTIFICATE" || len(block.Headers) != 0 || len(rest) != 0 || !bytes.Equal(block.Bytes, cert.Raw) {
			t.Fatalf("accepted a body that is not exactly one PEM certificate: %q", body)
		}
		if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !namesSNS(cert) {
			t.Fatalf("accepted a certificate that is not RSA or not SNS's: %q", cert.Subject.CommonName)
		}
	})
}

// The committed corpus files whose names start with "valid_" were signed by a program independent of
// this package (same derived key, its own string to sign): they must verify here, and be messages
// the fuzz target itself signs.
func TestFuzzCorpusVerifies(t *testing.T) {
	fs, err := fuzzFixture()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzParseAndVerify", "*"))
	if err != nil || len(files) < 4 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	valid := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		header, value, ok := strings.Cut(strings.TrimSpace(string(raw)), "\n")
		if !ok || header != "go test fuzz v1" || !strings.HasPrefix(value, "[]byte(") || !strings.HasSuffix(value, ")") {
			t.Fatalf("%s: not a go test fuzz v1 []byte file", file)
		}
		body, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(value, "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		m, perr := Parse([]byte(body))
		var verr error = perr
		if perr == nil {
			verr = fs.v.Verify(context.Background(), m)
		}
		if strings.HasPrefix(filepath.Base(file), "valid_") {
			valid++
			if verr != nil {
				t.Errorf("%s: %v", file, verr)
			}
		} else if verr == nil {
			t.Errorf("%s verified", file)
		}
	}
	if valid < 2 {
		t.Errorf("%d valid_ corpus files", valid)
	}
}
