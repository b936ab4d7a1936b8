package safelist

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
)

// logLines decodes the JSON lines a test logger wrote.
func logLines(t *testing.T, logs *testenv.LogBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func hasLog(lines []map[string]any, level, msg string) bool {
	for _, l := range lines {
		if l["level"] == level && l["msg"] == msg {
			return true
		}
	}
	return false
}

// Whoever may invoke the function cannot make it safelist a URL of their choosing: an event
// whose Endpoint or Sandbox differs from the function's environment is refused (FAILED, with the
// reason, logged at ERROR) before any credential is read or Amazon Pay called. Deletes and update
// rollbacks still succeed, so that no stack operation fails or hangs because of the check.
func TestOnlyTheDeployedTargetIsEverSafelisted(t *testing.T) {
	const (
		deployedURL = "https://abc123.execute-api.eu-west-1.amazonaws.com/amazon-pay/ipn"
		previousURL = "https://old999.execute-api.eu-west-1.amazonaws.com/amazon-pay/ipn"
		attackerURL = "https://attacker.example/ipn?token=s3cr3t"
	)
	deployed := Target{Endpoint: deployedURL, Sandbox: true}
	props := func(endpoint string, sandbox any) map[string]any {
		p := map[string]any{"ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:safelist", "Endpoint": endpoint}
		if sandbox != nil {
			p["Sandbox"] = sandbox
		}
		return p
	}
	const physical = PhysicalIDPrefix + deployedURL
	tests := []struct {
		name         string
		rt           cfn.RequestType
		physical     string
		props, old   map[string]any
		wantStatus   cfn.StatusType
		wantPhysical string
		wantCall     bool     // Amazon Pay is called (with the deployed endpoint)
		wantReason   []string // FAILED Reason mentions each
		wantLog      string   // level of the refusal/no-op log line, "" for none
		wantMessage  string   // Data "Message"
	}{
		{name: "create for an attacker's URL", rt: cfn.RequestCreate, props: props(attackerURL, "true"),
			wantStatus: cfn.StatusFailed, wantPhysical: "cfn-req", wantReason: []string{"does not match the deployed target", "https://attacker.example/ipn", deployedURL}, wantLog: "ERROR"},
		{name: "update to an attacker's URL", rt: cfn.RequestUpdate, physical: physical, props: props(attackerURL, "true"), old: props(previousURL, "true"),
			wantStatus: cfn.StatusFailed, wantPhysical: physical, wantReason: []string{"does not match the deployed target"}, wantLog: "ERROR"},
		{name: "update to an attacker's URL without old properties", rt: cfn.RequestUpdate, physical: physical, props: props(attackerURL, "true"),
			wantStatus: cfn.StatusFailed, wantPhysical: physical, wantReason: []string{"does not match the deployed target"}, wantLog: "ERROR"},
		{name: "create for the production host when deployed for the sandbox", rt: cfn.RequestCreate, props: props(deployedURL, "false"),
			wantStatus: cfn.StatusFailed, wantPhysical: "cfn-req", wantReason: []string{"Sandbox false", "Sandbox true"}, wantLog: "ERROR"},
		{name: "create without Sandbox when deployed for the sandbox", rt: cfn.RequestCreate, props: props(deployedURL, nil),
			wantStatus: cfn.StatusFailed, wantPhysical: "cfn-req", wantReason: []string{"does not match"}, wantLog: "ERROR"},
		{name: "create for the deployed URL with a different query", rt: cfn.RequestCreate, props: props(deployedURL+"?x=1", "true"),
			wantStatus: cfn.StatusFailed, wantPhysical: "cfn-req", wantReason: []string{"does not match"}, wantLog: "ERROR"},
		{name: "create for the deployed target", rt: cfn.RequestCreate, props: props(deployedURL, "true"),
			wantStatus: cfn.StatusSuccess, wantPhysical: physical, wantCall: true},
		{name: "update to the deployed target from the previous URL (OldResourceProperties differ)", rt: cfn.RequestUpdate,
			physical: PhysicalIDPrefix + previousURL, props: props(deployedURL, "TRUE"), old: props(previousURL, "true"),
			wantStatus: cfn.StatusSuccess, wantPhysical: physical, wantCall: true},
		{name: "update rollback reaching the resource before the function's environment", rt: cfn.RequestUpdate,
			physical: physical, props: props(previousURL, "true"), old: props(deployedURL, "true"),
			wantStatus: cfn.StatusSuccess, wantPhysical: physical, wantLog: "WARN", wantMessage: RollbackNote},
		{name: "delete with the previous URL after a replacement", rt: cfn.RequestDelete,
			physical: PhysicalIDPrefix + previousURL, props: props(previousURL, "true"),
			wantStatus: cfn.StatusSuccess, wantPhysical: PhysicalIDPrefix + previousURL, wantMessage: DeleteNote},
		{name: "delete with an attacker's URL", rt: cfn.RequestDelete, physical: "x", props: props(attackerURL, "false"),
			wantStatus: cfn.StatusSuccess, wantPhysical: "x", wantMessage: DeleteNote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			amazon := newStandIn(t)
			responses := newCFNResponses(t)
			var clients int
			var logs testenv.LogBuffer
			h := ResourceHandler(slog.New(slog.NewJSONHandler(&logs, nil)), deployed, func(_ context.Context, host string) (*Client, error) {
				clients++
				if host != SandboxHost {
					t.Errorf("host %s", host)
				}
				return amazon.client(t), nil
			})
			ev := cfn.Event{RequestType: tt.rt, RequestID: "cfn-req", ResponseURL: responses.srv.URL + "/r?X-Amz-Signature=abc",
				LogicalResourceID: "AmazonPayIpnSafelist", StackID: "arn:aws:cloudformation:eu-west-1:123456789012:stack/gw/1",
				PhysicalResourceID: tt.physical, ResourceProperties: tt.props, OldResourceProperties: tt.old}
			if _, err := cfn.LambdaWrap(h)(lambdaCtx(t), ev); err != nil {
				t.Fatal(err)
			}
			r := responses.only(t)
			if r.Status != tt.wantStatus || r.PhysicalResourceID != tt.wantPhysical {
				t.Errorf("Status %s PhysicalResourceId %q (Reason %q); want %s %q", r.Status, r.PhysicalResourceID, r.Reason, tt.wantStatus, tt.wantPhysical)
			}
			for _, w := range tt.wantReason {
				if !strings.Contains(r.Reason, w) {
					t.Errorf("Reason %q does not mention %q", r.Reason, w)
				}
			}
			if strings.Contains(r.Reason+logs.String(), "s3cr3t") {
				t.Errorf("the query of the asked URL was shown: %q %s", r.Reason, logs.String())
			}
			if tt.wantMessage != "" && r.Data["Message"] != tt.wantMessage {
				t.Errorf("Data = %v", r.Data)
			}
			calls, endpoints, _, _ := amazon.state()
			switch {
			case tt.wantCall && (calls != 1 || len(endpoints) != 1 || endpoints[0] != deployedURL):
				t.Errorf("Amazon Pay got %d calls for %q; want one for the deployed URL", calls, endpoints)
			case !tt.wantCall && (calls != 0 || clients != 0):
				t.Errorf("Amazon Pay calls %d, credentials read %d times; want none", calls, clients)
			}
			lines := logLines(t, &logs)
			switch tt.wantLog {
			case "ERROR":
				if !hasLog(lines, "ERROR", "safelist: event refused") {
					t.Errorf("refusal not logged at ERROR: %s", logs.String())
				}
			case "WARN":
				if !hasLog(lines, "WARN", "safelist: update away from the deployed target, nothing done") {
					t.Errorf("rollback no-op not logged: %s", logs.String())
				}
			}
		})
	}
}

// A function whose environment is wrong still answers: Create and Update fail with the
// configuration error, Delete succeeds, so the stack never waits for a response.
func TestAMisconfiguredFunctionStillAnswersEveryEvent(t *testing.T) {
	responses := newCFNResponses(t)
	h := cfn.LambdaWrap(Unconfigured(slog.New(slog.DiscardHandler), errors.New("environment variable AMAZON_PAY_IPN_ENDPOINT is required")))
	for _, tt := range []struct {
		rt   cfn.RequestType
		want cfn.StatusType
	}{{cfn.RequestCreate, cfn.StatusFailed}, {cfn.RequestUpdate, cfn.StatusFailed}, {cfn.RequestDelete, cfn.StatusSuccess}} {
		if _, err := h(lambdaCtx(t), cfn.Event{RequestType: tt.rt, RequestID: "r", PhysicalResourceID: "p", ResponseURL: responses.srv.URL,
			ResourceProperties: map[string]any{"Endpoint": exEndpoint}}); err != nil {
			t.Fatal(err)
		}
		r := responses.only(t)
		if r.Status != tt.want || (tt.want == cfn.StatusFailed) != strings.Contains(r.Reason, "AMAZON_PAY_IPN_ENDPOINT") {
			t.Errorf("%s: %+v", tt.rt, r)
		}
	}
}
