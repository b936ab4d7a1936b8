package apigateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// httpResponse is what API Gateway makes of a function's answer.
type httpResponse struct {
	status  int
	headers map[string]string
	cookies []string
	body    []byte
}

// headersManagedByServer are response headers the function may name but that the HTTP server
// computes itself (a wrong content-length would break the connection).
var headersManagedByServer = map[string]bool{
	"content-length":    true,
	"transfer-encoding": true,
	"connection":        true,
	"keep-alive":        true,
	"upgrade":           true,
	"trailer":           true,
}

// parseResponse applies the payload 2.0 response rules to a function's JSON answer.
//
// An object with a "statusCode" key is a structured response: statusCode (an integer,
// 200-599), headers (string values), cookies (each one a Set-Cookie header), body (a string,
// base64-decoded when isBase64Encoded is true). multiValueHeaders is not part of the 2.0
// response format and is ignored, as API Gateway does. Any other valid JSON is answered 200
// with content-type application/json and the JSON as the body; a JSON string is returned as
// its value, without quotes.
func parseResponse(payload []byte) (httpResponse, error) {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 || !json.Valid(trimmed) {
		return httpResponse{}, errors.New("function response is not valid JSON")
	}
	inferred := httpResponse{status: http.StatusOK, headers: map[string]string{"content-type": "application/json"}}
	switch trimmed[0] {
	case '"':
		var s string
		if err := json.Unmarshal(trimmed, &s); err != nil {
			return httpResponse{}, err
		}
		inferred.body = []byte(s)
		return inferred, nil
	case '{':
	default:
		inferred.body = trimmed
		return inferred, nil
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &probe); err != nil {
		return httpResponse{}, err
	}
	if _, ok := probe["statusCode"]; !ok {
		inferred.body = trimmed
		return inferred, nil
	}

	var out struct {
		StatusCode      json.RawMessage   `json:"statusCode"`
		Headers         map[string]string `json:"headers"`
		Cookies         []string          `json:"cookies"`
		Body            *string           `json:"body"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(trimmed, &out); err != nil {
		return httpResponse{}, fmt.Errorf("malformed function response: %w", err)
	}
	var status int
	if err := json.Unmarshal(out.StatusCode, &status); err != nil || status < 200 || status > 599 {
		return httpResponse{}, fmt.Errorf("malformed function response: statusCode %s is not an HTTP status", out.StatusCode)
	}
	resp := httpResponse{status: status, headers: map[string]string{}, cookies: out.Cookies}
	for k, v := range out.Headers {
		resp.headers[strings.ToLower(k)] = v
	}
	if _, ok := resp.headers["content-type"]; !ok {
		// What `sam local start-api` does for payload 2.0 too.
		resp.headers["content-type"] = "application/json"
	}
	if out.Body != nil {
		if out.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(*out.Body)
			if err != nil {
				return httpResponse{}, fmt.Errorf("malformed function response: body is not valid base64: %w", err)
			}
			resp.body = b
		} else {
			resp.body = []byte(*out.Body)
		}
	}
	return resp, nil
}

// WriteResponse turns a function's payload 2.0 answer into the HTTP response API Gateway would
// send (see parseResponse for the rules). Headers already set on w (such as apigw-requestid)
// are kept. A payload API Gateway would reject is answered 500 {"message":"Internal Server
// Error"} and the reason returned; nothing of the payload is written then.
func WriteResponse(w http.ResponseWriter, payload []byte) error {
	resp, err := parseResponse(payload)
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return err
	}
	h := w.Header()
	for k, v := range resp.headers {
		if headersManagedByServer[k] {
			continue
		}
		h.Set(k, v)
	}
	for _, c := range resp.cookies {
		h.Add("Set-Cookie", c)
	}
	w.WriteHeader(resp.status)
	if len(resp.body) == 0 || resp.status == http.StatusNoContent || resp.status == http.StatusNotModified {
		return nil
	}
	_, err = w.Write(resp.body)
	return err
}

// writeMessage writes one of API Gateway's own answers: {"message":"..."} as JSON.
func writeMessage(w http.ResponseWriter, status int, message string) {
	body, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
