package httpapi

import (
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/jsonobject"
)

// DecodeRequest reads payload, an HTTP API (payload 2.0) request as Lambda hands it to the
// function, into req without reflection: encoding/json took a fifth to a third of a delivery's
// in-process time on it. ok is false, and req untouched, when payload holds anything beyond the
// fields API Gateway sends, the way it sends them (an authorizer, an unknown or differently cased
// name, a null, a repeated name); the caller then decodes it with encoding/json, whose reading this
// one matches (FuzzDecodeRequest).
func DecodeRequest(payload []byte, req *events.APIGatewayV2HTTPRequest) bool {
	var r events.APIGatewayV2HTTPRequest
	var seen fields
	ok := jsonobject.Object(payload, func(name []byte, v jsonobject.Value) bool {
		switch string(name) {
		case "version":
			return seen.first(0) && str(v, &r.Version)
		case "routeKey":
			return seen.first(1) && str(v, &r.RouteKey)
		case "rawPath":
			return seen.first(2) && str(v, &r.RawPath)
		case "rawQueryString":
			return seen.first(3) && str(v, &r.RawQueryString)
		case "cookies":
			return seen.first(4) && strs(v, &r.Cookies)
		case "headers":
			return seen.first(5) && strMap(v, &r.Headers)
		case "queryStringParameters":
			return seen.first(6) && strMap(v, &r.QueryStringParameters)
		case "pathParameters":
			return seen.first(7) && strMap(v, &r.PathParameters)
		case "stageVariables":
			return seen.first(8) && strMap(v, &r.StageVariables)
		case "requestContext":
			return seen.first(9) && requestContext(v, &r.RequestContext)
		case "body":
			return seen.first(10) && str(v, &r.Body)
		case "isBase64Encoded":
			return seen.first(11) && boolean(v, &r.IsBase64Encoded)
		}
		return false
	})
	if ok {
		*req = r
	}
	return ok
}

// fields records which of an object's known names were read, to decline a repeated one (encoding/json
// would keep the last, or merge a repeated map).
type fields uint32

func (f *fields) first(i int) bool {
	bit := fields(1) << i
	if *f&bit != 0 {
		return false
	}
	*f |= bit
	return true
}

func requestContext(v jsonobject.Value, c *events.APIGatewayV2HTTPRequestContext) bool {
	var seen fields
	return jsonobject.Object(v.Raw, func(name []byte, v jsonobject.Value) bool {
		switch string(name) {
		case "routeKey":
			return seen.first(0) && str(v, &c.RouteKey)
		case "accountId":
			return seen.first(1) && str(v, &c.AccountID)
		case "stage":
			return seen.first(2) && str(v, &c.Stage)
		case "requestId":
			return seen.first(3) && str(v, &c.RequestID)
		case "apiId":
			return seen.first(4) && str(v, &c.APIID)
		case "domainName":
			return seen.first(5) && str(v, &c.DomainName)
		case "domainPrefix":
			return seen.first(6) && str(v, &c.DomainPrefix)
		case "time":
			return seen.first(7) && str(v, &c.Time)
		case "timeEpoch":
			// encoding/json reads an int64 with strconv.ParseInt, and fails where it fails.
			n, err := strconv.ParseInt(string(v.Raw), 10, 64)
			c.TimeEpoch = n
			return seen.first(8) && err == nil
		case "http":
			return seen.first(9) && httpDescription(v, &c.HTTP)
		}
		return false
	})
}

func httpDescription(v jsonobject.Value, h *events.APIGatewayV2HTTPRequestContextHTTPDescription) bool {
	var seen fields
	return jsonobject.Object(v.Raw, func(name []byte, v jsonobject.Value) bool {
		switch string(name) {
		case "method":
			return seen.first(0) && str(v, &h.Method)
		case "path":
			return seen.first(1) && str(v, &h.Path)
		case "protocol":
			return seen.first(2) && str(v, &h.Protocol)
		case "sourceIp":
			return seen.first(3) && str(v, &h.SourceIP)
		case "userAgent":
			return seen.first(4) && str(v, &h.UserAgent)
		}
		return false
	})
}

func str(v jsonobject.Value, dst *string) (ok bool) {
	*dst, ok = v.String()
	return ok
}

func boolean(v jsonobject.Value, dst *bool) bool {
	switch string(v.Raw) {
	case "true":
		*dst = true
	case "false":
		*dst = false
	default:
		return false
	}
	return true
}

func strs(v jsonobject.Value, dst *[]string) bool {
	elements, ok := jsonobject.Elements(v.Raw)
	if !ok {
		return false
	}
	out := make([]string, len(elements))
	for i, e := range elements {
		if out[i], ok = jsonobject.String(e); !ok {
			return false
		}
	}
	*dst = out
	return true
}

func strMap(v jsonobject.Value, dst *map[string]string) bool {
	out := make(map[string]string, 8)
	ok := jsonobject.Object(v.Raw, func(name []byte, v jsonobject.Value) bool {
		k := string(name)
		if _, repeated := out[k]; repeated {
			return false
		}
		s, ok := v.String()
		out[k] = s
		return ok
	})
	if ok {
		*dst = out
	}
	return ok
}
