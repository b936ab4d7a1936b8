package shipping

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/idempotency"
	"github.com/amazon-webhook-gateway/gateway/shared/trackingstore"
)

type trackingWriter interface {
	Write(st trackingstore.State) (*types.Put, func(ctx context.Context, old map[string]types.AttributeValue) (trackingstore.Outcome, error))
}

// tracked is what a delivery's tracking and NDR entries cause: the conditional writes of the
// tracking states, in the claim's transaction, and the events once they are written.
type tracked struct {
	n        *Notification
	outcomes []trackingstore.Outcome // per n.Tracking entry
	writes   []idempotency.Write
}

// track plans n's tracking writes. A transaction may not write one item twice, so of the entries
// of one tracking ID only the latest (the store's order; at a tie the later entry) is written;
// the others are stale at once.
func (s *Steps) track(n *Notification, label string) *tracked {
	tr := &tracked{n: n, outcomes: make([]trackingstore.Outcome, len(n.Tracking))}
	latest := map[string]int{}
	for i, t := range n.Tracking {
		j, ok := latest[t.TrackingID]
		switch {
		case !ok:
			latest[t.TrackingID] = i
		case !later(n.Tracking[j], t):
			tr.outcomes[i] = trackingstore.Stale
		default:
			tr.outcomes[j] = trackingstore.Stale
			latest[t.TrackingID] = i
		}
	}
	if s.Tracking == nil {
		return tr
	}
	for i, t := range n.Tracking {
		if latest[t.TrackingID] != i {
			continue
		}
		put, refused := s.Tracking.Write(trackingstore.State{
			TrackingID: t.TrackingID, AlternateLegTrackingID: t.AlternateLegTrackingID, ShipmentType: t.ShipmentType,
			Status: t.Status, EventCode: t.EventCode, EventTimeText: t.EventTimeText, EventTime: t.EventTime,
			EstimatedArrival: t.EstimatedArrival, Terminal: t.Terminal, Detail: string(t.Raw),
			DeliveryID: n.Envelope.ID, Entry: n.Envelope.ID + "#" + strconv.Itoa(t.Index), EnvelopeTime: n.Envelope.Time,
			Account: label,
		})
		tr.writes = append(tr.writes, idempotency.Write{Put: put, Refused: func(ctx context.Context, old map[string]types.AttributeValue) error {
			out, err := refused(ctx, old)
			if err != nil {
				return fmt.Errorf("storing tracking state for tracking ID %s: %w", t.TrackingID, err)
			}
			tr.outcomes[i] = out
			return nil
		}})
	}
	return tr
}

// later says whether b, a later entry of the same delivery and tracking ID, supersedes a: the
// store's order, with the entries' position in place of the envelope time they share.
func later(a, b Tracking) bool {
	switch {
	case a.EventTime.IsZero() || b.EventTime.IsZero():
		return a.EventTime.IsZero()
	case a.EventTime.UnixMilli() != b.EventTime.UnixMilli():
		return b.EventTime.UnixMilli() > a.EventTime.UnixMilli()
	default:
		return b.Terminal || !a.Terminal
	}
}

// events are the tracking and NDR events, once the states are written.
func (tr *tracked) events(log *slog.Logger, label string, received time.Time, includeCode bool) []eventbus.Event {
	var evs []eventbus.Event
	for i, t := range tr.n.Tracking {
		log.Debug("tracking state", "trackingId", t.TrackingID, "eventCode", t.EventCode, "outcome", tr.outcomes[i].String())
		evs = append(evs, TrackingEvent(tr.n.Envelope, label, t, tr.outcomes[i] == trackingstore.Stale, received, includeCode))
	}
	for _, r := range tr.n.NDRs {
		evs = append(evs, NDREvent(tr.n.Envelope, label, r, received, includeCode))
	}
	return evs
}
