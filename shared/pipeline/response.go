package pipeline

import (
	"bytes"
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"
)

// encodeResponse is resp as lambda.Start encodes a handler func's answer (Invoke's answer to
// Lambda): a json.Encoder without HTML escaping, the newline it ends with dropped, as lambda.Start
// drops it.
func encodeResponse(resp *events.APIGatewayV2HTTPResponse) ([]byte, error) {
	out := bytes.NewBuffer(make([]byte, 0, 512+len(resp.Body)))
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(resp); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}
