package snstest_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
	"github.com/amazon-webhook-gateway/gateway/tests/snstest"
)

func TestServer(t *testing.T) {
	sns := snstest.NewServer(t)
	if got := sns.CertURL(); got != "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-7e57ce57ce57ce57ce57ce57ce57ce57.pem" {
		t.Errorf("CertURL = %s", got)
	}
	if sns.Key() == nil || sns.Key().N.BitLen() != 2048 {
		t.Fatal("Key is not RSA 2048")
	}
	v, err := snsverify.NewVerifier(snsverify.Config{TopicARNs: []string{snstest.TopicARN}, HTTPClient: sns.Client()})
	if err != nil {
		t.Fatal(err)
	}

	n := &snsverify.Message{Type: snsverify.TypeNotification, MessageID: "id-1", TopicARN: snstest.TopicARN,
		Message: `{"NotificationType":"ChargeNotification"}`, Timestamp: "2026-01-02T03:04:05.678Z"}
	sns.Sign(n)
	if n.SignatureVersion != "2" || n.SigningCertURL != sns.CertURL() || n.Signature == "" || n.MessageID != snstest.MessageID("id-1") {
		t.Fatalf("Sign left %+v", n)
	}
	body, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	m, err := snsverify.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(t.Context(), m); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	m.Message = `{"NotificationType":"RefundNotification"}`
	if err := v.Verify(t.Context(), m); !errors.Is(err, snsverify.ErrInvalidSignature) {
		t.Fatalf("tampered: %v", err)
	}

	v1 := &snsverify.Message{Type: snsverify.TypeNotification, MessageID: "id-2", TopicARN: snstest.TopicARN,
		Message: "x", Timestamp: "2026-01-02T03:04:05Z", SignatureVersion: "1"}
	sns.Sign(v1)
	if v1.SignatureVersion != "1" {
		t.Error("Sign replaced an explicit SignatureVersion")
	}
	if err := v.Verify(t.Context(), v1); err != nil {
		t.Fatalf("Verify v1: %v", err)
	}

	if got := sns.Confirmations(); len(got) != 0 {
		t.Fatalf("Confirmations before any: %q", got)
	}
	for _, token := range []string{"token-a", "token b&c=d"} {
		c := &snsverify.Message{Type: snsverify.TypeSubscriptionConfirmation, MessageID: "id-" + token, Token: token,
			TopicARN: snstest.TopicARN, Message: "You have chosen to subscribe.", SubscribeURL: sns.SubscribeURL(token),
			Timestamp: "2026-01-02T03:04:05.678Z"}
		sns.Sign(c)
		if err := v.Confirm(t.Context(), c); err != nil {
			t.Fatalf("Confirm: %v", err)
		}
	}
	if got := sns.Confirmations(); !slices.Equal(got, []string{"token-a", "token b&c=d"}) {
		t.Errorf("Confirmations = %q", got)
	}
}

func TestMessageID(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"},
		{"22B80B92-FDEA-4C2C-8F9D-BDFB0C7BF324", ""}, // not SNS's form: derived
		{"m-1", ""},
		{"", ""},
	} {
		got := snstest.MessageID(tc.name)
		if tc.want != "" && got != tc.want {
			t.Errorf("MessageID(%q) = %q, want %q", tc.name, got, tc.want)
		}
		if len(got) != 36 || got != snstest.MessageID(tc.name) || strings.ToLower(got) != got || strings.Count(got, "-") != 4 {
			t.Errorf("MessageID(%q) = %q: not a stable lower-case UUID", tc.name, got)
		}
	}
	if snstest.MessageID("a") == snstest.MessageID("b") {
		t.Error("two names, one MessageId")
	}
}
