package calls

import (
	"encoding/json"
	"math"
	"slices"
	"strings"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// Short names of the calls.
const (
	tx        = "dynamodb:TransactWriteItems"
	put       = "dynamodb:PutItem"
	update    = "dynamodb:UpdateItem"
	del       = "dynamodb:DeleteItem"
	putEvents = "events:PutEvents"
	s3Put     = "s3:PutObject"
	s3Get     = "s3:GetObject"
	s3Delete  = "s3:DeleteObject"
)

// Budget is what one delivery may cost: its AWS calls in the order made, how many of them are
// sequential round trips (concurrent calls are one; 0: not checked, their overlap depends on
// timing), and what is billed per delivery: DynamoDB write units, EventBridge events (64 KB
// chunks) and the bytes the function logs at INFO. A count that rises fails tests/calls; so does
// one that falls (lower the budget: docs/cost.md is generated from these). Changing a row needs a
// reason in Why.
type Budget struct {
	Webhook, Scenario string
	Calls             []string
	Rounds            int
	WriteUnits        int
	Events            int
	LogBytes          int
	Why               string
}

func rep(call string, n int) []string { return slices.Repeat([]string{call}, n) }

func cat(parts ...[]string) []string { return slices.Concat(parts...) }

// Budgets are the measured deliveries, each priced by docs/cost.md when Priced names it.
var Budgets = []Budget{
	{"shipping", "new", []string{put, put, putEvents, update}, 4, 3, 1, 715,
		"claim, OTP (its own conditional put), the event, the completion: 3 WRU where one transaction of claim and OTP was 5"},
	{"shipping", "duplicate", []string{put}, 1, 1, 0, 600,
		"the claim finds the key completed; nothing else runs"},
	{"shipping", "concurrent duplicate", []string{put}, 1, 1, 0, 910,
		"the claim finds the key in progress: 429"},
	{"shipping", "failed publish", cat([]string{put, put}, rep(putEvents, 4), []string{del}), 7, 3, 0, 1150,
		"four PutEvents attempts (the publisher's retries of failed entries), then the claim is released"},
	{"shipping", "redelivery after a failed publish", []string{put, put, putEvents, update}, 4, 3, 1, 715,
		"the OTP stored by the failed attempt is rewritten as is"},
	{"shipping", "stale OTP", []string{put, put, update}, 3, 3, 0, 650,
		"the newer OTP fails the stale one's condition (still 1 WRU); no event to publish"},
	{"shipping", "partly quarantined", []string{s3Put, put, put, putEvents, update}, 5, 3, 1, 1205,
		"the whole delivery is quarantined first (S3), then its valid part costs a new delivery's calls"},
	{"shipping", "10 entries", cat([]string{put}, rep(put, 10), []string{putEvents, update}), 4, 12, 10, 715,
		"ten OTP puts at once, one PutEvents batch"},
	{"shipping", "25 entries", cat([]string{put}, rep(put, 25), rep(putEvents, 3), []string{update}), 4, 27, 25, 715,
		"25 OTP puts, 16 at a time; ⌈25/10⌉ PutEvents batches, sent concurrently"},
	{"shipping", "150 entries", cat([]string{put}, rep(put, 150), rep(putEvents, 15), []string{update}), 4, 152, 150, 720,
		"150 OTP puts, 16 at a time (no transaction's 100-item limit any more); 15 batches, 5 at a time"},
	{"shipping", "tracking", []string{put, put, putEvents, update}, 4, 3, 2, 665,
		"the tracking state as an OTP is; its two events (updated, deprecated notification) in one batch"},
	{"shipping", "tracking without deprecated copies", []string{put, put, putEvents, update}, 4, 3, 1, 665,
		"as tracking, PublishDeprecatedDetailTypes=false: the updated event alone"},
	{"shipping", "stale tracking", []string{put, put, putEvents, update}, 4, 3, 2, 665,
		"a later state fails the stale one's condition; the stale event is still published (history, and the deprecated notification)"},

	{"aps", "new", []string{put, putEvents, update}, 3, 2, 1, 660, "claim, event, completion"},
	{"aps", "duplicate", []string{put}, 1, 1, 0, 595, "the claim finds the key completed"},
	{"aps", "concurrent duplicate", []string{put}, 1, 1, 0, 1090, "the claim finds the key in progress: 429"},
	{"aps", "failed publish", cat([]string{put}, rep(putEvents, 4), []string{del}), 6, 2, 0, 1280, "four PutEvents attempts, then the claim is released"},
	{"aps", "redelivery after a failed publish", []string{put, putEvents, update}, 3, 2, 1, 660, "as new: the failed attempt released its claim"},

	{"amazon-pay", "new", []string{put, putEvents, update}, 3, 2, 1, 665,
		"one claim over the signed text (which holds the MessageId; the claim notes it), the event, the completion"},
	{"amazon-pay", "duplicate", []string{put}, 1, 1, 0, 600, "the signed-text claim finds the key completed"},
	{"amazon-pay", "concurrent duplicate", []string{put}, 1, 1, 0, 1015, "the signed-text claim finds the key in progress: 429"},
	{"amazon-pay", "failed publish", cat([]string{put}, rep(putEvents, 4), []string{del}), 6, 2, 0, 1205,
		"four PutEvents attempts, then the claim is released"},
	{"amazon-pay", "redelivery after a failed publish", []string{put, putEvents, update}, 3, 2, 1, 665, "as new"},
	{"amazon-pay", "v2", []string{put, put, putEvents, update, update}, 3, 4, 2, 665,
		"the signed-text and notification claims at once, the v2 event and its deprecated copy in one batch, both completions at once"},
	{"amazon-pay", "v2 without deprecated copies", []string{put, put, putEvents, update, update}, 3, 4, 1, 665,
		"as v2, PublishDeprecatedDetailTypes=false: the v2 event alone"},
	{"amazon-pay", "v2 duplicate", []string{put, put}, 1, 2, 0, 600,
		"both claims at once; both find their key completed"},
}

// WriteUnits is what the DynamoDB writes among ex are billed, by the model docs/cost.md states: a
// PutItem, UpdateItem or DeleteItem of an item under 1 KB is 1 WRU (⌈KB⌉ above), whether or not its
// condition held; an item in a TransactWriteItems is billed twice; a cancelled transaction of n
// items is counted as 2n (an upper bound: unconfirmed is then true).
func WriteUnits(ex []localaws.Exchange) (wru int, unconfirmed bool) {
	for _, e := range ex {
		switch name(e.Target) {
		case put:
			var in struct{ Item map[string]json.RawMessage }
			_ = json.Unmarshal(e.Body, &in)
			wru += units(itemSize(in.Item))
		case update, del:
			wru++
		case tx:
			var in struct {
				TransactItems []map[string]struct{ Item map[string]json.RawMessage }
			}
			_ = json.Unmarshal(e.Body, &in)
			for _, it := range in.TransactItems {
				n := 1
				if p, ok := it["Put"]; ok {
					n = units(itemSize(p.Item))
				}
				wru += 2 * n
			}
			unconfirmed = unconfirmed || e.ErrorType == "TransactionCanceledException"
		}
	}
	return wru, unconfirmed
}

// Events is how many PutEvents entries among ex are billed: one per 64 KB chunk of an entry.
func Events(ex []localaws.Exchange) int {
	n := 0
	for _, e := range ex {
		if name(e.Target) != putEvents || e.Status != 200 {
			continue
		}
		var in struct{ Entries []json.RawMessage }
		_ = json.Unmarshal(e.Body, &in)
		for _, entry := range in.Entries {
			n += int(math.Ceil(float64(len(entry)) / (64 << 10)))
		}
	}
	return n
}

// name turns a proxy target into service:operation.
func name(target string) string {
	if op, ok := strings.CutPrefix(target, "DynamoDB_20120810."); ok {
		return "dynamodb:" + op
	}
	if op, ok := strings.CutPrefix(target, "AWSEvents."); ok {
		return "events:" + op
	}
	if rest, ok := strings.CutPrefix(target, "s3 "); ok {
		method, _, _ := strings.Cut(rest, " ")
		return "s3:" + map[string]string{"PUT": "PutObject", "GET": "GetObject", "DELETE": "DeleteObject"}[method]
	}
	return target
}

func units(size int) int { return max(1, (size+1023)/1024) }

// itemSize is a DynamoDB item's size as DynamoDB counts it, near enough for whole KB: each
// attribute's name and value bytes (a number: its digits / 2 + 1).
func itemSize(item map[string]json.RawMessage) int {
	n := 0
	for k, v := range item {
		n += len(k) + valueSize(v)
	}
	return n
}

func valueSize(raw json.RawMessage) int {
	var v map[string]json.RawMessage
	if json.Unmarshal(raw, &v) != nil {
		return len(raw)
	}
	for typ, val := range v {
		switch typ {
		case "S", "B":
			var s string
			_ = json.Unmarshal(val, &s)
			return len(s)
		case "N":
			var s string
			_ = json.Unmarshal(val, &s)
			return len(s)/2 + 1
		case "BOOL", "NULL":
			return 1
		case "M":
			var m map[string]json.RawMessage
			_ = json.Unmarshal(val, &m)
			return 3 + itemSize(m) + len(m)
		case "L":
			var l []json.RawMessage
			_ = json.Unmarshal(val, &l)
			n := 3
			for _, e := range l {
				n += 1 + valueSize(e)
			}
			return n
		}
	}
	return len(raw)
}

// Priced are the deliveries docs/cost.md prices, one column each, in its order.
var Priced = []struct{ Column, Webhook, Scenario string }{
	{"Shipping, 1 OTP", "shipping", "new"},
	{"Shipping, 150 OTPs (one delivery)", "shipping", "150 entries"},
	{"Shipping tracking entry", "shipping", "tracking"},
	{"APS", "aps", "new"},
	{"Amazon Pay IPN", "amazon-pay", "new"},
	{"Amazon Pay v2 (with its deprecated copy)", "amazon-pay", "v2"},
	{"Amazon Pay v2 (deprecated copies off)", "amazon-pay", "v2 without deprecated copies"},
	{"Duplicate (Shipping)", "shipping", "duplicate"},
}

// Find is the budget of webhook's scenario.
func Find(webhook, scenario string) (Budget, bool) {
	for _, b := range Budgets {
		if b.Webhook == webhook && b.Scenario == scenario {
			return b, true
		}
	}
	return Budget{}, false
}

// The list prices and constants of the cost model (US East, platform-facts.md §5; per million).
const (
	PriceLambdaRequest = 0.20    // per million requests
	PriceGBSecond      = 13.3334 // per million GB-seconds
	MemoryGB           = 0.25    // 256 MB
	SecondsPerCall     = 0.010   // an assumed AWS call from Lambda in-region
	PriceWriteUnit     = 0.625   // on-demand, per million WRU
	PriceEvent         = 1.00    // per million PutEvents entries (64 KB chunks)
	PriceHTTPRequest   = 1.00    // HTTP API, per million requests under 512 KB
	PriceLogGB         = 0.50    // CloudWatch Logs ingestion per GB
	// PlatformLogBytes is what Lambda and API Gateway log per delivery besides the function:
	// START, END and REPORT (264 bytes) and the API access log line (256), estimated from their
	// formats.
	PlatformLogBytes = 520
)
