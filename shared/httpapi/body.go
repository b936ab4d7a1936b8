package httpapi

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/amazon-webhook-gateway/gateway/shared/jsonenc"
)

// marshalBody is json.Marshal(v), written by hand for the bodies answered on every delivery: an
// ErrorBody, and a map of ids and "status" whose values are strings, ints or bools.
func marshalBody(v any) ([]byte, error) {
	switch v := v.(type) {
	case ErrorBody:
		b := make([]byte, 0, 32+len(v.Error)+len(v.Message)+len(v.Field))
		b = append(b, `{"error":`...)
		b = jsonenc.String(b, v.Error, true)
		b = append(b, `,"message":`...)
		b = jsonenc.String(b, v.Message, true)
		if v.Field != "" {
			b = append(b, `,"field":`...)
			b = jsonenc.String(b, v.Field, true)
		}
		return append(b, '}'), nil
	case map[string]any:
		if b, ok := appendFlatMap(make([]byte, 0, 128), v); ok {
			return b, nil
		}
	}
	return json.Marshal(v)
}

// appendFlatMap appends m, keys sorted, if every value is a string, an int or a bool; ok is
// false otherwise (the caller falls back to json.Marshal). A nil map is null.
func appendFlatMap(b []byte, m map[string]any) (_ []byte, ok bool) {
	if m == nil {
		return append(b, "null"...), true
	}
	var buf [8]string
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonenc.String(b, k, true)
		b = append(b, ':')
		switch x := m[k].(type) {
		case string:
			b = jsonenc.String(b, x, true)
		case int:
			b = strconv.AppendInt(b, int64(x), 10)
		case bool:
			b = strconv.AppendBool(b, x)
		default:
			return nil, false
		}
	}
	return append(b, '}'), true
}
