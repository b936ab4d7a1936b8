package httpapi

import "encoding/json"

// JSONString is a JSON body's member value raw (as encoding/json's RawMessage keeps it) read as a
// string: ok only when raw is exactly one JSON string, with no white space around it.
func JSONString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}
