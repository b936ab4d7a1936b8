package shipping

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// strayCodeName is the member stripCodes removes, matched case-insensitively (strings.EqualFold,
// which is also how encoding/json matches a struct field). No rune outside ASCII folds to one of its
// letters, so a name that matches is spelt in ASCII letters, literally or through \u escapes.
const strayCodeName = "verificationCode"

// The errors stripCodes returns. Their text is a FieldError Problem for the entry, fixed so that
// it never carries a value (let alone a code) from the entry.
var (
	errRepeatedName = errors.New("repeats a member name and holds a verificationCode to remove")
	errNotJSON      = errors.New("must be a JSON value")
)

// stripCodes removes from raw, a detail entry that is not an OTP entry, every member named
// verificationCode in any case at any depth (in nested objects and in objects inside arrays), so
// that an OTP sent where the gateway does not expect one is neither stored nor published.
//
// When raw has no such member, out is raw itself (the same bytes, not re-encoded) and stripped is 0.
// Otherwise out is raw with those members cut out, together with the comma that separated each from
// its neighbour: every other byte (member order, number text, string escapes, spacing) is as sent.
// stripped counts the members removed (one removed member's own nested codes go with it, uncounted).
//
// err is errNotJSON when raw is not one JSON value, and errRepeatedName when raw holds a code and
// repeats a member name anywhere: readers disagree on which of the repeated members counts
// (encoding/json keeps the last, silently), so what the rewritten entry means cannot be vouched for.
// An entry that repeats a name but holds no code comes back unchanged. Neither error names anything
// from the entry.
//
// It reads raw with encoding/json's Decoder.Token, using the decoder's offsets to know what to cut.
func stripCodes(raw json.RawMessage) (out json.RawMessage, stripped int, err error) {
	if !mayHoldCode(raw) {
		if !json.Valid(raw) {
			return nil, 0, errNotJSON
		}
		return raw, 0, nil
	}
	w := stripWalk{raw: raw, dec: json.NewDecoder(bytes.NewReader(raw))}
	w.dec.UseNumber()
	tok, err := w.dec.Token()
	if err != nil {
		return nil, 0, errNotJSON
	}
	if err := w.value(tok); err != nil {
		return nil, 0, errNotJSON
	}
	if _, err := w.dec.Token(); err != io.EOF {
		return nil, 0, errNotJSON // trailing data: a second value, or not JSON
	}
	if w.stripped == 0 {
		return raw, 0, nil
	}
	if w.repeated {
		return nil, 0, errRepeatedName
	}
	out = make(json.RawMessage, 0, len(raw))
	at := int64(0)
	for _, c := range w.cuts {
		out = append(out, raw[at:c.from]...)
		at = c.to
	}
	out = append(out, raw[at:]...)
	return out, w.stripped, nil
}

// mayHoldCode is false when no member name of raw can be verificationCode in any case: the name
// appears nowhere in the text (ASCII case-insensitively) and no \u escape could spell it.
func mayHoldCode(raw []byte) bool {
	if bytes.Contains(raw, []byte(`\u`)) {
		return true
	}
	n := len(strayCodeName)
	for i := 0; i+n <= len(raw); i++ {
		// |0x20 lower-cases an ASCII letter, and maps no other byte to one.
		if raw[i]|0x20 == 'v' && bytes.EqualFold(raw[i:i+n], []byte(strayCodeName)) {
			return true
		}
	}
	return false
}

// stripWalk is one token walk of stripCodes over raw.
type stripWalk struct {
	raw      []byte
	dec      *json.Decoder
	cuts     []span // byte ranges of raw to leave out, in order, not overlapping
	stripped int
	repeated bool // an object somewhere repeats a member name
}

// span is the bytes raw[from:to].
type span struct{ from, to int64 }

// value walks the value that begins with tok, already read.
func (w *stripWalk) value(tok json.Token) error {
	switch tok {
	case json.Delim('{'):
		return w.object()
	case json.Delim('['):
		for w.dec.More() {
			t, err := w.dec.Token()
			if err != nil {
				return err
			}
			if err := w.value(t); err != nil {
				return err
			}
		}
		_, err := w.dec.Token() // ']'
		return err
	}
	return nil
}

// object walks an object's members after its '{'. A member to remove is cut from the end of what
// precedes it (the '{' or the previous member's value) to the end of its value, which takes the
// comma before it along, and replaces any cut made inside its value. When removed members lead the
// object, the comma before the first member kept is cut as well.
func (w *stripWalk) object() error {
	names := map[string]struct{}{}
	prevEnd := w.dec.InputOffset() // just after '{'
	kept, leadingCut := false, false
	for w.dec.More() {
		t, err := w.dec.Token()
		if err != nil {
			return err
		}
		name, ok := t.(string)
		if !ok {
			return errNotJSON
		}
		nameEnd := w.dec.InputOffset()
		if _, seen := names[name]; seen {
			w.repeated = true
		}
		names[name] = struct{}{}
		code := strings.EqualFold(name, strayCodeName)
		if !code && !kept && leadingCut {
			// Between the last value cut and this name: spaces, one comma, spaces, the name's quote.
			comma := int64(bytes.IndexByte(w.raw[prevEnd:nameEnd], ','))
			if comma < 0 {
				return errNotJSON
			}
			w.cuts = append(w.cuts, span{prevEnd, prevEnd + comma + 1})
		}
		firstCut, strippedBefore := len(w.cuts), w.stripped
		if t, err = w.dec.Token(); err != nil {
			return err
		}
		if err := w.value(t); err != nil {
			return err
		}
		end := w.dec.InputOffset()
		if code {
			// Its own cuts and codes go with it.
			w.cuts = append(w.cuts[:firstCut], span{prevEnd, end})
			w.stripped = strippedBefore + 1
			leadingCut = leadingCut || !kept
		} else {
			kept = true
		}
		prevEnd = end
	}
	_, err := w.dec.Token() // '}'
	return err
}
