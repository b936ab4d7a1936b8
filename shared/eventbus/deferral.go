package eventbus

import "time"

// Deferral is detail.metadata.deferred of the events of a re-driven delivery: one the gateway
// kept while a dependency was unavailable and published later. Absent on every other event.
type Deferral struct {
	// ReceivedAt is when the gateway received the delivery and deferred it; metadata.receivedAt
	// is when the re-drive processed it.
	ReceivedAt time.Time `json:"receivedAt"`
}

// Deferrable is an event detail that can say it comes from a re-driven delivery: every webhook's
// Detail type is one (tests/faults proves it for each detail-type).
type Deferrable interface {
	// WithDeferral returns the detail with metadata.deferred set to d.
	WithDeferral(d Deferral) any
}

// MarkDeferred sets metadata.deferred of every event in evs whose detail is Deferrable.
func MarkDeferred(evs []Event, d Deferral) {
	for i := range evs {
		if x, ok := evs[i].Detail.(Deferrable); ok {
			evs[i].Detail = x.WithDeferral(d)
		}
	}
}
