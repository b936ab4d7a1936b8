package safelist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
)

// PhysicalIDPrefix starts the custom resource's PhysicalResourceId; the endpoint follows. A new
// endpoint is a new ID, so CloudFormation sends Delete for the old one after an update.
const PhysicalIDPrefix = "amazon-pay-ipn-safelist:"

// DeleteNote is the Data "Message" of a Delete: nothing can be undone on Amazon's side.
const DeleteNote = "Amazon Pay has no call to remove a safelisted IPN endpoint; nothing was done (ask Amazon Pay support to remove it if needed)"

// RollbackNote is the Data "Message" of an Update that moves away from the deployed target (an
// update rollback reaching the resource before the function's environment is rolled back).
const RollbackNote = "update away from the endpoint this function is deployed for: nothing was done (the previous endpoint was safelisted when it was deployed)"

// ErrTargetMismatch: an event asks to safelist something other than the function's deployed
// Target. Its properties come from whoever invokes the function; the Target from the template.
var ErrTargetMismatch = errors.New("safelist: event does not match the deployed target")

// Target is what one deployment safelists. The function gets it from its environment, set by the
// template from the same values as the custom resource's Endpoint and Sandbox properties: the
// properties still trigger an update when the URL changes, but an invocation cannot choose them.
type Target struct {
	Endpoint string
	Sandbox  bool
}

// Host is the Amazon Pay API host for the target: SandboxHost or ProductionHost.
func (t Target) Host() string {
	if t.Sandbox {
		return SandboxHost
	}
	return ProductionHost
}

// String shows the endpoint without its query (which may carry a token), shortened so that two of
// them fit in a CloudFormation Reason (the whole response is limited to 4 KB).
func (t Target) String() string {
	return fmt.Sprintf("%s (Sandbox %t)", truncate(shownURL(t.Endpoint), 256), t.Sandbox)
}

// ParseTarget reads a Target from the function's environment values: endpoint must pass
// ValidateEndpoint, sandbox is "true", "false" or empty (false).
func ParseTarget(endpoint, sandbox string) (Target, error) {
	return targetFrom(map[string]any{"Endpoint": endpoint, "Sandbox": sandbox})
}

// targetFrom reads the Endpoint and Sandbox properties. CloudFormation passes every property as a
// string; a bool Sandbox is accepted too for direct callers.
func targetFrom(props map[string]any) (Target, error) {
	endpoint, ok := props["Endpoint"].(string)
	if !ok || endpoint == "" {
		return Target{}, errors.New("safelist: Endpoint (the https URL to safelist) is missing or not a string")
	}
	if err := ValidateEndpoint(endpoint); err != nil {
		return Target{}, err
	}
	t := Target{Endpoint: endpoint}
	switch v := props["Sandbox"].(type) {
	case nil:
	case bool:
		t.Sandbox = v
	case string:
		if v == "" {
			break
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Target{}, fmt.Errorf("safelist: Sandbox must be \"true\" or \"false\", got %q", truncate(v, 32))
		}
		t.Sandbox = b
	default:
		return Target{}, fmt.Errorf("safelist: Sandbox must be \"true\" or \"false\", got a %T", v)
	}
	return t, nil
}

// ResourceHandler returns a custom resource function for cfn.LambdaWrap that safelists target, the
// function's deployed configuration, logging to log. Properties: Endpoint and Sandbox.
//
// Create and Update safelist target when the event's properties equal it (an Update that keeps
// it calls again, which is harmless); any other Create or Update is refused (FAILED, logged), so
// that whoever may invoke the function cannot safelist a URL of their choosing with the
// merchant's keys. OldResourceProperties are not compared (they differ on every URL change),
// except that an Update from the target to something else — an update rollback that reaches the
// resource before the function's environment — succeeds without calling Amazon Pay, rather than
// failing the rollback. Delete does nothing and succeeds whatever its properties (after a URL
// change it carries the old ones), since Amazon Pay cannot un-safelist and a Delete must never
// fail or hang a stack.
//
// A failure is returned as the error, which LambdaWrap sends as the FAILED Reason: its text names
// the Amazon Pay code and hint and never holds a secret. The call is cut short before the Lambda's
// deadline so that the FAILED answer is still sent and the stack does not wait for its timeout.
//
// newClient is called on every safelisting, so credentials are read fresh from Secrets Manager
// each time (a rotated key is picked up by the next stack update).
func ResourceHandler(log *slog.Logger, target Target, newClient func(ctx context.Context, host string) (*Client, error)) cfn.CustomResourceFunction {
	return func(ctx context.Context, ev cfn.Event) (string, map[string]any, error) {
		// On failure keep the current ID: "" on Create lets LambdaWrap fall back to the request ID,
		// and an Update that fails must not look like a replacement.
		keep := ev.PhysicalResourceID
		if ev.RequestType == cfn.RequestCreate {
			keep = ""
		}
		switch ev.RequestType {
		case cfn.RequestDelete:
			log.InfoContext(ctx, "safelist: delete is a no-op", "physicalResourceId", ev.PhysicalResourceID, "note", DeleteNote)
			return ev.PhysicalResourceID, map[string]any{"Message": DeleteNote}, nil
		case cfn.RequestCreate, cfn.RequestUpdate:
		default:
			return keep, nil, fmt.Errorf("safelist: unknown RequestType %q", truncate(string(ev.RequestType), 32))
		}

		asked, err := targetFrom(ev.ResourceProperties)
		if err == nil && asked != target {
			if old, oerr := targetFrom(ev.OldResourceProperties); ev.RequestType == cfn.RequestUpdate && oerr == nil && old == target {
				// A rollback: the previous endpoint was safelisted when it was deployed.
				log.WarnContext(ctx, "safelist: update away from the deployed target, nothing done",
					"asked", asked.String(), "deployed", target.String(), "physicalResourceId", ev.PhysicalResourceID)
				return ev.PhysicalResourceID, map[string]any{"Message": RollbackNote}, nil
			}
			err = fmt.Errorf("%w: refused to safelist %s, this function is deployed for %s; only the stack's own custom resource may invoke it",
				ErrTargetMismatch, asked, target)
		}
		if err != nil {
			log.ErrorContext(ctx, "safelist: event refused", "requestType", string(ev.RequestType), "error", err.Error())
			return keep, nil, err
		}

		ctx, cancel := beforeDeadline(ctx)
		defer cancel()
		c, err := newClient(ctx, target.Host())
		if err != nil {
			return keep, nil, fmt.Errorf("safelist: creating the Amazon Pay client: %w", err)
		}
		if c == nil {
			return keep, nil, errors.New("safelist: creating the Amazon Pay client: newClient returned nil")
		}
		if err := c.Safelist(ctx, target.Endpoint); err != nil {
			return keep, nil, err
		}
		log.InfoContext(ctx, "safelist: endpoint safelisted", "host", c.host, "requestType", string(ev.RequestType))
		return PhysicalIDPrefix + target.Endpoint, map[string]any{"Endpoint": target.Endpoint}, nil
	}
}

// Unconfigured is the custom resource function of a function whose configuration is wrong: Create
// and Update fail with err, Delete succeeds as ResourceHandler's does. Answering beats exiting,
// which would leave the stack waiting for the resource's ServiceTimeout.
func Unconfigured(log *slog.Logger, err error) cfn.CustomResourceFunction {
	return func(ctx context.Context, ev cfn.Event) (string, map[string]any, error) {
		if ev.RequestType == cfn.RequestDelete {
			return ResourceHandler(log, Target{}, nil)(ctx, ev)
		}
		id := ev.PhysicalResourceID
		if ev.RequestType == cfn.RequestCreate {
			id = ""
		}
		return id, nil, fmt.Errorf("safelist: the function is misconfigured: %w", err)
	}
}

// beforeDeadline leaves part of the remaining Lambda time (a quarter, at most 5 s) for LambdaWrap
// to send the response.
func beforeDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := min(time.Until(dl)/4, 5*time.Second)
	return context.WithDeadline(ctx, dl.Add(-margin))
}

// shownURL is raw without its query and fragment, which may carry a token or a signature; "" if
// raw is not a URL.
func shownURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
