package pipeline

import (
	"slices"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/jsonenc"
)

// appendResponse appends resp and a newline as a json.Encoder without HTML escaping encodes it
// (Invoke's answer to Lambda), by hand: one is encoded per invocation. Map keys are sorted, nil
// maps and slices are null, isBase64Encoded is omitted when false, as the struct's tags say.
func appendResponse(b []byte, resp *events.APIGatewayV2HTTPResponse) []byte {
	b = append(b, `{"statusCode":`...)
	b = strconv.AppendInt(b, int64(resp.StatusCode), 10)
	b = append(b, `,"headers":`...)
	if resp.Headers == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		var buf [16]string
		for i, k := range sortedKeys(resp.Headers, buf[:]) {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.String(b, k, false)
			b = append(b, ':')
			b = jsonenc.String(b, resp.Headers[k], false)
		}
		b = append(b, '}')
	}
	b = append(b, `,"multiValueHeaders":`...)
	if resp.MultiValueHeaders == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		for i, k := range sortedKeys(resp.MultiValueHeaders, nil) {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.String(b, k, false)
			b = append(b, ':')
			b = appendStrings(b, resp.MultiValueHeaders[k])
		}
		b = append(b, '}')
	}
	b = append(b, `,"body":`...)
	b = jsonenc.String(b, resp.Body, false)
	if resp.IsBase64Encoded {
		b = append(b, `,"isBase64Encoded":true`...)
	}
	b = append(b, `,"cookies":`...)
	b = appendStrings(b, resp.Cookies)
	return append(b, "}\n"...)
}

// sortedKeys is m's keys in order, in buf when they fit (an answer has about eight headers).
func sortedKeys[V any](m map[string]V, buf []string) []string {
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendStrings appends ss as a JSON array, null when nil.
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonenc.String(b, s, false)
	}
	return append(b, ']')
}
