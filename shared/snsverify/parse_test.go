package snsverify

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
)

// body renders fields as an SNS HTTP body (SNS pretty-prints with " : ").
func body(fields map[string]any) []byte {
	var b strings.Builder
	b.WriteString("{\n")
	first := true
	for _, k := range []string{"Type", "MessageId", "Token", "TopicArn", "Subject", "Message", "SubscribeURL",
		"Timestamp", "SignatureVersion", "Signature", "SigningCertURL", "SigningCertUrl", "UnsubscribeURL", "MessageAttributes"} {
		v, ok := fields[k]
		if !ok {
			continue
		}
		if !first {
			b.WriteString(",\n")
		}
		first = false
		kj, _ := json.Marshal(k)
		vj, _ := json.Marshal(v)
		b.WriteString("  " + string(kj) + " : " + string(vj))
	}
	b.WriteString("\n}\n")
	return []byte(b.String())
}

func notificationFields() map[string]any {
	return map[string]any{
		"Type":             "Notification",
		"MessageId":        "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
		"TopicArn":         topicA,
		"Subject":          "ChargeNotification",
		"Message":          `{"secret-message-content":"x"}`,
		"Timestamp":        "2012-05-02T00:54:06.655Z",
		"SignatureVersion": "1",
		"Signature":        "c2VjcmV0LXNpZ25hdHVyZQ==",
		"SigningCertURL":   certA,
		"UnsubscribeURL":   "https://" + host + "/?Action=Unsubscribe&SubscriptionArn=x",
	}
}

func confirmationFields() map[string]any {
	f := notificationFields()
	delete(f, "Subject")
	f["Type"] = "SubscriptionConfirmation"
	f["Token"] = subscribeToken
	f["SubscribeURL"] = subscribeURL(subscribeToken)
	return f
}

func with(f map[string]any, k string, v any) map[string]any {
	f = maps.Clone(f)
	f[k] = v
	return f
}

func without(f map[string]any, k string) map[string]any {
	f = maps.Clone(f)
	delete(f, k)
	return f
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want Message
	}{
		{"notification", body(notificationFields()), Message{
			Type: "Notification", MessageID: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", TopicARN: topicA,
			Subject: "ChargeNotification", Message: `{"secret-message-content":"x"}`, Timestamp: "2012-05-02T00:54:06.655Z",
			SignatureVersion: "1", Signature: "c2VjcmV0LXNpZ25hdHVyZQ==", SigningCertURL: certA,
			UnsubscribeURL: "https://" + host + "/?Action=Unsubscribe&SubscriptionArn=x",
		}},
		{"notification without Subject", body(without(notificationFields(), "Subject")), Message{
			Type: "Notification", MessageID: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", TopicARN: topicA,
			Message: `{"secret-message-content":"x"}`, Timestamp: "2012-05-02T00:54:06.655Z",
			SignatureVersion: "1", Signature: "c2VjcmV0LXNpZ25hdHVyZQ==", SigningCertURL: certA,
			UnsubscribeURL: "https://" + host + "/?Action=Unsubscribe&SubscriptionArn=x",
		}},
		{"null Subject is absent", body(with(without(notificationFields(), "UnsubscribeURL"), "Subject", nil)), Message{
			Type: "Notification", MessageID: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", TopicARN: topicA,
			Message: `{"secret-message-content":"x"}`, Timestamp: "2012-05-02T00:54:06.655Z",
			SignatureVersion: "1", Signature: "c2VjcmV0LXNpZ25hdHVyZQ==", SigningCertURL: certA,
		}},
		{"SigningCertUrl spelling and MessageAttributes", body(with(with(without(without(notificationFields(), "SigningCertURL"), "UnsubscribeURL"),
			"SigningCertUrl", certCN), "MessageAttributes", map[string]any{"a": map[string]string{"Type": "String", "Value": "1"}})), Message{
			Type: "Notification", MessageID: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", TopicARN: topicA,
			Subject: "ChargeNotification", Message: `{"secret-message-content":"x"}`, Timestamp: "2012-05-02T00:54:06.655Z",
			SignatureVersion: "1", Signature: "c2VjcmV0LXNpZ25hdHVyZQ==", SigningCertURL: certCN,
		}},
		{"subscription confirmation", body(without(confirmationFields(), "UnsubscribeURL")), Message{
			Type: "SubscriptionConfirmation", MessageID: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", TopicARN: topicA,
			Token: subscribeToken, SubscribeURL: subscribeURL(subscribeToken),
			Message: `{"secret-message-content":"x"}`, Timestamp: "2012-05-02T00:54:06.655Z",
			SignatureVersion: "1", Signature: "c2VjcmV0LXNpZ25hdHVyZQ==", SigningCertURL: certA,
		}},
		{"unsubscribe confirmation, timestamp without fraction", body(with(with(without(confirmationFields(), "UnsubscribeURL"),
			"Type", "UnsubscribeConfirmation"), "Timestamp", "2026-01-02T03:04:05+05:30")), Message{
			Type: "UnsubscribeConfirmation", MessageID: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", TopicARN: topicA,
			Token: subscribeToken, SubscribeURL: subscribeURL(subscribeToken),
			Message: `{"secret-message-content":"x"}`, Timestamp: "2026-01-02T03:04:05+05:30",
			SignatureVersion: "1", Signature: "c2VjcmV0LXNpZ25hdHVyZQ==", SigningCertURL: certA,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(tt.body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if *m != tt.want {
				t.Errorf("Parse =\n%+v\nwant\n%+v", *m, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	type tc struct {
		name      string
		body      []byte
		wantField string // the error must name it
	}
	tests := []tc{
		{"empty", nil, ""},
		{"not JSON", []byte("Type=Notification"), ""},
		{"JSON array", []byte(`[{"Type":"Notification"}]`), ""},
		{"JSON string", []byte(`"Notification"`), ""},
		{"truncated", body(notificationFields())[:40], ""},
		{"trailing data", append(body(notificationFields()), []byte("{}")...), ""},
		{"two objects", append(body(notificationFields()), body(notificationFields())...), ""},
		{"unknown Type", body(with(notificationFields(), "Type", "Notice")), "Type"},
		{"Type in lower case", body(with(notificationFields(), "Type", "notification")), "Type"},
		{"bad Timestamp", body(with(notificationFields(), "Timestamp", "2012-05-02 00:54:06")), "Timestamp"},
		{"Timestamp not a date", body(with(notificationFields(), "Timestamp", "yesterday")), "Timestamp"},
		{"number field", body(with(notificationFields(), "MessageId", 42)), "MessageId"},
		{"object Message", body(with(notificationFields(), "Message", map[string]string{"a": "b"})), "Message"},
		{"duplicate field", []byte(strings.Replace(string(body(notificationFields())), "{\n", "{\n  \"TopicArn\" : \"arn:aws:sns:eu-west-1:1:x\",\n", 1)), "TopicArn"},
		{"both cert URL spellings", body(with(notificationFields(), "SigningCertUrl", certA)), "SigningCertURL"},
		{"empty SignatureVersion", body(with(notificationFields(), "SignatureVersion", "")), "SignatureVersion"},
		{"null Message", body(with(notificationFields(), "Message", nil)), "Message"},
		{"field name in lower case", body(with(without(notificationFields(), "MessageId"), "messageid", "x")), "MessageId"},
	}
	for _, f := range []string{"Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL"} {
		tests = append(tests, tc{"notification missing " + f, body(without(notificationFields(), f)), f})
		tests = append(tests, tc{"confirmation missing " + f, body(without(confirmationFields(), f)), f})
		tests = append(tests, tc{"notification empty " + f, body(with(notificationFields(), f, "")), f})
	}
	for _, f := range []string{"Token", "SubscribeURL"} {
		tests = append(tests, tc{"subscription confirmation missing " + f, body(without(confirmationFields(), f)), f})
		tests = append(tests, tc{"unsubscribe confirmation missing " + f, body(without(with(confirmationFields(), "Type", "UnsubscribeConfirmation"), f)), f})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(tt.body)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse = %+v, %v; want ErrMalformed", m, err)
			}
			if m != nil {
				t.Errorf("Parse returned a message with an error")
			}
			if tt.wantField != "" && !strings.Contains(err.Error(), tt.wantField) {
				t.Errorf("error %q does not name field %s", err, tt.wantField)
			}
			for _, secret := range []string{subscribeToken, "c2VjcmV0LXNpZ25hdHVyZQ==", "secret-message-content", "Action=", "Notice", "yesterday"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q quotes a value (%s)", err, secret)
				}
			}
		})
	}
}

// The strings AWS documents, written out by hand.
func TestStringToSign(t *testing.T) {
	conf := confirmation(TypeSubscriptionConfirmation, subscribeToken)
	unsub := confirmation(TypeUnsubscribeConfirmation, subscribeToken)
	tests := []struct {
		name string
		m    *Message
		want string
	}{
		{"notification with Subject", notification("ChargeNotification"), "Message\n" + notification("").Message + "\n" +
			"MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nSubject\nChargeNotification\nTimestamp\n2026-01-02T03:04:05.678Z\n" +
			"TopicArn\n" + topicA + "\nType\nNotification\n"},
		{"notification without Subject", notification(""), "Message\n" + notification("").Message + "\n" +
			"MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nTimestamp\n2026-01-02T03:04:05.678Z\n" +
			"TopicArn\n" + topicA + "\nType\nNotification\n"},
		{"subscription confirmation", conf, "Message\n" + conf.Message + "\nMessageId\n165545c9-2a5c-472c-8df2-7ff2be2b3b1b\n" +
			"SubscribeURL\n" + subscribeURL(subscribeToken) + "\nTimestamp\n2026-01-02T03:04:05.678Z\nToken\n" + subscribeToken + "\n" +
			"TopicArn\n" + topicA + "\nType\nSubscriptionConfirmation\n"},
		{"unsubscribe confirmation", unsub, "Message\n" + unsub.Message + "\nMessageId\n165545c9-2a5c-472c-8df2-7ff2be2b3b1b\n" +
			"SubscribeURL\n" + subscribeURL(subscribeToken) + "\nTimestamp\n2026-01-02T03:04:05.678Z\nToken\n" + subscribeToken + "\n" +
			"TopicArn\n" + topicA + "\nType\nUnsubscribeConfirmation\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := StringToSign(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("StringToSign =\n%q\nwant\n%q", got, tt.want)
			}
			// Sign signs exactly that string, checked with crypto/rsa directly.
			for _, v := range []struct {
				version string
				h       crypto.Hash
				sum     func(string) []byte
			}{
				{"1", crypto.SHA1, func(s string) []byte { d := sha1.Sum([]byte(s)); return d[:] }},
				{"2", crypto.SHA256, func(s string) []byte { d := sha256.Sum256([]byte(s)); return d[:] }},
			} {
				m := *tt.m
				m.SignatureVersion = v.version
				if err := Sign(&m, testKey()); err != nil {
					t.Fatal(err)
				}
				sig, err := base64.StdEncoding.DecodeString(m.Signature)
				if err != nil {
					t.Fatal(err)
				}
				if err := rsa.VerifyPKCS1v15(&testKey().PublicKey, v.h, v.sum(tt.want), sig); err != nil {
					t.Errorf("v%s: signature is not over the documented string: %v", v.version, err)
				}
			}
		})
	}

	bad := []struct {
		name string
		mod  func(*Message)
	}{
		{"unknown Type", func(m *Message) { m.Type = "Other" }},
		{"no Type", func(m *Message) { m.Type = "" }},
		{"no Message", func(m *Message) { m.Message = "" }},
		{"no Token", func(m *Message) { m.Token = "" }},
		{"no SubscribeURL", func(m *Message) { m.SubscribeURL = "" }},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			m := confirmation(TypeSubscriptionConfirmation, subscribeToken)
			tt.mod(m)
			if _, err := StringToSign(m); !errors.Is(err, ErrMalformed) {
				t.Errorf("StringToSign: %v, want ErrMalformed", err)
			}
		})
	}
	if _, err := StringToSign(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("StringToSign(nil): %v", err)
	}
}

func TestSignRejects(t *testing.T) {
	for _, version := range []string{"", "3", "2 ", "SHA256"} {
		m := notification("")
		m.SignatureVersion = version
		if err := Sign(m, testKey()); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("Sign with SignatureVersion %q: %v, want ErrInvalidSignature", version, err)
		}
		if m.Signature != "" {
			t.Errorf("Sign with SignatureVersion %q set a signature", version)
		}
	}
	if err := Sign(notification(""), nil); err == nil {
		t.Error("Sign with no key succeeded")
	}
	if err := Sign(nil, testKey()); err == nil {
		t.Error("Sign(nil) succeeded")
	}
}
