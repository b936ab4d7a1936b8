package safelist

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// cfnResponses stands in for CloudFormation's pre-signed response URL and keeps what was PUT.
type cfnResponses struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []cfn.Response
	errs []string
}

func newCFNResponses(t *testing.T) *cfnResponses {
	t.Helper()
	c := &cfnResponses{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var resp cfn.Response
		c.mu.Lock()
		defer c.mu.Unlock()
		if r.Method != http.MethodPut {
			c.errs = append(c.errs, "method "+r.Method)
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			c.errs = append(c.errs, err.Error())
		}
		c.got = append(c.got, resp)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *cfnResponses) only(t *testing.T) cfn.Response {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) > 0 || len(c.got) != 1 {
		t.Fatalf("responses = %+v, errors = %v; want exactly one", c.got, c.errs)
	}
	r := c.got[0]
	c.got = nil
	return r
}

func lambdaCtx(t *testing.T) context.Context {
	return lambdacontext.NewContext(t.Context(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-req-1"})
}

func TestResourceHandler(t *testing.T) {
	amazon := newStandIn(t)
	responses := newCFNResponses(t)
	var newClientCalls int
	var newClientErr error
	var sawHosts []string
	newClient := func(ctx context.Context, host string) (*Client, error) {
		newClientCalls++
		if newClientErr != nil {
			return nil, newClientErr
		}
		sawHosts = append(sawHosts, host)
		return amazon.client(t), nil
	}
	const otherEndpoint = "https://www.merchantwebhook.in/ipn2"
	deployed := Target{Endpoint: exEndpoint, Sandbox: true}
	moved := Target{Endpoint: otherEndpoint, Sandbox: true}

	event := func(rt cfn.RequestType, physical string, props, old map[string]any) cfn.Event {
		return cfn.Event{
			RequestType: rt, RequestID: "cfn-req-" + string(rt), ResponseURL: responses.srv.URL + "/signed?X-Amz-Signature=abc",
			ResourceType: "Custom::AmazonPayIpnSafelist", PhysicalResourceID: physical, LogicalResourceID: "IpnSafelist",
			StackID: "arn:aws:cloudformation:eu-west-1:123456789012:stack/gw/1", ResourceProperties: props, OldResourceProperties: old,
		}
	}
	props := func(endpoint string) map[string]any {
		return map[string]any{"ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:safelist", "Endpoint": endpoint, "Sandbox": "true"}
	}
	physical := PhysicalIDPrefix + exEndpoint

	steps := []struct {
		name         string
		target       *Target // the function's environment; nil = deployed
		ev           cfn.Event
		respond      int   // Amazon's status (0 = 200)
		clientErr    error // newClient fails
		wantStatus   cfn.StatusType
		wantPhysical string
		wantCalls    int // Amazon Pay calls so far
		wantClients  int // newClient calls so far
		wantReason   []string
	}{
		{name: "create", ev: event(cfn.RequestCreate, "", props(exEndpoint), nil),
			wantStatus: cfn.StatusSuccess, wantPhysical: physical, wantCalls: 1, wantClients: 1},
		{name: "update, same endpoint, calls again", ev: event(cfn.RequestUpdate, physical, props(exEndpoint), props(exEndpoint)),
			wantStatus: cfn.StatusSuccess, wantPhysical: physical, wantCalls: 2, wantClients: 2},
		{name: "update, new endpoint (environment updated first), new ID", target: &moved, ev: event(cfn.RequestUpdate, physical, props(otherEndpoint), props(exEndpoint)),
			wantStatus: cfn.StatusSuccess, wantPhysical: PhysicalIDPrefix + otherEndpoint, wantCalls: 3, wantClients: 3},
		{name: "delete of the old endpoint does nothing", target: &moved, ev: event(cfn.RequestDelete, physical, props(exEndpoint), nil),
			wantStatus: cfn.StatusSuccess, wantPhysical: physical, wantCalls: 3, wantClients: 3},
		{name: "create refused by Amazon Pay", ev: event(cfn.RequestCreate, "", props(exEndpoint), nil), respond: 401,
			wantStatus: cfn.StatusFailed, wantPhysical: "cfn-req-Create", wantCalls: 4, wantClients: 4,
			wantReason: []string{"AuthorizationFailed", "check accessKeyId/secretKey"}},
		{name: "update refused keeps the ID", target: &moved, ev: event(cfn.RequestUpdate, physical, props(otherEndpoint), props(exEndpoint)), respond: 403,
			wantStatus: cfn.StatusFailed, wantPhysical: physical, wantCalls: 5, wantClients: 5,
			wantReason: []string{"LimitExceeded"}},
		{name: "newClient fails", ev: event(cfn.RequestCreate, "", props(exEndpoint), nil), clientErr: errors.New("secret amazon-pay/in: safelist: invalid credentials: secretKey is empty"),
			wantStatus: cfn.StatusFailed, wantPhysical: "cfn-req-Create", wantCalls: 5, wantClients: 6,
			wantReason: []string{"secretKey is empty"}},
		{name: "no Endpoint", ev: event(cfn.RequestCreate, "", map[string]any{"Sandbox": "false"}, nil),
			wantStatus: cfn.StatusFailed, wantPhysical: "cfn-req-Create", wantCalls: 5, wantClients: 6,
			wantReason: []string{"Endpoint"}},
		{name: "http Endpoint", ev: event(cfn.RequestCreate, "", props("http://www.merchantwebhook.in/ipn"), nil),
			wantStatus: cfn.StatusFailed, wantPhysical: "cfn-req-Create", wantCalls: 5, wantClients: 6,
			wantReason: []string{"invalid endpoint", "https only"}},
		{name: "bad Sandbox", ev: event(cfn.RequestCreate, "", map[string]any{"Endpoint": exEndpoint, "Sandbox": "yes please"}, nil),
			wantStatus: cfn.StatusFailed, wantPhysical: "cfn-req-Create", wantCalls: 5, wantClients: 6,
			wantReason: []string{"Sandbox"}},
		{name: "delete after a failed create", ev: event(cfn.RequestDelete, "cfn-req-Create", map[string]any{}, nil),
			wantStatus: cfn.StatusSuccess, wantPhysical: "cfn-req-Create", wantCalls: 5, wantClients: 6},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			switch st.respond {
			case 0:
				amazon.respond(200, "", "")
			case 401:
				amazon.respond(401, "application/json", `{"code":"AuthorizationFailed","message":"Specified Signature is invalid"}`)
			case 403:
				amazon.respond(403, "application/json", `{"code":"LimitExceeded","message":"Maximum limit of subscriptions reached."}`)
			}
			newClientErr = st.clientErr
			target := deployed
			if st.target != nil {
				target = *st.target
			}
			fn := cfn.LambdaWrap(ResourceHandler(slog.New(slog.DiscardHandler), target, newClient))
			if _, err := fn(lambdaCtx(t), st.ev); err != nil {
				t.Fatalf("LambdaWrap: %v", err)
			}
			r := responses.only(t)
			if r.Status != st.wantStatus || r.PhysicalResourceID != st.wantPhysical {
				t.Errorf("Status %s PhysicalResourceId %q (Reason %q); want %s %q", r.Status, r.PhysicalResourceID, r.Reason, st.wantStatus, st.wantPhysical)
			}
			if r.RequestID != st.ev.RequestID || r.LogicalResourceID != "IpnSafelist" || r.StackID != st.ev.StackID {
				t.Errorf("response ids = %+v", r)
			}
			for _, w := range st.wantReason {
				if !strings.Contains(r.Reason, w) {
					t.Errorf("Reason %q does not mention %q", r.Reason, w)
				}
			}
			if strings.Contains(r.Reason, exSecretKey) || strings.Contains(r.Reason, "AMZ+") {
				t.Errorf("Reason leaks a secret: %q", r.Reason)
			}
			calls, endpoints, _, _ := amazon.state()
			if calls != st.wantCalls || newClientCalls != st.wantClients {
				t.Errorf("Amazon Pay calls = %d, newClient calls = %d; want %d, %d", calls, newClientCalls, st.wantCalls, st.wantClients)
			}
			switch {
			case st.ev.RequestType == cfn.RequestDelete:
				if r.Data["Message"] != DeleteNote {
					t.Errorf("Data = %v", r.Data)
				}
			case st.wantStatus == cfn.StatusSuccess:
				want := st.ev.ResourceProperties["Endpoint"]
				if len(endpoints) == 0 || endpoints[len(endpoints)-1] != want || r.Data["Endpoint"] != want {
					t.Errorf("Amazon Pay got %q, Data %v; want %q", endpoints, r.Data, want)
				}
			}
		})
	}
	amazon.assertClean(t)
	for _, h := range sawHosts {
		if h != SandboxHost {
			t.Errorf("newClient got host %s for Sandbox \"true\"", h)
		}
	}
}

// A hanging Amazon Pay must not hang the stack: the call is cut before the Lambda deadline and
// FAILED is still sent.
func TestResourceHandlerAnswersBeforeDeadline(t *testing.T) {
	amazon := newStandIn(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the server's Close, which waits for the handler
	amazon.mu.Lock()
	amazon.hang = release
	amazon.mu.Unlock()
	responses := newCFNResponses(t)
	fn := cfn.LambdaWrap(ResourceHandler(slog.New(slog.DiscardHandler), Target{Endpoint: exEndpoint}, func(context.Context, string) (*Client, error) { return amazon.client(t), nil }))

	const budget = 2 * time.Second
	ctx, cancel := context.WithTimeout(lambdaCtx(t), budget)
	defer cancel()
	start := time.Now()
	if _, err := fn(ctx, cfn.Event{RequestType: cfn.RequestCreate, RequestID: "r", ResponseURL: responses.srv.URL,
		ResourceProperties: map[string]any{"Endpoint": exEndpoint}}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= budget {
		t.Errorf("took %v, past the deadline", d)
	}
	r := responses.only(t)
	if r.Status != cfn.StatusFailed || !strings.Contains(r.Reason, "deadline") {
		t.Errorf("response = %+v", r)
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		endpoint string
		sandbox  any
		want     Target
		err      string
	}{
		{exEndpoint, nil, Target{exEndpoint, false}, ""},
		{exEndpoint, "", Target{exEndpoint, false}, ""},
		{exEndpoint, "false", Target{exEndpoint, false}, ""},
		{exEndpoint, "true", Target{exEndpoint, true}, ""},
		{exEndpoint, "TRUE", Target{exEndpoint, true}, ""},
		{exEndpoint, true, Target{exEndpoint, true}, ""},
		{exEndpoint, false, Target{exEndpoint, false}, ""},
		{exEndpoint, "sandbox", Target{}, "Sandbox"},
		{exEndpoint, 1, Target{}, "Sandbox"},
		{"", "true", Target{}, "Endpoint"},
		{"http://www.merchantwebhook.in/ipn", "true", Target{}, "https only"},
	}
	for _, tt := range tests {
		props := map[string]any{"Endpoint": tt.endpoint}
		if tt.sandbox != nil {
			props["Sandbox"] = tt.sandbox
		}
		got, err := targetFrom(props)
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Endpoint %q Sandbox %#v: %+v, %v", tt.endpoint, tt.sandbox, got, err)
		}
		if s, ok := tt.sandbox.(string); ok || tt.sandbox == nil {
			if got2, err2 := ParseTarget(tt.endpoint, s); got2 != got || (err2 == nil) != (err == nil) {
				t.Errorf("ParseTarget(%q, %q) = %+v, %v; targetFrom gave %+v, %v", tt.endpoint, s, got2, err2, got, err)
			}
		}
	}
	if h := (Target{Sandbox: true}).Host(); h != SandboxHost {
		t.Errorf("sandbox host %s", h)
	}
	if h := (Target{}).Host(); h != ProductionHost {
		t.Errorf("production host %s", h)
	}
}

func TestResourceHandlerUnknownRequestType(t *testing.T) {
	_, _, err := ResourceHandler(slog.New(slog.DiscardHandler), Target{}, nil)(t.Context(), cfn.Event{RequestType: "Frobnicate"})
	if err == nil || !strings.Contains(err.Error(), "Frobnicate") {
		t.Errorf("err = %v", err)
	}
}
