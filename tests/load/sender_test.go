package load

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/amazon-webhook-gateway/gateway/tests/harness"
)

// Retry policy of the simulated sender. Amazon's senders (EventBridge API destinations, SNS, APS)
// retry 429 and 5xx answers for minutes to hours, honouring Retry-After; the test keeps their
// behaviour (retry until 2xx, other answers are final) on a compressed clock.
const (
	firstBackoff = 20 * time.Millisecond
	maxBackoff   = 500 * time.Millisecond
	maxAttempts  = 60
)

// sender delivers sends through the harness handlers.
type sender struct {
	g *harness.Gateway
	// deadline bounds the whole run: past it a retryable answer is final (the delivery is lost),
	// so that a stuck moto_server fails the test instead of hanging it.
	deadline time.Time
}

// run sends every send with concurrency senders working through the list in order, and returns
// the phase's wall time.
func (s *sender) run(sends []*send, concurrency int) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(sends) {
					return
				}
				s.deliver(sends[i])
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// answer is what the tests read from a response body.
type answer struct {
	Status string `json:"status"`
	Events int    `json:"events"`
	Error  string `json:"error"`
	Field  string `json:"field"`
}

// deliver sends sd until it is answered 2xx, retrying 429 and 5xx answers with jittered
// exponential backoff.
func (s *sender) deliver(sd *send) {
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		start := time.Now()
		resp := s.g.Deliver(sd.req)
		sd.latencies = append(sd.latencies, time.Since(start))
		sd.codes = append(sd.codes, resp.StatusCode)
		if harness.Retryable(resp.StatusCode) && attempt < maxAttempts && time.Now().Before(s.deadline) {
			time.Sleep(backoff/2 + rand.N(backoff/2+1))
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		sd.status = resp.StatusCode
		var a answer
		_ = json.Unmarshal([]byte(resp.Body), &a)
		if resp.StatusCode/100 == 2 {
			sd.outcome, sd.events = a.Status, a.Events
		}
		if resp.StatusCode != 200 {
			// Only the gateway's own error code and field name: never a payload value.
			sd.problem = strings.TrimSpace(a.Error + " " + a.Field)
		}
		return
	}
}

// stats summarises the sends of one webhook (or all) in one phase.
type stats struct {
	deliveries int             // sendings (first ones and duplicates), retries not counted
	attempts   int             // every handler invocation, retries included
	retries429 int             // retries after a 429
	retries5xx int             // retries after a 5xx
	latencies  []time.Duration // one per attempt
}

func (st *stats) add(sd *send) {
	st.deliveries++
	st.attempts += len(sd.codes)
	st.latencies = append(st.latencies, sd.latencies...)
	// Every answer but the last was followed by a retry.
	for _, c := range sd.codes[:max(0, len(sd.codes)-1)] {
		switch {
		case c == 429:
			st.retries429++
		case c >= 500:
			st.retries5xx++
		}
	}
}

// percentile is the q-quantile (nearest rank) of ds, which it sorts.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[max(0, int(math.Ceil(q*float64(len(ds))))-1)]
}

func (st *stats) line(name string, wall time.Duration) string {
	return fmt.Sprintf("%-10s %6d deliveries %7.1f/s  p50 %6.1f ms  p99 %7.1f ms  attempts %6d  retries %d (429: %d, 5xx: %d)",
		name, st.deliveries, float64(st.deliveries)/wall.Seconds(),
		ms(percentile(st.latencies, 0.50)), ms(percentile(st.latencies, 0.99)),
		st.attempts, st.retries429+st.retries5xx, st.retries429, st.retries5xx)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarise returns the per-webhook and overall stats of sends.
func summarise(sends []*send) (per [numHooks]*stats, all *stats) {
	all = &stats{}
	for h := range per {
		per[h] = &stats{}
	}
	for _, sd := range sends {
		per[sd.d.hook].add(sd)
		all.add(sd)
	}
	return per, all
}
