package httpapi

import "encoding/json"

// marshalBody is an answer's JSON body: json.Marshal(v), HTML-escaped ('<' as \u003c) as every
// body has been (tests/badinput compares them).
func marshalBody(v any) ([]byte, error) { return json.Marshal(v) }
