package safelist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
)

// PhysicalIDPrefix starts the custom resource's PhysicalResourceId; the endpoint follows. A new
// endpoint is a new ID, so CloudFormation sends Delete for the old one after an update.
const PhysicalIDPrefix = "amazon-pay-ipn-safelist:"

// DeleteNote is the Data "Message" of a Delete: nothing can be undone on Amazon's side.
const DeleteNote = "Amazon Pay has no call to remove a safelisted IPN endpoint; nothing was done (ask Amazon Pay support to remove it if needed)"

// ResourceHandler returns a custom resource function for cfn.LambdaWrap. Properties: Endpoint
// (required), Sandbox ("true"/"false", for newClient; see HostFromProps).
//
// Create and Update safelist Endpoint (an Update that keeps it calls again, which is harmless);
// Delete does nothing and succeeds, since Amazon Pay cannot un-safelist, and a failed Create's
// rollback must not fail too. A failure is returned as the error, which LambdaWrap sends as the
// FAILED Reason: its text names the Amazon Pay code and hint and never holds a secret. The call
// is cut short before the Lambda's deadline so that the FAILED answer is still sent and the stack
// does not wait an hour for a response that never comes.
//
// newClient is called on every Create and Update, so credentials are read fresh from Secrets
// Manager each time (a rotated key is picked up by the next stack update).
func ResourceHandler(newClient func(ctx context.Context, props map[string]any) (*Client, error)) cfn.CustomResourceFunction {
	return func(ctx context.Context, ev cfn.Event) (string, map[string]any, error) {
		// On failure keep the current ID: "" on Create lets LambdaWrap fall back to the request ID,
		// and an Update that fails must not look like a replacement.
		keep := ev.PhysicalResourceID
		if ev.RequestType == cfn.RequestCreate {
			keep = ""
		}
		switch ev.RequestType {
		case cfn.RequestDelete:
			slog.InfoContext(ctx, "safelist: delete is a no-op", "physicalResourceId", ev.PhysicalResourceID, "note", DeleteNote)
			return ev.PhysicalResourceID, map[string]any{"Message": DeleteNote}, nil
		case cfn.RequestCreate, cfn.RequestUpdate:
		default:
			return keep, nil, fmt.Errorf("safelist: unknown RequestType %q", ev.RequestType)
		}

		endpoint, ok := ev.ResourceProperties["Endpoint"].(string)
		if !ok || endpoint == "" {
			return keep, nil, errors.New("safelist: property Endpoint (the https URL to safelist) is missing or not a string")
		}
		if err := ValidateEndpoint(endpoint); err != nil {
			return keep, nil, err
		}

		ctx, cancel := beforeDeadline(ctx)
		defer cancel()
		c, err := newClient(ctx, ev.ResourceProperties)
		if err != nil {
			return keep, nil, fmt.Errorf("safelist: creating the Amazon Pay client: %w", err)
		}
		if c == nil {
			return keep, nil, errors.New("safelist: creating the Amazon Pay client: newClient returned nil")
		}
		if err := c.Safelist(ctx, endpoint); err != nil {
			return keep, nil, err
		}
		slog.InfoContext(ctx, "safelist: endpoint safelisted", "host", c.host, "requestType", string(ev.RequestType))
		return PhysicalIDPrefix + endpoint, map[string]any{"Endpoint": endpoint}, nil
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

// HostFromProps picks the host from the custom resource's Sandbox property: absent or "false" is
// ProductionHost, "true" SandboxHost. CloudFormation passes every property as a string; a bool is
// accepted too for direct callers.
func HostFromProps(props map[string]any) (string, error) {
	v, ok := props["Sandbox"]
	if !ok || v == nil || v == "" {
		return ProductionHost, nil
	}
	var sandbox bool
	switch t := v.(type) {
	case bool:
		sandbox = t
	case string:
		b, err := strconv.ParseBool(t)
		if err != nil {
			return "", fmt.Errorf("safelist: property Sandbox must be \"true\" or \"false\", got %q", t)
		}
		sandbox = b
	default:
		return "", fmt.Errorf("safelist: property Sandbox must be \"true\" or \"false\", got a %T", v)
	}
	if sandbox {
		return SandboxHost, nil
	}
	return ProductionHost, nil
}
