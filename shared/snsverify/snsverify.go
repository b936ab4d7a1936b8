// Package snsverify parses and verifies Amazon SNS HTTP(S) messages (the way Amazon Pay India
// delivers Instant Payment Notifications), following AWS's "Verifying the signatures of Amazon SNS
// messages":
//
//   - the string to sign is built from the message's fields, each as "Name\nvalue\n", in a fixed
//     order that depends on Type (see [StringToSign]);
//   - SignatureVersion "1" is SHA1withRSA and "2" is SHA256withRSA (RSASSA-PKCS1-v1_5); anything
//     else is rejected;
//   - the signing certificate is fetched over HTTPS from SigningCertURL, which must be exactly
//     https://sns.<region>.amazonaws.com[.cn]/SimpleNotificationService-<hex>.pem with the region
//     (and partition) of the TopicArn; the body must be one PEM certificate naming an SNS host;
//     certificates are cached by that URL;
//   - only TopicArns on an allow-list are accepted;
//   - no field but Message may hold a control character (the string to sign separates fields with
//     "\n"), and MessageId must be SNS's lower-case UUID.
//
// [Sign] produces real signatures, so tests exercise the same code that runs in production.
//
// Errors wrap one of the sentinels below and never contain a Token, a Signature, Message contents or
// a URL's query string.
package snsverify

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// Message types SNS sends to HTTP(S) endpoints.
const (
	TypeNotification             = "Notification"
	TypeSubscriptionConfirmation = "SubscriptionConfirmation"
	TypeUnsubscribeConfirmation  = "UnsubscribeConfirmation"
)

var (
	// ErrMalformed: not a JSON object, a required field is missing or empty, a field is not a
	// string, a field appears twice, Type is unknown, Timestamp is not RFC 3339, MessageId is not a
	// lower-case UUID, or a field other than Message holds a control character. Answer 400.
	ErrMalformed = errors.New("snsverify: malformed SNS message")
	// ErrInvalidSignature: the signature does not verify, SignatureVersion is unsupported, the
	// certificate URL is not an SNS one, or the certificate is unusable (not PEM, not RSA, outside
	// its validity period). Answer 401.
	ErrInvalidSignature = errors.New("snsverify: invalid SNS signature")
	// ErrTopicNotAllowed: TopicArn is not on the allow-list (or, in set-up mode, no list). Answer 403.
	ErrTopicNotAllowed = errors.New("snsverify: SNS topic not allowed")
	// ErrCertificateUnavailable: the signing certificate could not be fetched (network, TLS,
	// non-200). Transient: answer 503 so that SNS retries.
	ErrCertificateUnavailable = errors.New("snsverify: SNS signing certificate unavailable")
	// ErrConfirmFailed: fetching a SubscribeURL failed (network, non-2xx). Transient: answer 503 so
	// that SNS redelivers the SubscriptionConfirmation.
	ErrConfirmFailed = errors.New("snsverify: SNS subscription confirmation failed")
)

// Message is an SNS HTTP(S) message. The JSON names are the ones SNS sends; Parse also accepts
// "SigningCertUrl" (the spelling of SNS events delivered to Lambda).
type Message struct {
	Type             string `json:"Type"`
	MessageID        string `json:"MessageId"`
	Token            string `json:"Token,omitempty"`
	TopicARN         string `json:"TopicArn"`
	Subject          string `json:"Subject,omitempty"`
	Message          string `json:"Message"`
	Timestamp        string `json:"Timestamp"`
	SignatureVersion string `json:"SignatureVersion"`
	Signature        string `json:"Signature"`
	SigningCertURL   string `json:"SigningCertURL"`
	SubscribeURL     string `json:"SubscribeURL,omitempty"`
	UnsubscribeURL   string `json:"UnsubscribeURL,omitempty"`
}

// field returns where the JSON member name goes and the field's canonical name, or nil for a
// member this package does not read (MessageAttributes and the like are ignored). Names are
// matched exactly, not case-insensitively as encoding/json would.
func (m *Message) field(name string) (*string, string) {
	switch name {
	case "Type":
		return &m.Type, name
	case "MessageId":
		return &m.MessageID, name
	case "Token":
		return &m.Token, name
	case "TopicArn":
		return &m.TopicARN, name
	case "Subject":
		return &m.Subject, name
	case "Message":
		return &m.Message, name
	case "Timestamp":
		return &m.Timestamp, name
	case "SignatureVersion":
		return &m.SignatureVersion, name
	case "Signature":
		return &m.Signature, name
	case "SigningCertURL", "SigningCertUrl":
		return &m.SigningCertURL, "SigningCertURL"
	case "SubscribeURL":
		return &m.SubscribeURL, name
	case "UnsubscribeURL":
		return &m.UnsubscribeURL, name
	}
	return nil, ""
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidSignature}, args...)...)
}

// Parse decodes an SNS HTTP(S) message body (bounded by the caller) and checks that every field
// required for its Type is present: for all types Type, MessageId, TopicArn, Message, Timestamp
// (RFC 3339), SignatureVersion, Signature and SigningCertURL; confirmations also need Token and
// SubscribeURL. MessageId must be a lower-case UUID, and no field but Message may hold a control
// character. A JSON null counts as absent. Members other than the SNS fields are ignored; a field
// given twice (including as both SigningCertURL and SigningCertUrl) is malformed. It does not verify
// the signature: call [Verifier.Verify]. Errors wrap ErrMalformed and name the field, never a value.
func Parse(body []byte) (*Message, error) {
	// Token by token, so that a repeated field is seen, and the first problem in the body's order
	// is the one named.
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, malformed("body is not a JSON object")
	}
	var m Message
	seen := make(map[string]bool, 12)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed("invalid JSON")
		}
		name, ok := tok.(string)
		if !ok {
			return nil, malformed("invalid JSON")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, malformed("invalid JSON")
		}
		dst, canon := m.field(name)
		if dst == nil {
			continue
		}
		if seen[canon] {
			return nil, malformed("field %s appears more than once", canon)
		}
		seen[canon] = true
		if string(raw) == "null" {
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return nil, malformed("field %s is not a string", canon)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, malformed("invalid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, malformed("data after the JSON object")
	}
	if err := validate(&m); err != nil {
		return nil, err
	}
	return &m, nil
}

func isConfirmation(typ string) bool {
	return typ == TypeSubscriptionConfirmation || typ == TypeUnsubscribeConfirmation
}

// validate checks the fields Parse requires.
func validate(m *Message) error {
	if m.Type == "" {
		return malformed("missing field Type")
	}
	if m.Type != TypeNotification && !isConfirmation(m.Type) {
		return malformed("unknown Type")
	}
	required := []struct{ name, value string }{
		{"MessageId", m.MessageID}, {"TopicArn", m.TopicARN}, {"Message", m.Message},
		{"Timestamp", m.Timestamp}, {"SignatureVersion", m.SignatureVersion},
		{"Signature", m.Signature}, {"SigningCertURL", m.SigningCertURL},
	}
	if isConfirmation(m.Type) {
		required = append(required, struct{ name, value string }{"Token", m.Token},
			struct{ name, value string }{"SubscribeURL", m.SubscribeURL})
	}
	for _, f := range required {
		if f.value == "" {
			return malformed("missing field %s", f.name)
		}
	}
	// The string to sign is "Name\nvalue\n" pairs: a line break moved into a field can re-split the
	// same signed text into different fields. Only Message may hold one (SNS allows any text there).
	for _, f := range []struct{ name, value string }{
		{"Type", m.Type}, {"MessageId", m.MessageID}, {"Token", m.Token}, {"TopicArn", m.TopicARN},
		{"Subject", m.Subject}, {"Timestamp", m.Timestamp}, {"SignatureVersion", m.SignatureVersion},
		{"Signature", m.Signature}, {"SigningCertURL", m.SigningCertURL}, {"SubscribeURL", m.SubscribeURL},
		{"UnsubscribeURL", m.UnsubscribeURL},
	} {
		if strings.IndexFunc(f.value, unicode.IsControl) >= 0 {
			return malformed("field %s holds a control character", f.name)
		}
	}
	if !messageIDPattern.MatchString(m.MessageID) {
		return malformed("field MessageId is not an SNS message id (a lower-case UUID)")
	}
	if _, err := time.Parse(time.RFC3339, m.Timestamp); err != nil {
		return malformed("field Timestamp is not RFC 3339")
	}
	return nil
}

// messageIDPattern is the form of every MessageId SNS sends.
var messageIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// SplitTopicARN splits an SNS topic ARN, arn:<partition>:sns:<region>:<account>:<name>. ok is
// false when arn does not have that shape (the parts are not otherwise checked).
func SplitTopicARN(arn string) (partition, region, account string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sns" || parts[1] == "" || parts[3] == "" || parts[4] == "" || parts[5] == "" {
		return "", "", "", false
	}
	return parts[1], parts[3], parts[4], true
}

// StringToSign builds the string SNS signs, each field as "Name\nvalue\n":
//
//   - Notification: Message, MessageId, Subject (only if non-empty), Timestamp, TopicArn, Type;
//   - SubscriptionConfirmation and UnsubscribeConfirmation: Message, MessageId, SubscribeURL,
//     Timestamp, Token, TopicArn, Type.
//
// It fails (ErrMalformed) for an unknown Type or a missing signed field.
func StringToSign(m *Message) (string, error) {
	if m == nil {
		return "", malformed("no message")
	}
	var fields []struct{ name, value string }
	switch {
	case m.Type == TypeNotification:
		fields = []struct{ name, value string }{
			{"Message", m.Message}, {"MessageId", m.MessageID}, {"Subject", m.Subject},
			{"Timestamp", m.Timestamp}, {"TopicArn", m.TopicARN}, {"Type", m.Type},
		}
	case isConfirmation(m.Type):
		fields = []struct{ name, value string }{
			{"Message", m.Message}, {"MessageId", m.MessageID}, {"SubscribeURL", m.SubscribeURL},
			{"Timestamp", m.Timestamp}, {"Token", m.Token}, {"TopicArn", m.TopicARN}, {"Type", m.Type},
		}
	case m.Type == "":
		return "", malformed("missing field Type")
	default:
		return "", malformed("unknown Type")
	}
	var b strings.Builder
	for _, f := range fields {
		if f.value == "" {
			if f.name == "Subject" {
				continue
			}
			return "", malformed("missing field %s", f.name)
		}
		b.Grow(len(f.name) + len(f.value) + 2)
		b.WriteString(f.name)
		b.WriteByte('\n')
		b.WriteString(f.value)
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// hashFor maps SignatureVersion to its digest.
func hashFor(version string) (crypto.Hash, error) {
	switch version {
	case "1":
		return crypto.SHA1, nil
	case "2":
		return crypto.SHA256, nil
	}
	return 0, invalid("unsupported SignatureVersion")
}

func digest(h crypto.Hash, s string) []byte {
	if h == crypto.SHA1 {
		d := sha1.Sum([]byte(s))
		return d[:]
	}
	d := sha256.Sum256([]byte(s))
	return d[:]
}

// Sign sets m.Signature to the base64 RSASSA-PKCS1-v1_5 signature of StringToSign(m), with SHA-1
// for SignatureVersion "1" and SHA-256 for "2" (any other version is an error wrapping
// ErrInvalidSignature). SigningCertURL is not signed: set it to where the key's certificate is.
func Sign(m *Message, key *rsa.PrivateKey) error {
	if m == nil || key == nil {
		return errors.New("snsverify: Sign needs a message and a key")
	}
	h, err := hashFor(m.SignatureVersion)
	if err != nil {
		return err
	}
	s, err := StringToSign(m)
	if err != nil {
		return err
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, h, digest(h, s))
	if err != nil {
		return fmt.Errorf("snsverify: signing: %w", err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	return nil
}
