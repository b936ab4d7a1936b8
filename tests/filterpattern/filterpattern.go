// Package filterpattern evaluates CloudWatch Logs JSON filter patterns against log events, so
// that tests can hold each metric filter of template.yaml to the log line it must count.
//
// It implements the JSON subset of the syntax as AWS documents it ("Filter pattern syntax for
// metric filters ...", section "Matching terms in JSON log events":
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html, and
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/matching-terms-json-log-events.html):
//
//   - a pattern is one expression in braces: { EXPR }
//   - selectors start at the root $ and step into properties (.name, letters, digits, '-', '_')
//     and array elements ([N], after a property): $.a.b[0][1].c
//   - SELECTOR = VALUE and SELECTOR != VALUE, where VALUE is a quoted string, or unquoted when it
//     is alphanumeric (and '.', '-', '+', '_', '*'); a '*' at the start and/or the end of the value
//     is a wildcard ("*Event", "Event*", "*"); one inside it is a literal '*'. An unquoted number
//     compares numerically with a number; otherwise values compare as text, case-sensitively.
//   - SELECTOR <, >, <=, >= NUMBER (an optionally signed integer or decimal, with an optional
//     exponent), against numbers only
//   - SELECTOR IS TRUE, IS FALSE, IS NULL, and SELECTOR NOT EXISTS
//   - && and ||, with parentheses; precedence () > && > ||
//
// As documented, a comparison (=, != and the numeric ones) holds only when the selector reaches a
// value node, a string or a number: on a missing field, an object, an array, a boolean or null,
// both = and != are false. A log event that is not a JSON object matches no JSON pattern.
//
// Text patterns, space-delimited patterns and %regex% are not implemented: Parse rejects them,
// so a metric filter using them fails its test until this package learns them.
package filterpattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Pattern is a parsed JSON filter pattern.
type Pattern struct{ root expr }

// Parse reads a JSON filter pattern: { EXPR }.
func Parse(pattern string) (*Pattern, error) {
	toks, err := lex(pattern)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if !p.accept(tokLBrace) {
		return nil, errors.New("filterpattern: a JSON filter pattern starts with {")
	}
	root, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if !p.accept(tokRBrace) {
		return nil, fmt.Errorf("filterpattern: %s where } or an operator was expected", p.peek())
	}
	if p.peek().kind != tokEOF {
		return nil, fmt.Errorf("filterpattern: %s after the closing }", p.peek())
	}
	return &Pattern{root: root}, nil
}

// Match reports whether the log event (one line, as CloudWatch receives it) matches.
func (p *Pattern) Match(event string) bool {
	dec := json.NewDecoder(strings.NewReader(event))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return false
	}
	// One JSON value and nothing else: "{...} trailing" is not a JSON event.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return false
	}
	if _, ok := doc.(map[string]any); !ok {
		return false
	}
	return p.root.eval(doc)
}

// String is the pattern in a canonical form that Parse reads back to the same pattern.
func (p *Pattern) String() string { return "{ " + p.root.String() + " }" }

type expr interface {
	eval(doc any) bool
	String() string
}

type orExpr struct{ l, r expr }
type andExpr struct{ l, r expr }

func (e orExpr) eval(doc any) bool  { return e.l.eval(doc) || e.r.eval(doc) }
func (e andExpr) eval(doc any) bool { return e.l.eval(doc) && e.r.eval(doc) }
func (e orExpr) String() string     { return "(" + e.l.String() + " || " + e.r.String() + ")" }
func (e andExpr) String() string    { return "(" + e.l.String() + " && " + e.r.String() + ")" }

// step is one selector step: a property name, or an array index when name is "".
type step struct {
	name  string
	index int
}

type selector []step

func (s selector) String() string {
	var b strings.Builder
	b.WriteString("$")
	for _, st := range s {
		if st.name != "" {
			b.WriteString("." + st.name)
		} else {
			fmt.Fprintf(&b, "[%d]", st.index)
		}
	}
	return b.String()
}

// resolve walks the selector; ok is false when a step is missing or of the wrong kind.
func (s selector) resolve(doc any) (v any, ok bool) {
	v = doc
	for _, st := range s {
		if st.name != "" {
			m, isMap := v.(map[string]any)
			if !isMap {
				return nil, false
			}
			if v, ok = m[st.name]; !ok {
				return nil, false
			}
			continue
		}
		a, isArr := v.([]any)
		if !isArr || st.index >= len(a) {
			return nil, false
		}
		v = a[st.index]
	}
	return v, true
}

// compare is SELECTOR OP VALUE.
type compare struct {
	sel    selector
	op     string
	value  string
	quoted bool
	// num is set when value is an unquoted number.
	num *float64
}

func (c compare) String() string {
	v := c.value
	if c.quoted {
		// Only '"' and '\' are escaped: the lexer reads any other byte inside quotes as itself.
		v = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
	}
	return c.sel.String() + " " + c.op + " " + v
}

func (c compare) eval(doc any) bool {
	v, ok := c.sel.resolve(doc)
	if !ok {
		return false
	}
	var text string
	switch n := v.(type) {
	case string:
		text = n
	case json.Number:
		if c.num != nil {
			f, err := strconv.ParseFloat(n.String(), 64)
			if err != nil {
				return false
			}
			return compareNumbers(f, c.op, *c.num)
		}
		text = n.String()
	default: // object, array, boolean, null: not a value node
		return false
	}
	switch c.op {
	case "=":
		return wildcardMatch(c.value, text)
	case "!=":
		return !wildcardMatch(c.value, text)
	}
	return false // ordering operators compare numbers only
}

func compareNumbers(a float64, op string, b float64) bool {
	switch op {
	case "=":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	case ">":
		return a > b
	case "<=":
		return a <= b
	case ">=":
		return a >= b
	}
	return false
}

// wildcardMatch: a '*' at the start or end matches any text there; "*" alone matches any value.
func wildcardMatch(pattern, text string) bool {
	if pattern == "*" {
		return true
	}
	core, anyBefore := strings.CutPrefix(pattern, "*")
	core, anyAfter := strings.CutSuffix(core, "*")
	switch {
	case anyBefore && anyAfter:
		return strings.Contains(text, core)
	case anyBefore:
		return strings.HasSuffix(text, core)
	case anyAfter:
		return strings.HasPrefix(text, core)
	}
	return text == pattern
}

// is is SELECTOR IS TRUE|FALSE|NULL, or SELECTOR NOT EXISTS (what "NOT EXISTS").
type is struct {
	sel  selector
	what string
}

func (e is) String() string {
	if e.what == "NOT EXISTS" {
		return e.sel.String() + " NOT EXISTS"
	}
	return e.sel.String() + " IS " + e.what
}

func (e is) eval(doc any) bool {
	v, ok := e.sel.resolve(doc)
	switch e.what {
	case "NOT EXISTS":
		return !ok
	case "NULL":
		return ok && v == nil
	case "TRUE":
		return ok && v == true
	case "FALSE":
		return ok && v == false
	}
	return false
}

// Lexer.

type tokKind int

const (
	tokEOF tokKind = iota
	tokLBrace
	tokRBrace
	tokLParen
	tokRParen
	tokAnd
	tokOr
	tokOp       // = != < > <= >=
	tokSelector // $...
	tokString   // "..."
	tokWord     // unquoted value or keyword
)

type token struct {
	kind tokKind
	text string
}

func (t token) String() string {
	if t.kind == tokEOF {
		return "the end of the pattern"
	}
	return strconv.Quote(t.text)
}

// bareChars may appear in an unquoted value.
func bareChar(r byte) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.IndexByte("._-+*", r) >= 0
}

func nameChar(r byte) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
}

func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '{':
			toks, i = append(toks, token{tokLBrace, "{"}), i+1
		case c == '}':
			toks, i = append(toks, token{tokRBrace, "}"}), i+1
		case c == '(':
			toks, i = append(toks, token{tokLParen, "("}), i+1
		case c == ')':
			toks, i = append(toks, token{tokRParen, ")"}), i+1
		case strings.HasPrefix(s[i:], "&&"):
			toks, i = append(toks, token{tokAnd, "&&"}), i+2
		case strings.HasPrefix(s[i:], "||"):
			toks, i = append(toks, token{tokOr, "||"}), i+2
		case strings.HasPrefix(s[i:], "!="), strings.HasPrefix(s[i:], "<="), strings.HasPrefix(s[i:], ">="):
			toks, i = append(toks, token{tokOp, s[i : i+2]}), i+2
		case c == '=' || c == '<' || c == '>':
			toks, i = append(toks, token{tokOp, s[i : i+1]}), i+1
		case c == '$':
			j := i + 1
			for j < len(s) && (nameChar(s[j]) || s[j] == '.' || s[j] == '[' || s[j] == ']') {
				j++
			}
			toks, i = append(toks, token{tokSelector, s[i:j]}), j
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, errors.New("filterpattern: unterminated quoted string")
			}
			toks, i = append(toks, token{tokString, b.String()}), j+1
		case bareChar(c):
			j := i
			for j < len(s) && bareChar(s[j]) {
				j++
			}
			toks, i = append(toks, token{tokWord, s[i:j]}), j
		default:
			return nil, fmt.Errorf("filterpattern: unexpected %q at offset %d (quote values holding it; text and regex patterns are not supported)", c, i)
		}
	}
	return append(toks, token{kind: tokEOF}), nil
}

// Parser.

// maxDepth bounds parentheses, so a hostile pattern cannot exhaust the stack.
const maxDepth = 64

type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *parser) accept(k tokKind) bool {
	if p.peek().kind == k {
		p.pos++
		return true
	}
	return false
}

func (p *parser) or(depth int) (expr, error) {
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.accept(tokOr) {
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = orExpr{l, r}
	}
	return l, nil
}

func (p *parser) and(depth int) (expr, error) {
	l, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.accept(tokAnd) {
		r, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		l = andExpr{l, r}
	}
	return l, nil
}

func (p *parser) unary(depth int) (expr, error) {
	if p.accept(tokLParen) {
		if depth >= maxDepth {
			return nil, errors.New("filterpattern: parentheses nested too deep")
		}
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if !p.accept(tokRParen) {
			return nil, fmt.Errorf("filterpattern: %s where ) was expected", p.peek())
		}
		return e, nil
	}
	return p.condition()
}

var numberRE = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

func (p *parser) condition() (expr, error) {
	t := p.next()
	if t.kind != tokSelector {
		return nil, fmt.Errorf("filterpattern: %s where a selector ($.field) was expected", t)
	}
	sel, err := parseSelector(t.text)
	if err != nil {
		return nil, err
	}
	switch t := p.next(); {
	case t.kind == tokWord && t.text == "IS":
		w := p.next()
		if w.kind != tokWord || (w.text != "TRUE" && w.text != "FALSE" && w.text != "NULL") {
			return nil, fmt.Errorf("filterpattern: IS %s; want IS TRUE, IS FALSE or IS NULL", w)
		}
		return is{sel, w.text}, nil
	case t.kind == tokWord && t.text == "NOT":
		if w := p.next(); w.kind != tokWord || w.text != "EXISTS" {
			return nil, fmt.Errorf("filterpattern: NOT %s; want NOT EXISTS", w)
		}
		return is{sel, "NOT EXISTS"}, nil
	case t.kind == tokOp:
		v := p.next()
		if v.kind != tokWord && v.kind != tokString {
			return nil, fmt.Errorf("filterpattern: %s where a value was expected after %s", v, t.text)
		}
		c := compare{sel: sel, op: t.text, value: v.text, quoted: v.kind == tokString}
		if !c.quoted && numberRE.MatchString(v.text) {
			f, err := strconv.ParseFloat(v.text, 64)
			if err != nil {
				return nil, fmt.Errorf("filterpattern: number %s: %w", v, err)
			}
			c.num = &f
		}
		if t.text != "=" && t.text != "!=" && c.num == nil {
			return nil, fmt.Errorf("filterpattern: %s needs a number, got %s", t.text, v)
		}
		return c, nil
	default:
		return nil, fmt.Errorf("filterpattern: %s where an operator, IS or NOT EXISTS was expected", t)
	}
}

// parseSelector reads $ followed by .name and [N] steps; the first step is a property.
func parseSelector(s string) (selector, error) {
	bad := func(why string) error { return fmt.Errorf("filterpattern: selector %q: %s", s, why) }
	rest := []byte(strings.TrimPrefix(s, "$"))
	var sel selector
	for len(rest) > 0 {
		switch rest[0] {
		case '.':
			j := 1
			for j < len(rest) && nameChar(rest[j]) {
				j++
			}
			if j == 1 {
				return nil, bad("empty property name")
			}
			sel, rest = append(sel, step{name: string(rest[1:j])}), rest[j:]
		case '[':
			if len(sel) == 0 {
				return nil, bad("an array index must follow a property")
			}
			end := bytes.IndexByte(rest, ']')
			if end < 2 {
				return nil, bad("want [N]")
			}
			n, err := strconv.Atoi(string(rest[1:end]))
			if err != nil || n < 0 || strings.TrimLeft(string(rest[1:end]), "0123456789") != "" {
				return nil, bad("want [N]")
			}
			sel, rest = append(sel, step{index: n}), rest[end+1:]
		default:
			return nil, bad("want .name or [N]")
		}
	}
	if len(sel) == 0 {
		return nil, bad("want at least one property")
	}
	return sel, nil
}
