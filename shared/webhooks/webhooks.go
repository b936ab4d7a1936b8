// Package webhooks names the webhooks and where the payload bucket keeps their deliveries: the
// names and the key layout that the functions, shared/quarantine, the pipeline and the operators'
// tools share, defined once. It imports nothing of AWS or of the pipeline, so a tool that only
// needs the names (tools/quarantine) links it alone.
package webhooks

import "strings"

// The webhooks, as they name themselves in quarantine records and keys.
const (
	Shipping  = "shipping"
	APS       = "aps"
	AmazonPay = "amazon-pay"
)

// All lists every webhook whose function keeps deliveries in the payload bucket.
var All = []string{Shipping, APS, AmazonPay}

// The places of the payload bucket that hold records: <place><webhook>/<id>.json.
const (
	// QuarantinePrefix holds quarantined deliveries: authenticated, but invalid (or a bug) until
	// a fix.
	QuarantinePrefix = "quarantine/"
	// DeferredPrefix holds deferred deliveries: authenticated and valid, kept while a dependency
	// was unavailable and re-driven automatically (pipeline).
	DeferredPrefix = "deferred/"
	// DeadPrefix holds deferred deliveries that could not be re-driven within the retention.
	DeadPrefix = "deferred-dead/"
)

// Places lists the record places, quarantine first.
var Places = []string{QuarantinePrefix, DeferredPrefix, DeadPrefix}

// PlaceOf reads the place (one of Places) and the webhook out of a record's key.
func PlaceOf(key string) (place, webhook string, ok bool) {
	for _, p := range Places {
		if rest, found := strings.CutPrefix(key, p); found {
			webhook, _, ok = strings.Cut(rest, "/")
			return p, webhook, ok && webhook != ""
		}
	}
	return "", "", false
}

// Replay is the invocation payload that replays a quarantined delivery:
// {"quarantineReplay": {"key": "quarantine/shipping/….json"}}. Only principals allowed to invoke
// the function directly can send it; API Gateway's payload never has this shape.
type Replay struct {
	Key string `json:"key"`
}

// RedriveOrder is the invocation payload that re-drives a deferred delivery:
// {"deferredRedrive": {"key": "deferred/shipping/….json"}} (or a key under deferred-dead/, by
// hand). The function's re-drive queue sends one per deferred object (batches); an operator may
// send one directly.
type RedriveOrder struct {
	Key string `json:"key"`
}
