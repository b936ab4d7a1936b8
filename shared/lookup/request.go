// Package lookup answers the applications' questions about a shipment, behind IAM: the OTP a
// courier or customer must be told now (GET /shipping/otps/{trackingId}, by the forward or the
// alternate-leg tracking ID) and the latest tracking state (GET /shipping/tracking/{trackingId}).
//
// An OTP is returned only while it is valid at the moment of the request; an expired one answers
// exactly as an ID that never existed, so a caller learns nothing from the difference. API
// Gateway checks the caller's SigV4 signature and execute-api:Invoke permission before the
// function runs; the function refuses a request without requestContext.authorizer.iam all the
// same (a route deployed without IAM by mistake, a direct invocation).
package lookup

import (
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
)

// Route keys, as API Gateway sends them in routeKey (and template.yaml declares them).
const (
	OTPRouteKey      = "GET /shipping/otps/{trackingId}"
	TrackingRouteKey = "GET /shipping/tracking/{trackingId}"
	// PathParameter is the routes' path variable.
	PathParameter = "trackingId"
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

// Request is a lookup request as Parse read it.
type Request struct {
	Kind       Kind
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
)

// Parse reads a lookup request: the caller's IAM identity first (nothing else is looked at
// without one), then the route and the tracking ID.
func Parse(req *events.APIGatewayV2HTTPRequest) (Request, *Problem) {
	a := req.RequestContext.Authorizer
	if a == nil || a.IAM == nil {
		return Request{}, ErrNoIdentity
	}
	r := Request{Caller: a.IAM}
	switch req.RouteKey {
	case OTPRouteKey:
		r.Kind = OTP
	case TrackingRouteKey:
		r.Kind = Tracking
	default:
		return Request{}, ErrNoRoute
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
