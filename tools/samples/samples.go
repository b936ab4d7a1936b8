// Package samples makes the Shipping samples of events/ sendable today. Amazon's documented
// example of a usable OTP (events/shipping-otp-valid.json, and shipping-otp-accumulated.json) carries
// a verificationCodeTTL in 2099; the gateway quarantines an OTP valid longer than
// ShippingOtpMaxTtlDays after its receipt, so the tools that send a sample (make run's ready curl
// lines through tools/samplebody, make invoke, tools/localstack's invoke) first give each of its
// still-valid OTP entries a TTL an hour from now (Validity). An OTP that has already expired (the
// seed sample's, January 2024) stays expired, so the samples keep their meaning: the seed
// publishes Shipping OTP Expired On Arrival, the valid sample Shipping OTP Generated.
//
// The files themselves are left as Amazon documents them; only what is sent changes, and only
// the TTL's digits: the rest of the body is sent byte for byte.
package samples

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Validity is how long a refreshed OTP stays valid after it is sent.
const Validity = time.Hour

// ttlField is the OTP entry's expiry, epoch milliseconds (a number, or a string of digits).
const ttlField = "verificationCodeTTL"

// span is where one verificationCodeTTL value sits in a body.
type span struct {
	start, end int
	quoted     bool
	ms         int64
}

// RefreshBody returns body, a Shipping notification, with the verificationCodeTTL of every OTP
// entry (detail an object, or each object of a detail array) still valid at now set to ttl, in
// the form it had (a number, or a string of digits), and how many it set. Every other byte is
// kept. A body that is not such a notification (not JSON, no detail, a malformed sample meant to
// be quarantined) is returned as it is.
func RefreshBody(body []byte, now, ttl time.Time) ([]byte, int) {
	spans := ttlSpans(body)
	out, n := body, 0
	// From the last to the first, so that earlier offsets stay right.
	for i := len(spans) - 1; i >= 0; i-- {
		s := spans[i]
		if s.ms <= now.UnixMilli() {
			continue // expired: it stays expired
		}
		v := strconv.FormatInt(ttl.UnixMilli(), 10)
		if s.quoted {
			v = `"` + v + `"`
		}
		if n == 0 {
			out = bytes.Clone(body)
		}
		out = append(out[:s.start:s.start], append([]byte(v), out[s.end:]...)...)
		n++
	}
	return out, n
}

// ttlSpans finds the verificationCodeTTL values of body's detail entries whose value reads as
// epoch milliseconds. It finds none in a body that is not a JSON object.
func ttlSpans(body []byte) []span {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var spans []span
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil
		}
		if key != "detail" {
			if skip(dec) != nil {
				return nil
			}
			continue
		}
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		switch t {
		case json.Delim('{'):
			if entry(dec, body, &spans) != nil {
				return nil
			}
		case json.Delim('['):
			for dec.More() {
				t, err := dec.Token()
				if err != nil {
					return nil
				}
				switch t {
				case json.Delim('{'): // an entry
					if entry(dec, body, &spans) != nil {
						return nil
					}
				case json.Delim('['): // not an entry: skipped whole
					if skipOpened(dec) != nil {
						return nil
					}
				}
			}
			if _, err := dec.Token(); err != nil { // ]
				return nil
			}
		}
	}
	return spans
}

// entry reads the members of an object whose { dec has just read, recording where its
// verificationCodeTTL values are in body, and the closing }.
func entry(dec *json.Decoder, body []byte, spans *[]span) error {
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if key != ttlField {
			continue
		}
		// The value ends where the decoder stands, and raw is its text.
		end := int(dec.InputOffset())
		start := end - len(raw)
		if start < 0 || !bytes.Equal(body[start:end], raw) {
			return errors.New("value not where the decoder says")
		}
		s := span{start: start, end: end}
		digits := string(raw)
		if raw[0] == '"' {
			if json.Unmarshal(raw, &digits) != nil {
				continue
			}
			s.quoted = true
		}
		ms, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || ms <= 0 {
			continue // not epoch milliseconds: left for the gateway to judge
		}
		s.ms = ms
		*spans = append(*spans, s)
	}
	_, err := dec.Token() // }
	return err
}

// skip reads one whole value.
func skip(dec *json.Decoder) error {
	var raw json.RawMessage
	return dec.Decode(&raw)
}

// skipOpened reads the rest of an array or object whose opening dec has just read.
func skipOpened(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// event is the part of an API Gateway payload 2.0 event (a sample file) that holds the body.
type event struct {
	Body            *string `json:"body"`
	IsBase64Encoded bool    `json:"isBase64Encoded"`
}

// Body returns the request body of an API Gateway payload 2.0 event, base64-decoded when the
// event says so.
func Body(ev []byte) ([]byte, error) {
	var e event
	if err := json.Unmarshal(ev, &e); err != nil {
		return nil, fmt.Errorf("not an API Gateway payload 2.0 event: %w", err)
	}
	if e.Body == nil {
		return nil, errors.New("the event has no body")
	}
	if e.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(*e.Body)
		if err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
		return b, nil
	}
	return []byte(*e.Body), nil
}

// RefreshEvent is RefreshBody on the body of an API Gateway payload 2.0 event: the event comes
// back byte for byte but for its body's TTLs (unchanged when none was set), with the count set.
func RefreshEvent(ev []byte, now, ttl time.Time) ([]byte, int, error) {
	body, err := Body(ev)
	if err != nil {
		return nil, 0, err
	}
	fresh, n := RefreshBody(body, now, ttl)
	if n == 0 {
		return ev, 0, nil
	}
	var e event
	_ = json.Unmarshal(ev, &e) // Body read it
	text := string(fresh)
	if e.IsBase64Encoded {
		text = base64.StdEncoding.EncodeToString(fresh)
	}
	var enc bytes.Buffer
	je := json.NewEncoder(&enc)
	je.SetEscapeHTML(false)
	if err := je.Encode(text); err != nil {
		return nil, 0, err
	}
	encoded := bytes.TrimSuffix(enc.Bytes(), []byte("\n"))
	start, end, err := topLevelSpan(ev, "body")
	if err != nil {
		return nil, 0, err
	}
	out := make([]byte, 0, len(ev)+len(encoded)-(end-start))
	out = append(append(append(out, ev[:start]...), encoded...), ev[end:]...)
	return out, n, nil
}

// topLevelSpan is where the value of the top-level member name sits in the JSON object doc.
func topLevelSpan(doc []byte, name string) (start, end int, err error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, 0, errors.New("not a JSON object")
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return 0, 0, err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, 0, err
		}
		if key == name {
			end := int(dec.InputOffset())
			return end - len(raw), end, nil
		}
	}
	return 0, 0, io.ErrUnexpectedEOF
}
