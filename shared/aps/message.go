// Package aps receives Amazon Payment Services (APS) webhooks — Direct Transaction Feedback and
// Notification Feedback — verifies their SHA-phrase signature and re-emits normalised events.
package aps

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
)

// Media types APS may post; anything else is answered 415.
const (
	MediaJSON = "application/json"
	MediaForm = "application/x-www-form-urlencoded"
)

const (
	maxParams     = 200
	maxValueBytes = 8 << 10
)

// FieldError names the parameter that failed validation.
type FieldError = pipeline.FieldError

var fieldErr = pipeline.Fieldf

// ParseParams turns a body into the flat parameter map that APS signed. JSON values that are not
// strings keep their JSON text (1000, true), which is what APS's own JSON serialiser signs.
func ParseParams(mediaType string, body []byte) (map[string]string, error) {
	var params map[string]string
	var err error
	switch mediaType {
	case MediaJSON:
		params, err = jsonParams(body)
	case MediaForm:
		params, err = formParams(body)
	default:
		return nil, fmt.Errorf("aps: unsupported media type %q", mediaType)
	}
	if err != nil {
		return nil, err
	}
	if len(params) == 0 {
		return nil, fieldErr("body", "holds no parameters")
	}
	if len(params) > maxParams {
		return nil, fieldErr("body", "holds more than %d parameters", maxParams)
	}
	return params, nil
}

// add stores one parameter, refusing what the signature cannot cover unambiguously: an empty
// name, a repeated name, text that is not UTF-8, an oversized value.
func add(params map[string]string, k, v string) error {
	switch {
	case k == "":
		return fieldErr("body", "holds a parameter with an empty name")
	case !utf8.ValidString(k):
		return fieldErr("body", "holds a parameter name that is not UTF-8")
	case len(params) >= maxParams:
		return fieldErr("body", "holds more than %d parameters", maxParams)
	}
	if _, dup := params[k]; dup {
		return fieldErr(k, "appears more than once")
	}
	if !utf8.ValidString(v) {
		return fieldErr(k, "must be UTF-8 encoded")
	}
	if len(v) > maxValueBytes {
		return fieldErr(k, "is longer than %d bytes", maxValueBytes)
	}
	params[k] = v
	return nil
}

// jsonParams reads a flat JSON object token by token, so a repeated name is seen rather than
// silently resolved to its last value, and the first problem in the body's order is the one named.
func jsonParams(body []byte) (map[string]string, error) {
	if !utf8.Valid(body) {
		return nil, fieldErr("body", "must be UTF-8 encoded")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	notObject := fieldErr("body", "must be a JSON object")
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, notObject
	}
	params := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, notObject
		}
		k, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, notObject
		}
		if k == "" {
			return nil, fieldErr("body", "holds a parameter with an empty name")
		}
		v, err := jsonValue(raw)
		if err != nil {
			return nil, fieldErr(k, "%s", err)
		}
		if err := add(params, k, v); err != nil {
			return nil, err
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, notObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fieldErr("body", "holds data after the JSON object")
	}
	return params, nil
}

func formParams(body []byte) (map[string]string, error) {
	if !utf8.Valid(body) {
		return nil, fieldErr("body", "must be UTF-8 encoded")
	}
	// A semicolon is no separator (as in net/url); refusing it keeps "a=1;b=2" from being read
	// differently here and by whoever signed it.
	if bytes.IndexByte(body, ';') >= 0 {
		return nil, fieldErr("body", "is not valid form encoding (semicolon)")
	}
	// Sized for its pairs up front, within the bound add enforces.
	params := make(map[string]string, min(bytes.Count(body, []byte("&"))+1, maxParams))
	for rest := string(body); rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if pair == "" {
			continue
		}
		rawK, rawV, _ := strings.Cut(pair, "=")
		k, err1 := url.QueryUnescape(rawK)
		v, err2 := url.QueryUnescape(rawV)
		if err1 != nil || err2 != nil {
			return nil, fieldErr("body", "is not valid form encoding")
		}
		if err := add(params, k, v); err != nil {
			return nil, err
		}
	}
	return params, nil
}

func jsonValue(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return "", fmt.Errorf("is empty")
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("is not a valid string")
		}
		return s, nil
	case raw[0] == '{' || raw[0] == '[':
		return "", fmt.Errorf("must be a string or a number, not an object or array")
	case bytes.Equal(raw, []byte("null")):
		return "", nil
	default:
		return string(raw), nil
	}
}

// Validate checks the parameters the gateway relies on, after the signature has been verified.
func Validate(p map[string]string) error {
	for _, f := range []string{"merchant_identifier", "access_code"} {
		if p[f] == "" {
			return fieldErr(f, "is required")
		}
	}
	if p["status"] == "" && p["response_code"] == "" {
		return fieldErr("status", "status or response_code is required")
	}
	if s := p["status"]; s != "" && !digits(s, 2, 2) {
		return fieldErr("status", "must be 2 digits")
	}
	if c := p["response_code"]; c != "" {
		if !digits(c, 5, 5) {
			return fieldErr("response_code", "must be 5 digits")
		}
		if s := p["status"]; s != "" && !strings.HasPrefix(c, s) {
			return fieldErr("response_code", "does not start with status %s", s)
		}
	}
	if a := p["amount"]; a != "" {
		if !digits(a, 1, 18) {
			return fieldErr("amount", "must be a whole number of minor units")
		}
		if p["currency"] == "" {
			return fieldErr("currency", "is required with amount")
		}
	}
	if c := p["currency"]; c != "" && !upperLetters(c, 3) {
		return fieldErr("currency", "must be an ISO 4217 code of 3 upper-case letters")
	}
	return nil
}

func digits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil && !strings.ContainsAny(s, "+-")
}

func upperLetters(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}
