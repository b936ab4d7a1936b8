// Package jsonobject reads a flat JSON object in one json.Unmarshal, for parsers that must see a
// repeated name (which json.Unmarshal would resolve to its last value) and that read token by
// token otherwise: the token reading is several times slower and allocates per token.
package jsonobject

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Members returns the members of body, a JSON object, with their values' exact text; ok is false
// when body is not one object (null, trailing data, invalid JSON) or repeats a name. Callers read
// such a body their slow way, which names the problem.
func Members(body []byte) (members map[string]json.RawMessage, ok bool) {
	if err := json.Unmarshal(body, &members); err != nil || members == nil || len(members) != count(body) {
		return nil, false
	}
	return members, true
}

// String returns the value of raw, a JSON string that json.Unmarshal has checked: without
// escapes, and in valid UTF-8, its text is its value; otherwise it is decoded (json.Unmarshal
// replaces invalid UTF-8 with U+FFFD, and so must this, or a value would not survive a round trip).
func String(raw json.RawMessage) (string, bool) {
	if len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// count counts the members of the valid JSON object body: its commas outside strings and nested
// values, plus one unless it is empty.
func count(body []byte) int {
	n, depth, inString, empty := 0, 0, false, true
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case inString:
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			continue
		case c == '}' || c == ']':
			depth--
			continue
		case c == ',' && depth == 1:
			n++
		}
		if depth == 1 && c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			empty = false
		}
	}
	if empty {
		return 0
	}
	return n + 1
}
