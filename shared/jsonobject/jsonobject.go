// Package jsonobject reads JSON objects and arrays in one validating pass, without reflection,
// for the hot paths that encoding/json made several times slower than the work around them (the
// Lambda payload, the SNS message, APS and Shipping bodies). It also tells a caller when a name
// repeats, which json.Unmarshal would silently resolve to its last value.
//
// It is hand-written because encoding/json has no allocation-light way to split an object into its
// members (json.Unmarshal into map[string]json.RawMessage validates the text, then scans it again
// and copies every value). Its contract is encoding/json's: whatever it accepts, json.Unmarshal
// accepts and reads the same way (the fuzz tests compare the two); anything it is unsure of it
// declines (ok false), and the caller reads that input the slow, standard way.
package jsonobject

import (
	"encoding/json"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Members returns the members of body, a JSON object, with their values' exact text (slices of
// body: do not modify them); ok is false when body is not one object (null, trailing data, invalid
// JSON), repeats a name, or has a name with escapes or invalid UTF-8. Callers read such a body
// their slow way, which names the problem.
func Members(body []byte) (members map[string]json.RawMessage, ok bool) {
	members = make(map[string]json.RawMessage, 16)
	ok = Object(body, func(name []byte, v Value) bool {
		k := string(name)
		if _, repeated := members[k]; repeated {
			return false
		}
		members[k] = v.Raw
		return true
	})
	if !ok {
		return nil, false
	}
	return members, true
}

// Elements returns the elements of body, a JSON array, with their exact text (slices of body);
// ok is false when body is not one valid array.
func Elements(body []byte) (elements []json.RawMessage, ok bool) {
	s := scanner{b: body}
	s.space()
	if s.peek() != '[' {
		return nil, false
	}
	elements = []json.RawMessage{}
	ok = s.array(func(value []byte) { elements = append(elements, value) })
	if !ok || !s.end() {
		return nil, false
	}
	return elements, true
}

// Value is one member's value as Object found it.
type Value struct {
	// Raw is the value's exact text (a slice of the object's text: do not modify it).
	Raw   []byte
	plain bool // a string whose text is its value
}

// String returns the value of a JSON string as json.Unmarshal reads it; ok is false for any other
// JSON value. It does not scan the text again.
func (v Value) String() (string, bool) {
	switch {
	case len(v.Raw) == 0 || v.Raw[0] != '"':
		return "", false
	case v.plain:
		return string(v.Raw[1 : len(v.Raw)-1]), true
	default:
		return unquote(v.Raw[1 : len(v.Raw)-1]), true
	}
}

// Object calls member with each member of body, a JSON object, in order, in the same pass that
// checks body; ok is false when body is not one valid object, a name has escapes or invalid UTF-8,
// or member returns false. Repeated names are the caller's to notice.
func Object(body []byte, member func(name []byte, v Value) bool) (ok bool) {
	s := scanner{b: body}
	s.space()
	if s.peek() != '{' {
		return false
	}
	ok = s.object(func(name []byte, plain bool, value []byte) bool {
		return plain && member(name, Value{Raw: value, plain: s.plain})
	})
	return ok && s.end()
}

// String returns the value of raw, a JSON string, as json.Unmarshal reads it (escapes decoded,
// invalid UTF-8 and lone surrogates replaced with U+FFFD); ok is false when raw is not exactly one
// JSON string.
func String(raw []byte) (string, bool) {
	s := scanner{b: raw}
	if s.peek() != '"' {
		return "", false
	}
	plain, ok := s.str()
	if !ok || s.i != len(raw) {
		return "", false
	}
	if plain {
		return string(raw[1 : len(raw)-1]), true
	}
	return unquote(raw[1 : len(raw)-1]), true
}

// maxDepth bounds nesting (encoding/json allows 10000): deeper input is declined, not failed, so
// the slow path still decides it.
const maxDepth = 1000

// scanner checks JSON text with encoding/json's grammar (RFC 8259; strings may hold invalid UTF-8,
// which encoding/json accepts and replaces).
type scanner struct {
	b     []byte
	i     int
	depth int
	plain bool // the last value scanned was a string whose text is its value
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// end reports whether only white space follows.
func (s *scanner) end() bool {
	s.space()
	return s.i == len(s.b)
}

// value scans one value starting at s.i.
func (s *scanner) value() bool {
	s.plain = false
	switch c := s.peek(); {
	case c == '"':
		plain, ok := s.str()
		s.plain = plain
		return ok
	case c == '{':
		return s.object(nil)
	case c == '[':
		return s.array(nil)
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	}
	return false
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// object scans an object starting at its '{'; member, when not nil, is called with each name's
// text (without quotes), whether that text is the name itself (no escapes, valid UTF-8), and the
// value's text, and stops the scan by returning false.
func (s *scanner) object(member func(name []byte, plain bool, value []byte) bool) bool {
	if s.depth++; s.depth > maxDepth {
		return false
	}
	s.i++
	s.space()
	if s.peek() == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		if s.peek() != '"' {
			return false
		}
		start := s.i
		plain, ok := s.str()
		if !ok {
			return false
		}
		name := s.b[start+1 : s.i-1]
		s.space()
		if s.peek() != ':' {
			return false
		}
		s.i++
		s.space()
		vstart := s.i
		if !s.value() {
			return false
		}
		if member != nil && !member(name, plain, s.b[vstart:s.i]) {
			return false
		}
		s.space()
		switch s.peek() {
		case ',':
			s.i++
			s.space()
		case '}':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// array scans an array starting at its '['; element, when not nil, is called with each element's text.
func (s *scanner) array(element func(value []byte)) bool {
	if s.depth++; s.depth > maxDepth {
		return false
	}
	s.i++
	s.space()
	if s.peek() == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		start := s.i
		if !s.value() {
			return false
		}
		if element != nil {
			element(s.b[start:s.i])
		}
		s.space()
		switch s.peek() {
		case ',':
			s.i++
			s.space()
		case ']':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// str scans a string starting at its '"'; plain is true when its text is its value (no escapes,
// valid UTF-8).
func (s *scanner) str() (plain, ok bool) {
	s.i++
	plain = true
	ascii := true
	start := s.i
	for s.i < len(s.b) {
		// Most bytes are ordinary: skip them in a tight loop.
		for s.i < len(s.b) && ordinary[s.b[s.i]] {
			s.i++
		}
		if s.i == len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(s.b[start:s.i]) {
				plain = false
			}
			s.i++
			return plain, true
		case c == '\\':
			plain = false
			s.i++
			switch s.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if len(s.b)-s.i < 5 || !hex4(s.b[s.i+1:s.i+5]) {
					return false, false
				}
				s.i += 5
			default:
				return false, false
			}
		case c < ' ':
			return false, false
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
			s.i++
		}
	}
	return false, false
}

// ordinary are the bytes a string holds as they are: not '"', '\\', a control character or non-ASCII.
var ordinary = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func hex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return false
	}
	if s.peek() == '.' {
		s.i++
		if !s.digits() {
			return false
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// unquote decodes the text of a string the scanner accepted, as encoding/json does (its
// unquoteBytes): escapes decoded, a surrogate pair joined, a lone surrogate and every byte of
// invalid UTF-8 replaced with U+FFFD.
func unquote(s []byte) string {
	b := make([]byte, 0, len(s)+utf8.UTFMax)
	for r := 0; r < len(s); {
		switch c := s[r]; {
		case c == '\\':
			switch s[r+1] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr := u4(s[r+2:])
				r += 6
				if utf16.IsSurrogate(rr) {
					if r+6 <= len(s) && s[r] == '\\' && s[r+1] == 'u' {
						if dec := utf16.DecodeRune(rr, u4(s[r+2:])); dec != unicode.ReplacementChar {
							b = utf8.AppendRune(b, dec)
							r += 6
							continue
						}
					}
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
				continue
			default: // '"', '\\', '/'
				b = append(b, s[r+1])
			}
			r += 2
		case c < utf8.RuneSelf:
			n := r + 1
			for n < len(s) && ordinary[s[n]] {
				n++
			}
			b = append(b, s[r:n]...)
			r = n
		default:
			rr, size := utf8.DecodeRune(s[r:])
			b = utf8.AppendRune(b, rr)
			r += size
		}
	}
	return string(b)
}

// u4 reads the four hex digits the scanner checked.
func u4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
