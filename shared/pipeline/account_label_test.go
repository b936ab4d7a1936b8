package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/eventbus"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
)

// labeledMsg is what a webhook's Authenticate read: a message naming its account.
type labeledMsg struct{ label string }

func (m labeledMsg) Account() string { return m.label }

// labelSteps authenticate as label (on a replay too, as Amazon Pay's topic does, when
// replayLabel is set) and record the label Plan and the work see.
type labelSteps struct {
	label, replayLabel string
	reject             bool
	planned, worked    string
}

func (s *labelSteps) Authenticate(_ context.Context, log *slog.Logger, _ *events.APIGatewayV2HTTPRequest, replay bool) (labeledMsg, *slog.Logger, error) {
	if replay {
		return labeledMsg{s.replayLabel}, log, nil
	}
	return labeledMsg{s.label}, log, nil
}

func (s *labelSteps) Plan(ctx context.Context, log *slog.Logger, _ *events.APIGatewayV2HTTPRequest, _ labeledMsg, _ bool) (Delivery, error) {
	s.planned = account.Of(ctx)
	if s.reject {
		return Delivery{}, Invalid("x", "x: is wrong")
	}
	return Delivery{Log: log, Claims: []Claim{{Key: "k"}}, Work: func(ctx context.Context, log *slog.Logger) ([]eventbus.Event, error) {
		s.worked = account.Of(ctx)
		log.Info("worked")
		return nil, nil
	}}, nil
}

// The label comes out of authentication and reaches Plan, the work, the log lines and the
// quarantine record; a replay keeps its record's label unless the message names one.
func TestTheAccountLabelTravelsWithTheDelivery(t *testing.T) {
	for _, tc := range []struct {
		name     string
		steps    labelSteps
		replayOf *quarantine.Record // replay this record instead of delivering
		want     string
		wantKept bool
	}{
		{name: "labeled by authentication", steps: labelSteps{label: "acme-b"}, want: "acme-b"},
		{name: "unlabeled: default", steps: labelSteps{}, want: account.Default},
		{name: "quarantined with its label", steps: labelSteps{label: "acme-b", reject: true}, want: "acme-b", wantKept: true},
		{name: "replay keeps the record's label", steps: labelSteps{label: "acme-x"}, replayOf: &quarantine.Record{Account: "acme-b"}, want: "acme-b"},
		{name: "replay of a record before labels", steps: labelSteps{label: "acme-x"}, replayOf: &quarantine.Record{}, want: account.Default},
		{name: "replay whose message names its account", steps: labelSteps{replayLabel: "acme-c"}, replayOf: &quarantine.Record{Account: "acme-b"}, want: "acme-c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &records{}
			var logs bytes.Buffer
			steps := tc.steps
			h := New("shipping", &steps, Deps{
				Once: &once{done: map[string]bool{}}, Events: &bus{}, Records: store, MaxBodyBytes: 64,
				Quarantine: &quarantine.Keeper{Store: store, Webhook: "shipping", Function: "fn"},
				Log:        slog.New(slog.NewJSONHandler(&logs, nil)),
				Metrics:    &logs, // the delivery's record, "delivery answered", beside the log lines
			})
			req := request()
			payload, _ := json.Marshal(req)
			if tc.replayOf != nil {
				r := *tc.replayOf
				r.Webhook, r.Request = "shipping", req
				key, _ := store.Put(context.Background(), r)
				payload, _ = json.Marshal(map[string]any{"quarantineReplay": map[string]string{"key": key}})
			}
			resp, err := h(context.Background(), payload)
			if err != nil {
				t.Fatal(err)
			}
			if steps.planned != tc.want {
				t.Errorf("Plan saw %q, want %q", steps.planned, tc.want)
			}
			if tc.wantKept {
				if resp.StatusCode != 202 {
					t.Fatalf("answer %d %s, want 202", resp.StatusCode, resp.Body)
				}
				for _, r := range store.kept {
					if r.Account != tc.want {
						t.Errorf("record labeled %q, want %q", r.Account, tc.want)
					}
				}
			} else if steps.worked != tc.want {
				t.Errorf("the work saw %q (answer %d %s), want %q", steps.worked, resp.StatusCode, resp.Body, tc.want)
			}
			seen := 0
			for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				if strings.Contains(l, `"msg":"worked"`) || strings.Contains(l, `"msg":"delivery quarantined"`) || strings.Contains(l, `"msg":"delivery answered"`) {
					seen++
					if !strings.Contains(l, `"account":"`+tc.want+`"`) {
						t.Errorf("log line without the label: %s", l)
					}
				}
			}
			if seen == 0 {
				t.Errorf("no line of the work or the quarantine logged: %s", logs.String())
			}
		})
	}
}
