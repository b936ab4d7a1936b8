package load

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// recorder keeps every PutEvents entry the functions send, as the fault proxy in front of moto
// sees it: localaws.EventBridgeFaults calls its EntryFault for each entry of each PutEvents call,
// and an entry for which it returns false is forwarded to moto untouched.
//
// Why not a rule and an SQS queue (g.RouteAll + testenv.ReceiveAll)? Measured on this machine
// (2 cores, moto 5.2.1, concurrency 32, APS deliveries): no rule on the bus, ~75-80 deliveries/s;
// one rule matching ~1/16 of the events, ~40/s; a rule matching every event, ~22/s, and every
// delivery (300 of 300) answered 503 after ~3-3.5 s because PutEvents outlived the 4 s budget,
// with only some of the events (82) on the queue. Reading a queue back costs 11 calls (a receive,
// ten deletes) per 10 events on top. moto serves ~200-280 requests/s on one core whatever the
// API: any rule doubles the run or worse, and a consumer queue for 10,000 events cannot fit in
// any budget. (Measured before tools/localaws/motoserver.py cached the JSONPath parsers moto built
// for every event and matching rule, which made a matching rule about 50 times cheaper; the
// recorder still costs moto nothing, and the queue's reads and deletes would still double the
// requests.)
//
// What it proves: an entry recorded once was sent once. Had moto failed that PutEvents call, or
// marked the entry failed, the SDK or the publisher would have resent it, or the delivery would
// have been answered 5xx and retried, and the entry would have been recorded again. So "exactly
// one recorded entry per idempotency key, every delivery answered 2xx" means moto took each event
// exactly once. (Routing from the bus to a consumer is covered by the harness's own test.)
type recorder struct {
	mu      sync.Mutex
	entries []recordedEntry
}

type recordedEntry struct{ detailType, detail string }

func (r *recorder) entryFault(_ int, detailType, detail string) bool {
	r.mu.Lock()
	r.entries = append(r.entries, recordedEntry{detailType, detail})
	r.mu.Unlock()
	return false
}

func (r *recorder) all() []recordedEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recordedEntry(nil), r.entries...)
}

// requestCounter counts the AWS requests the functions make, by target, through the fault
// proxy's request hook (it lets every request pass): moto's load.
type requestCounter struct {
	mu      sync.Mutex
	targets map[string]int
}

func (c *requestCounter) count(target string) localaws.Fault {
	if strings.HasPrefix(target, "s3 ") {
		target = "s3" // one bucket and key per path: count S3 as a whole
	}
	c.mu.Lock()
	if c.targets == nil {
		c.targets = map[string]int{}
	}
	c.targets[target]++
	c.mu.Unlock()
	return localaws.Pass
}

func (c *requestCounter) log(t *testing.T, wall time.Duration) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	total := 0
	var parts []string
	for _, target := range slices.Sorted(maps.Keys(c.targets)) {
		total += c.targets[target]
		parts = append(parts, fmt.Sprintf("%s %d", target, c.targets[target]))
	}
	t.Logf("AWS requests to moto during the run: %d, %.0f/s (%s)", total, float64(total)/wall.Seconds(), strings.Join(parts, ", "))
}

// eventDetail is the part of an event's detail the test checks, for all three sources.
type eventDetail struct {
	Metadata struct {
		IdempotencyKey string `json:"idempotencyKey"`
		DeliveryID     string `json:"deliveryId"` // shipping
	} `json:"metadata"`
	Data struct {
		TrackingID       string `json:"trackingId"`       // shipping OTP events
		VerificationCode string `json:"verificationCode"` // compared, never printed
	} `json:"data"`
}

func parseDetail(detail string) (eventDetail, error) {
	var d eventDetail
	if err := json.Unmarshal([]byte(detail), &d); err != nil {
		return d, err
	}
	if d.Metadata.IdempotencyKey == "" {
		return d, fmt.Errorf("no detail.metadata.idempotencyKey")
	}
	return d, nil
}

// problems collects failures by kind, so that a failing run says how many of each there were and
// names the first few, instead of thousands of lines.
type problems struct {
	order  []string
	byKind map[string][]string
}

func (p *problems) add(kind, format string, args ...any) {
	if p.byKind == nil {
		p.byKind = map[string][]string{}
	}
	if _, ok := p.byKind[kind]; !ok {
		p.order = append(p.order, kind)
	}
	p.byKind[kind] = append(p.byKind[kind], fmt.Sprintf(format, args...))
}

const examples = 10

func (p *problems) report(t *testing.T) {
	t.Helper()
	for _, kind := range p.order {
		list := p.byKind[kind]
		more := ""
		if len(list) > examples {
			more = fmt.Sprintf("\n\t... and %d more", len(list)-examples)
		}
		t.Errorf("%s: %d\n\t%s%s", kind, len(list), strings.Join(list[:min(examples, len(list))], "\n\t"), more)
	}
}

// codeTokens calls fn with every run of exactly n ASCII digits in s that no other letter or digit
// touches: an OTP code in a log line, whether a whole JSON value ("123456") or a word in a
// message, is such a token, while digits inside hashes and ids (hex APS keys) are not.
func codeTokens(s string, n int, fn func(string)) {
	alnum := func(i int) bool {
		c := s[i]
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	start := -1
	for i := 0; i <= len(s); i++ {
		digit := i < len(s) && s[i] >= '0' && s[i] <= '9'
		switch {
		case digit && start < 0:
			start = i
		case !digit && start >= 0:
			if i-start == n && (start == 0 || !alnum(start-1)) && (i == len(s) || !alnum(i)) {
				fn(s[start:i])
			}
			start = -1
		}
	}
}
