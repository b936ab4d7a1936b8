package main

import (
	"encoding/base64"

	"github.com/aws/aws-lambda-go/events"
)

func decodeBody(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if req.IsBase64Encoded {
		return base64.StdEncoding.DecodeString(req.Body)
	}
	return []byte(req.Body), nil
}
