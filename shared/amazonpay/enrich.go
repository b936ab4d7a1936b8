package amazonpay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpayapi"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
)

type objectGetter interface {
	Get(ctx context.Context, object amazonpayapi.Object, id string) (json.RawMessage, error)
}

type pendingKeeper interface {
	Kept(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, why quarantine.Reason, replay bool) (quarantine.Answer, bool)
}

// ReasonEnrichmentPending is the quarantine reason of a v2 IPN kept for a later enrichment.
const ReasonEnrichmentPending = "enrichment_pending"

// pendingHeader marks the copy of a request kept for a later enrichment. The function writes the
// copy itself and honours the mark only in a replay from its own quarantine, so a sender cannot
// use it.
const (
	pendingHeader = "x-amazon-webhook-gateway-pending"
	pendingValue  = "enrichment"
)

// DefaultFetchTimeout bounds one Amazon Pay API call.
const DefaultFetchTimeout = 5 * time.Second

// fetchReserve is left after a fetch for what follows it: the pending record, the events, the
// claims' completion and the answer.
const fetchReserve = 2 * time.Second

// Enrichment reason codes (enrichment.reason starts with one).
const (
	reasonNoKey       = "no_api_key"
	reasonNoGet       = "no_get_api"
	reasonNoObjectID  = "invalid_object_id"
	reasonTimeout     = "timeout"
	reasonUnavailable = "api_unavailable"
	reasonRefused     = "api_key_refused"
	reasonKey         = "api_key_unavailable"
	reasonInvalid     = "invalid_response"
	reasonNoTime      = "no_time_left"
)

// enrichment fetches the object v2 message n names. It returns the enrichment, the state when
// enriched, and whether a failure is worth a later attempt.
func (s *Steps) enrichment(ctx context.Context, log *slog.Logger, n notice) (Enrichment, *State, bool) {
	switch {
	case s.API == nil:
		return Enrichment{Status: EnrichmentDisabled, Reason: reasonNoKey}, nil, false
	case n.v2.api == "":
		return Enrichment{Status: EnrichmentDisabled, Reason: reasonNoGet + ": Amazon Pay documents no GET for a " + n.v2.kind}, nil, false
	}
	timeout := s.FetchTimeout
	if timeout <= 0 {
		timeout = DefaultFetchTimeout
	}
	if deadline, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(deadline)-fetchReserve)
	}
	if timeout <= 0 {
		return Enrichment{Status: EnrichmentFailed, Reason: reasonNoTime}, nil, true
	}
	fctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	raw, err := s.API.Get(fctx, n.v2.api, n.data.ObjectID)
	var st *State
	if err == nil {
		st, err = stateOf(n.v2.api, n.data.ObjectID, raw, s.IncludeBuyerData)
	}
	if err != nil {
		reason, retry := failureReason(err)
		log.Warn("Amazon Pay API fetch failed", "objectType", n.data.ObjectType, "objectId", n.data.ObjectID, "reason", reason, "error", err)
		return Enrichment{Status: EnrichmentFailed, Reason: reason}, nil, retry
	}
	at := s.now().UTC()
	return Enrichment{Status: EnrichmentEnriched, FetchedAt: &at, BuyerDataIncluded: s.IncludeBuyerData}, st, false
}

// failureReason is err as enrichment.reason, and whether a later attempt may succeed. The reason
// names no secret and no value of the answer.
func failureReason(err error) (string, bool) {
	var se *amazonpayapi.StatusError
	var ne net.Error
	switch {
	case errors.Is(err, amazonpayapi.ErrInvalidID):
		return reasonNoObjectID, false
	case errors.As(err, &se) && (se.StatusCode == 401 || se.StatusCode == 403):
		// The key is wrong or revoked: fix the secret, then replay.
		return reasonRefused + ": HTTP " + strconv.Itoa(se.StatusCode), true
	case errors.As(err, &se):
		return reasonUnavailable + ": HTTP " + strconv.Itoa(se.StatusCode), true
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return reasonTimeout, true
	case errors.Is(err, errInvalidObject):
		return reasonInvalid + ": " + strings.TrimPrefix(err.Error(), errInvalidObject.Error()+": "), true
	case errors.Is(err, amazonpayapi.ErrKeyUnavailable):
		return reasonKey, true
	default:
		return reasonUnavailable, true
	}
}

// v2Work is the work of a verified v2 message: fetch its object, publish its events; if the
// fetch failed and may succeed later, keep the message first (the quarantine, reason
// enrichment_pending), so that nothing waits on Amazon Pay's API. A replay does not keep it again:
// it answers 503 and the kept record stays.
func (s *Steps) v2Work(ctx context.Context, log *slog.Logger, req *events.APIGatewayV2HTTPRequest, m *snsverify.Message, n notice, received time.Time, replay bool) ([]eventbus.Event, error) {
	enr, st, retry := s.enrichment(ctx, log, n)
	if retry && replay {
		return nil, fmt.Errorf("enrichment failed on a replay: %s", enr.Reason)
	}
	if retry && s.Pending != nil {
		kept := *req
		kept.Headers = map[string]string{pendingHeader: pendingValue}
		for k, v := range req.Headers {
			kept.Headers[k] = v
		}
		why := quarantine.Reason{Error: ReasonEnrichmentPending, Message: "the Amazon Pay API fetch failed (" + enr.Reason + "); replay to enrich"}
		if _, ok := s.Pending.Kept(ctx, log, &kept, why, false); !ok {
			// Not kept: let SNS retry the whole message rather than lose the enrichment.
			return nil, errors.New("the message could not be kept for a later enrichment")
		}
		enr.RetryPending = true
	}
	return v2Events(m, received, n, enr, st, s.OmitDeprecatedCopies), nil
}

// lateWork is a replayed pending message's work: fetch the object again and publish the state as
// a new event. A failure answers 503, so the record stays for the next replay.
func (s *Steps) lateWork(ctx context.Context, log *slog.Logger, m *snsverify.Message, n notice, received time.Time) ([]eventbus.Event, error) {
	if s.API == nil || n.v2.api == "" {
		log.Warn("later enrichment skipped: no Amazon Pay API key is configured")
		return nil, nil
	}
	enr, st, _ := s.enrichment(ctx, log, n)
	if enr.Status != EnrichmentEnriched {
		return nil, fmt.Errorf("later enrichment failed: %s", enr.Reason)
	}
	log.Info("later enrichment published")
	return []eventbus.Event{lateEvent(m, received, n, enr, st)}, nil
}

// isPendingReplay: req is the copy kept for a later enrichment, replayed from the quarantine.
func isPendingReplay(req *events.APIGatewayV2HTTPRequest, replay bool) bool {
	return replay && req.Headers[pendingHeader] == pendingValue
}
