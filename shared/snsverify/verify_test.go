package snsverify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewVerifierConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{TopicARNs: []string{}},
		{TopicARNs: []string{topicA, ""}},
		{TopicARNs: []string{" "}},
	} {
		if v, err := NewVerifier(cfg); err == nil || v != nil {
			t.Errorf("NewVerifier(%+v) = %v, %v; want an error", cfg, v, err)
		}
	}
	v, err := NewVerifier(Config{TopicARNs: []string{topicA}})
	if err != nil {
		t.Fatal(err)
	}
	if v.client.Timeout != 3*time.Second || v.max != 32 || v.now == nil {
		t.Errorf("defaults: timeout %v, max %d", v.client.Timeout, v.max)
	}
	if v.client.CheckRedirect == nil || v.client.CheckRedirect(nil, nil) != http.ErrUseLastResponse {
		t.Error("default client follows redirects")
	}
	// A caller's client is copied, not changed, and never follows redirects.
	mine := &http.Client{Timeout: time.Second}
	v, err = NewVerifier(Config{TopicARNs: []string{topicA}, HTTPClient: mine})
	if err != nil {
		t.Fatal(err)
	}
	if mine.CheckRedirect != nil || v.client == mine || v.client.CheckRedirect(nil, nil) != http.ErrUseLastResponse {
		t.Error("caller's client not copied or redirects followed")
	}
	// An unanchored pattern still has to match the whole host.
	v, err = NewVerifier(Config{TopicARNs: []string{topicA}, CertHostPattern: regexp.MustCompile(`sns\.eu-west-1\.amazonaws\.com`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"sns.eu-west-1.amazonaws.com.evil.com", "evil-sns.eu-west-1.amazonaws.com"} {
		if _, err := v.checkURL("https://"+h+"/SimpleNotificationService-abc.pem", "SigningCertURL", topicA, true); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("host %s accepted by an unanchored pattern", h)
		}
	}
}

// Messages go over the wire: signed, marshalled to an SNS body, parsed, verified over real TLS.
func TestVerifyAccepts(t *testing.T) {
	s := newSNSServer(t)
	v := newVerifier(t, s, nil)
	tests := []struct {
		name string
		m    *Message
		mod  func(*Message) // after signing: fields that are not signed
	}{
		{"notification with Subject v1", with1(notification("ChargeNotification")), nil},
		{"notification with Subject v2", notification("ChargeNotification"), nil},
		{"notification without Subject v1", with1(notification("")), nil},
		{"notification without Subject v2", notification(""), nil},
		{"subscription confirmation v1", confirmation(TypeSubscriptionConfirmation, subscribeToken), nil},
		{"subscription confirmation v2", with2(confirmation(TypeSubscriptionConfirmation, subscribeToken)), nil},
		{"unsubscribe confirmation v1", confirmation(TypeUnsubscribeConfirmation, subscribeToken), nil},
		{"unsubscribe confirmation v2", with2(confirmation(TypeUnsubscribeConfirmation, subscribeToken)), nil},
		{".cn host", inTopic(notification(""), topicCN, certCN), nil},
		{"ap-south-1 host", inTopic(notification(""), topicAP, "https://sns.ap-south-1.amazonaws.com/SimpleNotificationService-abc.pem"), nil},
		{"other allowed topic", func() *Message { m := notification(""); m.TopicARN = topicB; return m }(), nil},
		{"UnsubscribeURL is not signed", notification("s"), func(m *Message) { m.UnsubscribeURL = "" }},
		{"Unicode and newlines in Message", func() *Message {
			m := notification("Zahlung €")
			m.Message = "line1\nline2\r\n\"₹100\" \u2028 \\u0000"
			return m
		}(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := signed(t, tt.m)
			if tt.mod != nil {
				tt.mod(m)
			}
			raw, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := Parse(raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if err := v.Verify(t.Context(), parsed); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func with1(m *Message) *Message { m.SignatureVersion = "1"; return m }

// inTopic moves m to topic, whose region's SNS host certURL is on.
func inTopic(m *Message, topic, certURL string) *Message {
	m.TopicARN, m.SigningCertURL = topic, certURL
	return m
}
func with2(m *Message) *Message { m.SignatureVersion = "2"; return m }

func TestVerifyRejectsTampering(t *testing.T) {
	s := newSNSServer(t)
	v := newVerifier(t, s, nil)
	flip := func(m *Message) {
		sig, _ := base64.StdEncoding.DecodeString(m.Signature)
		sig[len(sig)/2] ^= 1
		m.Signature = base64.StdEncoding.EncodeToString(sig)
	}
	tests := []struct {
		name   string
		m      *Message // signed before mod
		mod    func(*Message)
		wantIs error
	}{
		{"Message", notification("s"), func(m *Message) { m.Message += " " }, ErrInvalidSignature},
		{"MessageId", notification("s"), func(m *Message) { m.MessageID = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf325" }, ErrInvalidSignature},
		{"Subject added", notification(""), func(m *Message) { m.Subject = "ChargeNotification" }, ErrInvalidSignature},
		{"Subject removed", notification("ChargeNotification"), func(m *Message) { m.Subject = "" }, ErrInvalidSignature},
		{"Subject changed", notification("ChargeNotification"), func(m *Message) { m.Subject = "RefundNotification" }, ErrInvalidSignature},
		{"Timestamp", notification("s"), func(m *Message) { m.Timestamp = "2026-01-02T03:04:05.679Z" }, ErrInvalidSignature},
		{"TopicArn to another allowed topic", notification("s"), func(m *Message) { m.TopicARN = topicB }, ErrInvalidSignature},
		{"TopicArn to another allowed topic (confirmation)", confirmation(TypeSubscriptionConfirmation, subscribeToken), func(m *Message) { m.TopicARN = topicB }, ErrInvalidSignature},
		{"Type subscription to unsubscribe", confirmation(TypeSubscriptionConfirmation, subscribeToken), func(m *Message) { m.Type = TypeUnsubscribeConfirmation }, ErrInvalidSignature},
		{"Type unsubscribe to subscription", confirmation(TypeUnsubscribeConfirmation, subscribeToken), func(m *Message) { m.Type = TypeSubscriptionConfirmation }, ErrInvalidSignature},
		{"Type confirmation to notification", confirmation(TypeSubscriptionConfirmation, subscribeToken), func(m *Message) { m.Type = TypeNotification }, ErrInvalidSignature},
		{"Type unknown", notification("s"), func(m *Message) { m.Type = "Notification2" }, ErrMalformed},
		{"Token", confirmation(TypeSubscriptionConfirmation, subscribeToken), func(m *Message) { m.Token = "x" + m.Token[1:] }, ErrInvalidSignature},
		{"SubscribeURL", confirmation(TypeSubscriptionConfirmation, subscribeToken), func(m *Message) { m.SubscribeURL = subscribeURL("other") }, ErrInvalidSignature},
		{"confirmation Message", confirmation(TypeSubscriptionConfirmation, subscribeToken), func(m *Message) { m.Message = "hi" }, ErrInvalidSignature},
		{"SignatureVersion 3", notification("s"), func(m *Message) { m.SignatureVersion = "3" }, ErrInvalidSignature},
		{"SignatureVersion 0", notification("s"), func(m *Message) { m.SignatureVersion = "0" }, ErrInvalidSignature},
		{"SignatureVersion 02", notification("s"), func(m *Message) { m.SignatureVersion = "02" }, ErrInvalidSignature},
		{"SignatureVersion empty", notification("s"), func(m *Message) { m.SignatureVersion = "" }, ErrMalformed},
		{"v1 signature presented as v2", with1(notification("s")), func(m *Message) { m.SignatureVersion = "2" }, ErrInvalidSignature},
		{"v2 signature presented as v1", notification("s"), func(m *Message) { m.SignatureVersion = "1" }, ErrInvalidSignature},
		{"signature bit flipped", notification("s"), flip, ErrInvalidSignature},
		{"signature truncated", notification("s"), func(m *Message) {
			sig, _ := base64.StdEncoding.DecodeString(m.Signature)
			m.Signature = base64.StdEncoding.EncodeToString(sig[:255])
		}, ErrInvalidSignature},
		{"signature not base64", notification("s"), func(m *Message) { m.Signature = "!" + m.Signature[1:] }, ErrInvalidSignature},
		{"signature base64url", notification("s"), func(m *Message) {
			sig, _ := base64.StdEncoding.DecodeString(m.Signature)
			m.Signature = base64.RawURLEncoding.EncodeToString(sig)
			if !strings.ContainsAny(m.Signature, "-_") {
				m.Signature += "_"
			}
		}, ErrInvalidSignature},
		{"signature by another key", notification("s"), func(m *Message) {
			if err := Sign(m, otherKey()); err != nil {
				panic(err)
			}
		}, ErrInvalidSignature},
		{"signature empty", notification("s"), func(m *Message) { m.Signature = "" }, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := signed(t, tt.m)
			if err := v.Verify(t.Context(), m); err != nil {
				t.Fatalf("untampered message does not verify: %v", err)
			}
			tt.mod(m)
			if err := v.Verify(t.Context(), m); !errors.Is(err, tt.wantIs) {
				t.Fatalf("Verify = %v, want %v", err, tt.wantIs)
			}
		})
	}
	if err := v.Verify(t.Context(), nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("Verify(nil) = %v", err)
	}
}

// A rejected SigningCertURL causes no connection and no request.
func TestVerifyRejectsCertURL(t *testing.T) {
	urls := []struct{ name, url string }{
		{"http", "http://" + host + "/SimpleNotificationService-abc.pem"},
		{"scheme-relative", "//" + host + "/SimpleNotificationService-abc.pem"},
		{"ftp", "ftp://" + host + "/SimpleNotificationService-abc.pem"},
		{"not .pem", "https://" + host + "/SimpleNotificationService-abc.txt"},
		{"no path", "https://" + host},
		{".pem then more", "https://" + host + "/SimpleNotificationService-abc.pem.txt"},
		{"query", "https://" + host + "/SimpleNotificationService-abc.pem?x=1"},
		{"query ending .pem", "https://" + host + "/x?f=SimpleNotificationService-abc.pem"},
		{"empty query", "https://" + host + "/SimpleNotificationService-abc.pem?"},
		{"fragment", "https://" + host + "/SimpleNotificationService-abc.pem#x"},
		{"suffix host", "https://sns.eu-west-1.amazonaws.com.evil.com/SimpleNotificationService-abc.pem"},
		{"evil.com", "https://evil.com/SimpleNotificationService-abc.pem"},
		{"no region", "https://sns.amazonaws.com/SimpleNotificationService-abc.pem"},
		{"short region", "https://sns.eu.amazonaws.com/SimpleNotificationService-abc.pem"},
		{"prefix host", "https://evilsns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem"},
		{"other service", "https://sqs.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem"},
		{"upper case host", "https://SNS.EU-WEST-1.AMAZONAWS.COM/SimpleNotificationService-abc.pem"},
		{"trailing dot", "https://sns.eu-west-1.amazonaws.com./SimpleNotificationService-abc.pem"},
		{"userinfo", "https://user@" + host + "/SimpleNotificationService-abc.pem"},
		{"userinfo with password", "https://user:pw@" + host + "/SimpleNotificationService-abc.pem"},
		{"userinfo naming evil", "https://" + host + "@evil.com/SimpleNotificationService-abc.pem"},
		{"backslash", "https://evil.com\\@" + host + "/SimpleNotificationService-abc.pem"},
		{"port 8443", "https://" + host + ":8443/SimpleNotificationService-abc.pem"},
		{"port 443", "https://" + host + ":443/SimpleNotificationService-abc.pem"},
		{"empty port", "https://" + host + ":/SimpleNotificationService-abc.pem"},
		{"escaped dot in host", "https://sns.eu-west-1.amazonaws.com%2eevil.com/SimpleNotificationService-abc.pem"},
		{"IP address", "https://127.0.0.1/SimpleNotificationService-abc.pem"},
		{"IPv6", "https://[::1]/SimpleNotificationService-abc.pem"},
		{"no host", "https:///SimpleNotificationService-abc.pem"},
		{"opaque", "https:" + host + "/SimpleNotificationService-abc.pem"},
		{"space", "https://" + host + " /SimpleNotificationService-abc.pem"},
		{"control character", "https://" + host + "/SimpleNotificationService-abc\n.pem"},
	}
	for _, tt := range urls {
		t.Run(tt.name, func(t *testing.T) {
			s := newSNSServer(t)
			v := newVerifier(t, s, nil)
			m := signed(t, notification("s"))
			m.SigningCertURL = tt.url
			want := ErrInvalidSignature
			if strings.ContainsRune(tt.url, '\n') {
				want = ErrMalformed // no field but Message may hold a control character
			}
			if err := v.Verify(t.Context(), m); !errors.Is(err, want) {
				t.Fatalf("Verify = %v, want %v", err, want)
			}
			if s.Dials() != 0 || s.totalHits() != 0 {
				t.Errorf("%d connections, %d requests made for a rejected URL", s.Dials(), s.totalHits())
			}
		})
	}
}

func TestVerifyCertificates(t *testing.T) {
	s := newSNSServer(t)
	tests := []struct {
		name   string
		url    string
		now    func() time.Time
		wantIs error
	}{
		{"expired", certURL("expired"), nil, ErrInvalidSignature},
		{"not yet valid", certURL("future"), nil, ErrInvalidSignature},
		{"good cert, clock after NotAfter", certURL("abc"), func() time.Time { return time.Now().Add(25 * time.Hour) }, ErrInvalidSignature},
		{"good cert, clock before NotBefore", certURL("abc"), func() time.Time { return time.Now().Add(-2 * time.Hour) }, ErrInvalidSignature},
		{"not PEM", certURL("notpem"), nil, ErrInvalidSignature},
		{"ECDSA key", certURL("ecdsa"), nil, ErrInvalidSignature},
		{"another RSA key", certURL("wrongkey"), nil, ErrInvalidSignature},
		{"larger than 64 KiB", certURL("big"), nil, ErrInvalidSignature},
		{"404: no such certificate", certURL("missing"), nil, ErrInvalidSignature},
		{"503: try later", certURL("unavailable"), nil, ErrCertificateUnavailable},
		{"redirect is not followed: no certificate there", certURL("redirect"), nil, ErrInvalidSignature},
		{"TLS certificate not for that host", "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem", nil, ErrCertificateUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, s, func(c *Config) {
				c.Now = tt.now
				c.TopicARNs = append(c.TopicARNs, topicUS)
			})
			m := notification("s")
			m.SigningCertURL = tt.url
			if strings.Contains(tt.url, "us-east-1") {
				m.TopicARN = topicUS
			}
			signed(t, m)
			err := v.Verify(t.Context(), m)
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("Verify = %v, want %v", err, tt.wantIs)
			}
			if errors.Is(err, ErrInvalidSignature) == errors.Is(err, ErrCertificateUnavailable) {
				t.Errorf("error %v is both or neither", err)
			}
		})
	}
	t.Run("redirect target was never fetched", func(t *testing.T) {
		if n := s.hitsFor("/SimpleNotificationService-abc.pem"); n != 2 {
			t.Errorf("abc.pem fetched %d times, want 2 (one per verifier that used it)", n)
		}
	})
}

func TestVerifyTopicNotAllowed(t *testing.T) {
	s := newSNSServer(t)
	v := newVerifier(t, s, func(c *Config) { c.TopicARNs = []string{topicB} })
	for _, m := range []*Message{
		signed(t, notification("s")),
		signed(t, confirmation(TypeSubscriptionConfirmation, subscribeToken)),
		{TopicARN: topicA},
		{},
		func() *Message { m := signed(t, notification("s")); m.TopicARN = topicB + " "; return m }(),
		func() *Message { m := signed(t, notification("s")); m.TopicARN = strings.ToUpper(topicB); return m }(),
	} {
		if err := v.Verify(t.Context(), m); !errors.Is(err, ErrTopicNotAllowed) {
			t.Errorf("Verify(topic %q) = %v, want ErrTopicNotAllowed", m.TopicARN, err)
		}
		if err := v.Confirm(t.Context(), m); m.Type == TypeSubscriptionConfirmation && !errors.Is(err, ErrTopicNotAllowed) {
			t.Errorf("Confirm(topic %q) = %v, want ErrTopicNotAllowed", m.TopicARN, err)
		}
	}
	if s.Dials() != 0 || s.totalHits() != 0 {
		t.Errorf("the SNS server was contacted: %d connections, %d requests", s.Dials(), s.totalHits())
	}
}

func TestCertificateUnavailableIsNotCached(t *testing.T) {
	s := newSNSServer(t)
	v := newVerifier(t, s, nil)
	m := notification("")
	m.SigningCertURL = certURL("unavailable")
	signed(t, m)
	for range 2 {
		if err := v.Verify(t.Context(), m); !errors.Is(err, ErrCertificateUnavailable) {
			t.Fatalf("Verify = %v", err)
		}
	}
	if n := s.hitsFor(certPath("unavailable")); n != 2 {
		t.Errorf("fetched %d times, want 2", n)
	}
	if v.cacheLen() != 0 {
		t.Errorf("cache has %d entries", v.cacheLen())
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	m = signed(t, notification(""))
	if err := v.Verify(ctx, m); !errors.Is(err, ErrCertificateUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("Verify with a cancelled context = %v", err)
	}
}

func TestCertCache(t *testing.T) {
	s := newSNSServer(t)
	v := newVerifier(t, s, nil)
	m := signed(t, notification("s"))
	if err := v.Verify(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 49)
	for range 49 {
		wg.Go(func() {
			mm := *m
			errs <- v.Verify(t.Context(), &mm)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := s.hitsFor("/SimpleNotificationService-abc.pem"); n != 1 {
		t.Errorf("50 verifications fetched the certificate %d times, want 1", n)
	}
}

func TestCertCacheBounded(t *testing.T) {
	s := newSNSServer(t)
	v := newVerifier(t, s, func(c *Config) { c.MaxCachedCerts = 2 })
	verify := func(name string) {
		t.Helper()
		m := notification("s")
		m.SigningCertURL = certURL(name)
		if err := v.Verify(t.Context(), signed(t, m)); err != nil {
			t.Fatal(err)
		}
		if n := v.cacheLen(); n > 2 {
			t.Fatalf("cache has %d entries, max 2", n)
		}
	}
	for _, name := range []string{"a", "b", "c", "c", "a", "c", "b", "a", "b"} {
		verify(name)
	}
	// FIFO: a b c (evict a) c a (evict b) c b (evict c) a (evict a... ) — count the fetches.
	// a: fetch; b: fetch; c: fetch, evicts a -> {b,c}; c: hit; a: fetch, evicts b -> {c,a}; c: hit;
	// b: fetch, evicts c -> {a,b}; a: hit; b: hit.
	want := map[string]int{"a": 2, "b": 2, "c": 1}
	for name, n := range want {
		if got := s.hitsFor(certPath(name)); got != n {
			t.Errorf("%s.pem fetched %d times, want %d", name, got, n)
		}
	}
	if len(v.order) != len(v.certs) {
		t.Errorf("order %d != certs %d", len(v.order), len(v.certs))
	}
}

func TestConfirm(t *testing.T) {
	t.Run("confirms on the SNS host", func(t *testing.T) {
		s := newSNSServer(t)
		v := newVerifier(t, s, nil)
		for _, version := range []string{"1", "2"} {
			m := confirmation(TypeSubscriptionConfirmation, subscribeToken)
			m.SignatureVersion = version
			if err := v.Confirm(t.Context(), signed(t, m)); err != nil {
				t.Fatalf("Confirm v%s: %v", version, err)
			}
		}
		if got := s.confirmed(); len(got) != 2 || got[0] != subscribeToken || got[1] != subscribeToken {
			t.Errorf("confirmed tokens %q", got)
		}
	})

	refused := []struct{ name, url string }{
		{"other host", "https://evil.com/?Action=ConfirmSubscription&TopicArn=" + topicA + "&Token=" + subscribeToken},
		{"suffix host", "https://sns.eu-west-1.amazonaws.com.evil.com/?Action=ConfirmSubscription&Token=" + subscribeToken},
		{"http", "http://" + host + "/?Action=ConfirmSubscription&TopicArn=" + topicA + "&Token=" + subscribeToken},
		{"port", "https://" + host + ":8443/?Action=ConfirmSubscription&TopicArn=" + topicA + "&Token=" + subscribeToken},
		{"userinfo", "https://u@" + host + "/?Action=ConfirmSubscription&TopicArn=" + topicA + "&Token=" + subscribeToken},
		{"not a URL", "https://" + host + "/%zz?Token=" + subscribeToken},
	}
	for _, tt := range refused {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			s := newSNSServer(t)
			v := newVerifier(t, s, nil)
			m := confirmation(TypeSubscriptionConfirmation, subscribeToken)
			m.SubscribeURL = tt.url // signed, so only the URL check can refuse it
			signed(t, m)
			if err := v.Verify(t.Context(), m); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			err := v.Confirm(t.Context(), m)
			if !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("Confirm = %v, want ErrInvalidSignature", err)
			}
			if strings.Contains(err.Error(), subscribeToken) {
				t.Errorf("error %q contains the token", err)
			}
			if n := s.totalHits() - s.hitsFor("/SimpleNotificationService-abc.pem"); n != 0 {
				t.Errorf("%d requests other than the certificate fetch", n)
			}
			if len(s.confirmed()) != 0 {
				t.Error("confirmed")
			}
		})
	}

	t.Run("non-2xx is ErrConfirmFailed", func(t *testing.T) {
		s := newSNSServer(t)
		v := newVerifier(t, s, nil)
		m := signed(t, confirmation(TypeSubscriptionConfirmation, "fail"))
		err := v.Confirm(t.Context(), m)
		if !errors.Is(err, ErrConfirmFailed) || !strings.Contains(err.Error(), "503") {
			t.Fatalf("Confirm = %v, want ErrConfirmFailed with the status", err)
		}
		if s.hitsFor("/") != 1 {
			t.Errorf("SubscribeURL called %d times", s.hitsFor("/"))
		}
	})

	t.Run("network failure is ErrConfirmFailed and does not leak the token", func(t *testing.T) {
		s := newSNSServer(t)
		v := newVerifier(t, s, nil)
		m := signed(t, confirmation(TypeSubscriptionConfirmation, subscribeToken))
		if err := v.Verify(t.Context(), m); err != nil { // caches the certificate
			t.Fatal(err)
		}
		s.Close()
		s.Client().CloseIdleConnections()
		err := v.Confirm(t.Context(), m)
		if !errors.Is(err, ErrConfirmFailed) {
			t.Fatalf("Confirm = %v, want ErrConfirmFailed", err)
		}
		if strings.Contains(err.Error(), subscribeToken) || strings.Contains(err.Error(), "Action=") {
			t.Errorf("error %q leaks the SubscribeURL query", err)
		}
	})

	t.Run("only verified SubscriptionConfirmations", func(t *testing.T) {
		s := newSNSServer(t)
		v := newVerifier(t, s, nil)
		tampered := signed(t, confirmation(TypeSubscriptionConfirmation, subscribeToken))
		tampered.Token = "other"
		cases := []struct {
			name   string
			m      *Message
			wantIs error
		}{
			{"nil", nil, ErrMalformed},
			{"notification", signed(t, notification("s")), ErrMalformed},
			{"unsubscribe confirmation", signed(t, confirmation(TypeUnsubscribeConfirmation, subscribeToken)), ErrMalformed},
			{"tampered", tampered, ErrInvalidSignature},
		}
		for _, c := range cases {
			if err := v.Confirm(t.Context(), c.m); !errors.Is(err, c.wantIs) {
				t.Errorf("%s: Confirm = %v, want %v", c.name, err, c.wantIs)
			}
		}
		if s.hitsFor("/") != 0 {
			t.Errorf("SubscribeURL called %d times", s.hitsFor("/"))
		}
	})
}

// No error text contains the Token, the Signature, the Message or a URL's query string.
func TestErrorsDoNotLeak(t *testing.T) {
	s := newSNSServer(t)
	v := newVerifier(t, s, nil)
	secretMessage := `{"merchantSecret":"` + strings.Repeat("s3cr3t", 4) + `"}`
	base := func() *Message {
		m := confirmation(TypeSubscriptionConfirmation, subscribeToken)
		m.Message = secretMessage
		return signed(t, m)
	}
	var errs []error
	for _, mod := range []func(*Message){
		func(m *Message) { m.Message += "x" },
		func(m *Message) { m.Token += "x" },
		func(m *Message) { m.SignatureVersion = "9" },
		func(m *Message) { m.Signature = "%" + m.Signature },
		func(m *Message) { m.SigningCertURL += "?Token=" + subscribeToken },
		func(m *Message) { m.SigningCertURL = "https://evil.com/x.pem?" + subscribeToken },
		func(m *Message) { m.SigningCertURL = certURL("missing") },
		func(m *Message) { m.SigningCertURL = certURL("notpem") },
		func(m *Message) { m.Timestamp = "not " + subscribeToken },
		func(m *Message) { m.Type = subscribeToken },
		func(m *Message) { m.TopicARN = subscribeToken },
	} {
		m := base()
		mod(m)
		errs = append(errs, v.Verify(t.Context(), m), v.Confirm(t.Context(), m))
	}
	fail := signed(t, confirmation(TypeSubscriptionConfirmation, "fail"))
	errs = append(errs, v.Confirm(t.Context(), fail))
	for _, f := range []string{"Token", "Signature", "Message", "SubscribeURL"} {
		b := body(with(confirmationFields(), f, 12345))
		_, err := Parse(b)
		errs = append(errs, err)
	}
	sig := base().Signature
	for i, err := range errs {
		if err == nil {
			t.Fatalf("case %d: no error", i)
		}
		for _, secret := range []string{subscribeToken, sig, secretMessage, "s3cr3t", "Action=ConfirmSubscription", "TopicArn="} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("case %d: error %q contains %q", i, err, secret)
			}
		}
	}
}

func BenchmarkVerifyCached(b *testing.B) {
	s := newSNSServer(b)
	v := newVerifier(b, s, nil)
	for _, version := range []string{"1", "2"} {
		b.Run("SignatureVersion"+version, func(b *testing.B) {
			m := notification("ChargeNotification")
			m.SignatureVersion = version
			signed(b, m)
			ctx := context.Background()
			if err := v.Verify(ctx, m); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Verify(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	if n := s.hitsFor("/SimpleNotificationService-abc.pem"); n != 1 {
		b.Errorf("certificate fetched %d times", n)
	}
}

func TestMaxAgeRefusesReplayedMessages(t *testing.T) {
	sent := time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC) // notification()'s Timestamp
	tests := []struct {
		name   string
		maxAge time.Duration
		now    time.Time
		wantIs error
	}{
		{"fresh", 24 * time.Hour, sent.Add(time.Minute), nil},
		{"just inside the age", 24 * time.Hour, sent.Add(24 * time.Hour), nil},
		{"older than the age: a replay", 24 * time.Hour, sent.Add(24*time.Hour + time.Second), ErrInvalidSignature},
		{"a little ahead of our clock", 24 * time.Hour, sent.Add(-MaxClockSkew), nil},
		{"far in the future", 24 * time.Hour, sent.Add(-MaxClockSkew - time.Second), ErrInvalidSignature},
		{"no age check", 0, sent.Add(365 * 24 * time.Hour), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSNSServer(t)
			v := newVerifier(t, s, func(c *Config) {
				c.MaxAge = tt.maxAge
				// The certificate is valid around the real clock; the age check reads this one.
				c.Now = func() time.Time { return tt.now }
			})
			m := signed(t, notification("s"))
			err := v.Verify(t.Context(), m)
			if tt.maxAge == 0 {
				// Without an age check the certificate's validity decides, at a year ahead: refused
				// for that reason, not for the age.
				if err != nil && strings.Contains(err.Error(), "old") {
					t.Fatalf("refused for its age without MaxAge: %v", err)
				}
				return
			}
			if tt.wantIs == nil {
				if err != nil && (strings.Contains(err.Error(), "old") || strings.Contains(err.Error(), "future")) {
					t.Fatalf("refused for its age: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("Verify = %v, want %v", err, tt.wantIs)
			}
			if s.totalHits() != 0 {
				t.Errorf("a stale message cost a certificate fetch")
			}
		})
	}
}
