// Package lookup answers the applications' questions about a shipment, behind IAM: the OTP a
// courier or customer must be told now (by the forward or the alternate-leg tracking ID) and the
// latest tracking state, each within one Shipping account's key space:
//
//	GET /shipping/accounts/{account}/otps/{trackingId}      account {account}'s
//	GET /shipping/accounts/{account}/tracking/{trackingId}
//	GET /shipping/otps/{trackingId}                         the default account's only
//	GET /shipping/tracking/{trackingId}
//
// The account comes from the route, never from the caller: IAM decides who may call which
// account's routes (template.yaml's ShippingAccountLookupInvokePolicy grants a caller the routes
// of the account its principal tag names), and the function reads that account's key space only.
// Every 200 answer names the account.
//
// An OTP is returned only while it is valid at the moment of the request; an expired one answers
// exactly as an ID that never existed, and an account without the ID (or without any item, or
// not configured at all) answers that too, so a caller learns nothing from the difference. API
// Gateway checks the caller's SigV4 signature and execute-api:Invoke permission before the
// function runs; the function refuses a request without requestContext.authorizer.iam all the
// same (a route deployed without IAM by mistake, a direct invocation).
package lookup

import (
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
)

// Route keys, as API Gateway sends them in routeKey (and template.yaml declares them).
const (
	// The default account's routes (before key spaces, every account's items were found here).
	OTPRouteKey      = "GET /shipping/otps/{trackingId}"
	TrackingRouteKey = "GET /shipping/tracking/{trackingId}"
	// One account's routes, the account named by the path. Their prefix, shipping/accounts/, is
	// matched by no resource of the default routes' policy (…/GET/shipping/otps/*,
	// …/GET/shipping/tracking/*), and theirs matches neither default route.
	AccountOTPRouteKey      = "GET /shipping/accounts/{account}/otps/{trackingId}"
	AccountTrackingRouteKey = "GET /shipping/accounts/{account}/tracking/{trackingId}"
	// PathParameter is the routes' tracking ID path variable.
	PathParameter = "trackingId"
	// AccountParameter is the account routes' account label path variable.
	AccountParameter = "account"
	// MaxTrackingIDBytes is the longest tracking ID looked up: the Shipping webhook stores none
	// longer.
	MaxTrackingIDBytes = 256
)

// Kind is what a request looks up.
type Kind int

const (
	OTP Kind = iota + 1
	Tracking
)

func (k Kind) String() string {
	switch k {
	case OTP:
		return "otp"
	case Tracking:
		return "tracking"
	}
	return "unknown"
}

// RouteKeys are the lookup routes, as template.yaml declares them on ShippingLookupFunction.
var RouteKeys = []string{OTPRouteKey, TrackingRouteKey, AccountOTPRouteKey, AccountTrackingRouteKey}

// routes is what each route key looks up, and whether its path names the account.
var routes = map[string]struct {
	kind     Kind
	labelled bool
}{
	OTPRouteKey:             {OTP, false},
	TrackingRouteKey:        {Tracking, false},
	AccountOTPRouteKey:      {OTP, true},
	AccountTrackingRouteKey: {Tracking, true},
}

// IsRoute reports whether routeKey is a lookup route.
func IsRoute(routeKey string) bool {
	_, ok := routes[routeKey]
	return ok
}

// Request is a lookup request as Parse read it.
type Request struct {
	Kind Kind
	// Account is the label of the account whose key space is read: the path's on the account
	// routes, account.Default on the others.
	Account    string
	TrackingID string
	// Caller is the IAM identity API Gateway verified.
	Caller *events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription
}

// Problem is why a request is refused, and how: its HTTP status and the JSON body's fields.
type Problem struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (p *Problem) Error() string { return p.Message }

// The refusals Parse makes.
var (
	ErrNoIdentity = &Problem{Status: 403, Code: "forbidden", Message: "this route needs IAM authorization: sign the request with SigV4 (service execute-api)"}
	ErrNoRoute    = &Problem{Status: 404, Code: "not_found", Message: "no such lookup route"}
	ErrBadID      = &Problem{Status: 400, Code: "invalid_payload", Field: PathParameter,
		Message: "trackingId must be 1 to 256 bytes of UTF-8 without control characters or \"#\", as Amazon's are"}
	// ErrBadAccount refuses what cannot be a label (account.Check); a label that can be one but
	// names no configured account is not refused: it answers 404 as an unknown ID does, so that
	// no caller learns which labels exist.
	ErrBadAccount = &Problem{Status: 400, Code: "invalid_payload", Field: AccountParameter,
		Message: "account must be an account label: 1 to 64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit"}
)

// Parse reads a lookup request: the caller's IAM identity first (nothing else is looked at
// without one), then the route, the account (the path's on the account routes; an account
// parameter on the default routes, which API Gateway never sends, is ignored) and the tracking ID.
func Parse(req *events.APIGatewayV2HTTPRequest) (Request, *Problem) {
	a := req.RequestContext.Authorizer
	if a == nil || a.IAM == nil {
		return Request{}, ErrNoIdentity
	}
	rt, ok := routes[req.RouteKey]
	if !ok {
		return Request{}, ErrNoRoute
	}
	r := Request{Kind: rt.kind, Account: account.Default, Caller: a.IAM}
	if rt.labelled {
		// account.Check admits only [a-z0-9._-]: the label read is the very path segment the
		// caller's IAM policy matched (no "/", "%", "*" or "#" can widen or shift it).
		r.Account = req.PathParameters[AccountParameter]
		if account.Check(r.Account) != nil {
			return Request{}, ErrBadAccount
		}
	}
	r.TrackingID = req.PathParameters[PathParameter]
	if !ValidTrackingID(r.TrackingID) {
		return Request{}, ErrBadID
	}
	return r, nil
}

// ValidTrackingID reports whether id can be a stored tracking ID (ErrBadID says which can): one
// Amazon could send (otpstore.CheckTrackingID), so that no request names an audit item or
// another account's item.
func ValidTrackingID(id string) bool {
	if id == "" || len(id) > MaxTrackingIDBytes || !utf8.ValidString(id) {
		return false
	}
	return otpstore.CheckTrackingID(id) == nil
}
