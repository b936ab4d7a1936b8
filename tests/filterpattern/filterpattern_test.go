package filterpattern

import (
	"strings"
	"testing"
)

// The JSON examples of AWS's filter pattern syntax page (see the package comment), with the
// answers it gives.
const (
	docEvent = `{
  "eventType": "UpdateTrail",
  "sourceIPAddress": "111.111.111.111",
  "arrayKey": ["value", "another value"],
  "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
  "SomeObject": null,
  "ThisFlag": true
}`
	docCompound = `{
  "user": {"id": 1, "email": "John.Stiles@example.com"},
  "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
  "actions": ["GET", "PUT", "DELETE"],
  "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]]
}`
	// A line as log/slog's JSON handler writes it.
	slogLine = `{"time":"2026-11-27T14:00:00.123Z","level":"ERROR","msg":"delivery failed","error":"publish: throttled","latency":512,"attempt":"3"}`
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, event string
		want           bool
	}{
		// Documented examples.
		{`{ $.eventType = "UpdateTrail" }`, docEvent, true},
		{`{ $.sourceIPAddress != 123.123.* }`, docEvent, true},
		{`{ $.sourceIPAddress != 111.111.* }`, docEvent, false},
		{`{ $.arrayKey[0] = "value" }`, docEvent, true},
		{`{ $.arrayKey[1] = "value" }`, docEvent, false},
		{`{ $.eventType[0] = "UpdateTrail" }`, docEvent, false}, // not an array
		{`{ $.objectList[1].id = 2 }`, docEvent, true},
		{`{ $.objectList[0].id = 2 }`, docEvent, false},
		{`{ $.objectList[5].id = 2 }`, docEvent, false},
		{`{ $.SomeObject IS NULL }`, docEvent, true},
		{`{ $.eventType IS NULL }`, docEvent, false},
		{`{ $.Missing IS NULL }`, docEvent, false},
		{`{ $.SomeOtherObject NOT EXISTS }`, docEvent, true},
		{`{ $.SomeObject NOT EXISTS }`, docEvent, false}, // null exists
		{`{ $.ThisFlag IS TRUE }`, docEvent, true},
		{`{ $.ThisFlag IS FALSE }`, docEvent, false},
		{`{ $.eventType IS TRUE }`, docEvent, false},
		{`{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }`, docCompound, true},
		{`{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }`, docCompound, false},
		{`{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }`, docCompound, true},
		{`{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }`, docCompound, false},
		{`{ $.coordinates[2][0] = 7 }`, docCompound, true},
		// A selector on an array or object matches neither = nor !=.
		{`{ $.users = 1 }`, `{"users": [1, 2, 3]}`, false},
		{`{ $.users != 1 }`, `{"users": [1, 2, 3]}`, false},
		{`{ $.user != 1 }`, docCompound, false},
		// Wildcards: at the start, the end, both; inside a value '*' is itself.
		{`{ $.eventType = *Trail }`, docEvent, true},
		{`{ $.eventType = Update* }`, docEvent, true},
		{`{ $.eventType = *dateTr* }`, docEvent, true},
		{`{ $.eventType = Up*Trail }`, docEvent, false},
		{`{ $.k = Ev*ent }`, `{"k": "Ev*ent"}`, true},
		{`{ $.k = Ev*ent }`, `{"k": "Event"}`, false},
		{`{ $.eventType = * }`, docEvent, true},
		{`{ $.eventType = "*" }`, docEvent, true},
		{`{ $.Missing = * }`, docEvent, false},
		{`{ $.SomeObject = * }`, docEvent, false},
		{`{ $.ThisFlag = * }`, docEvent, false},
		// Numbers.
		{`{ $.latency >= 500 }`, slogLine, true},
		{`{ $.latency > +1000 }`, slogLine, false},
		{`{ $.latency < 10e3 }`, slogLine, true},
		{`{ $.latency < 10e-3 }`, slogLine, false},
		{`{ $.latency <= 512.0 }`, slogLine, true},
		{`{ $.latency = 512 }`, slogLine, true},
		{`{ $.latency = 5.12e2 }`, slogLine, true},
		{`{ $.latency != 500 }`, slogLine, true},
		{`{ $.latency = 5* }`, slogLine, true},
		{`{ $.attempt > 1 }`, slogLine, false}, // a string is not a number
		{`{ $.attempt = 3 }`, slogLine, true},
		{`{ $.Missing != 500 }`, slogLine, false},
		// Exact and case-sensitive.
		{`{ $.msg = "delivery failed" }`, slogLine, true},
		{`{ $.msg = "Delivery failed" }`, slogLine, false},
		{`{ $.msg = "delivery" }`, slogLine, false},
		{`{ $.msg = "delivery failed " }`, slogLine, false},
		{`{ $.msg != "delivery failed" }`, slogLine, false},
		{`{ $.msg != "authentication failed" }`, slogLine, true},
		{`{ $.message = "delivery failed" }`, slogLine, false},
		{`{ $.level = ERROR && $.msg = "delivery*" }`, slogLine, true},
		{`{ $.level = WARN || $.msg = "authentication failed" }`, slogLine, false},
		{`{$.msg="delivery failed"}`, slogLine, true},
		{`{ $.k = "a \"quoted\" \\ value" }`, `{"k": "a \"quoted\" \\ value"}`, true},
		{`{ $.k-1.x_y = "v" }`, `{"k-1": {"x_y": "v"}}`, true},
		// Only JSON objects are JSON events.
		{`{ $.msg = "delivery failed" }`, `time=2026-11-27 level=ERROR msg="delivery failed"`, false},
		{`{ $.msg = "delivery failed" }`, `START RequestId: 1 {"msg":"delivery failed"}`, false},
		{`{ $.msg = "delivery failed" }`, `{"msg":"delivery failed"} trailing`, false},
		{`{ $.msg = "delivery failed" }`, `{"msg":"delivery failed"}{"msg":"x"}`, false},
		{`{ $.msg = "delivery failed" }`, `["delivery failed"]`, false},
		{`{ $.msg NOT EXISTS }`, `"text"`, false},
		{`{ $.msg = "delivery failed" }`, slogLine + "\n", true},
	}
	for _, tt := range tests {
		p, err := Parse(tt.pattern)
		if err != nil {
			t.Errorf("Parse(%s): %v", tt.pattern, err)
			continue
		}
		if got := p.Match(tt.event); got != tt.want {
			t.Errorf("%s on %.60q: %t, want %t", tt.pattern, tt.event, got, tt.want)
		}
		// The canonical form is the same pattern.
		again, err := Parse(p.String())
		if err != nil || again.String() != p.String() || again.Match(tt.event) != tt.want {
			t.Errorf("%s: canonical form %s does not read back the same (%v)", tt.pattern, p.String(), err)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, pattern := range []string{
		``,
		`ERROR`,                         // text pattern
		`"delivery failed"`,             // text pattern
		`[ip, user, status_code = 4*]`,  // space-delimited pattern
		`{ $.msg = %delivery% }`,        // regex
		`{ $.msg = "delivery failed" `,  // unclosed
		`{ $.msg = "delivery failed }`,  // unterminated string
		`{ $.msg = "a" } x`,             // trailing text
		`{ }`,                           // empty
		`{ msg = "a" }`,                 // selector without $
		`{ $ = "a" }`,                   // root alone
		`{ $.msg }`,                     // no operator
		`{ $.msg = }`,                   // no value
		`{ $.msg == "a" }`,              // not an operator
		`{ $.msg > "a" }`,               // ordering needs a number
		`{ $.msg > abc }`,               // ordering needs a number
		`{ $.msg IS MAYBE }`,            // IS TRUE|FALSE|NULL
		`{ $.msg NOT THERE }`,           // NOT EXISTS
		`{ $.msg = a && }`,              // dangling operator
		`{ ($.msg = a }`,                // unbalanced
		`{ $.msg = a) }`,                // unbalanced
		`{ $[0] = a }`,                  // index before a property
		`{ $.a[x] = a }`,                // index not a number
		`{ $.a[-1] = a }`,               // negative index
		`{ $.a.. = a }`,                 // empty name
		`{ $.msg = a@b }`,               // '@' must be quoted
		`{ $.msg = "a" & $.level = b }`, // single &
		`{ ` + strings.Repeat("(", maxDepth+1) + `$.a = b` + strings.Repeat(")", maxDepth+1) + ` }`,
	} {
		if p, err := Parse(pattern); err == nil {
			t.Errorf("Parse(%q) = %s, want an error", pattern, p)
		}
	}
}

// FuzzParse: no pattern or event panics the evaluator, and a parsed pattern's canonical form
// parses back to itself and matches exactly the same events.
func FuzzParse(f *testing.F) {
	for _, s := range []struct{ pattern, event string }{
		{`{ $.msg = "delivery failed" }`, slogLine},
		{`{ $.msg = "authentication failed" }`, `{"level":"WARN","msg":"authentication failed"}`},
		{`{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }`, docCompound},
		{`{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }`, docCompound},
		{`{ $.sourceIPAddress != 123.123.* }`, docEvent},
		{`{ $.SomeObject IS NULL || $.Other NOT EXISTS && $.ThisFlag IS TRUE }`, docEvent},
		{`{ $.latency >= 5.5e2 }`, slogLine},
		{`{ $.k = "a \"q\" \\" }`, `{"k":"a \"q\" \\"}`},
		{`{ $.a[0][1] = *x* }`, `{"a":[[1,"yxz"]]}`},
		{`{ ((($.a = 1))) }`, `{"a":1.0}`},
		{`[a, b]`, `a b`},
	} {
		f.Add(s.pattern, s.event)
	}
	f.Fuzz(func(t *testing.T, pattern, event string) {
		p, err := Parse(pattern)
		if err != nil {
			return
		}
		got := p.Match(event)
		if p.Match(event) != got {
			t.Fatalf("%s: Match is not deterministic", pattern)
		}
		again, err := Parse(p.String())
		if err != nil {
			t.Fatalf("%q parses, its canonical form %s does not: %v", pattern, p.String(), err)
		}
		if again.String() != p.String() {
			t.Fatalf("canonical form not stable: %s then %s", p.String(), again.String())
		}
		if again.Match(event) != got {
			t.Fatalf("%q and its canonical form %s disagree on %q", pattern, p.String(), event)
		}
	})
}
