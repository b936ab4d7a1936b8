package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/amazon-webhook-gateway/gateway/tests/testenv"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
	"github.com/amazon-webhook-gateway/gateway/tools/localstack/apigateway"
)

// recordingInvoker echoes the payload, or fails as the function named "Crashing" does.
type recordingInvoker struct {
	mu    sync.Mutex
	calls []string
}

func (r *recordingInvoker) Invoke(_ context.Context, fn string, payload []byte) ([]byte, string, error) {
	r.mu.Lock()
	r.calls = append(r.calls, fn)
	r.mu.Unlock()
	if fn == "Crashing" {
		return []byte(`{"errorMessage":"boom","errorType":"Runtime.ExitError"}`), "Runtime.ExitError", nil
	}
	if payload == nil {
		payload = []byte("{}")
	}
	return append([]byte(`{"echo":`), append(payload, '}')...), "", nil
}

// invokeServer serves the Invoke API for ShippingOtpFunction (also named "shipping-otp-dev", as
// a function whose AWS_LAMBDA_FUNCTION_NAME differs) and Crashing, and returns an SDK client on it.
func invokeServer(t *testing.T) (*lambda.Client, *recordingInvoker, *testenv.LogBuffer) {
	t.Helper()
	inv := &recordingInvoker{}
	logs := &testenv.LogBuffer{}
	api := &invokeAPI{
		functions: map[string]string{"ShippingOtpFunction": "ShippingOtpFunction", "shipping-otp-dev": "ShippingOtpFunction", "Crashing": "Crashing"},
		invoker:   inv,
		log:       logs,
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	client := lambda.New(lambda.Options{
		Region:       localaws.Region,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(srv.URL),
	})
	return client, inv, logs
}

func TestInvokeAPIAnswersLikeLambda(t *testing.T) {
	ctx := context.Background()
	client, inv, logs := invokeServer(t)
	payload := []byte(`{"quarantineReplay":{"key":"quarantine/shipping/x.json"}}`)

	for _, name := range []string{
		"ShippingOtpFunction",
		"shipping-otp-dev",
		"ShippingOtpFunction:$LATEST",
		"arn:aws:lambda:eu-west-1:123456789012:function:ShippingOtpFunction",
		"arn:aws:lambda:eu-west-1:123456789012:function:shipping-otp-dev:$LATEST",
		"123456789012:function:ShippingOtpFunction",
	} {
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: payload})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out.StatusCode != 200 || out.FunctionError != nil || string(out.Payload) != `{"echo":`+string(payload)+`}` || aws.ToString(out.ExecutedVersion) != "$LATEST" {
			t.Errorf("%s: %d %v %s", name, out.StatusCode, out.FunctionError, out.Payload)
		}
	}
	if got := strings.Join(inv.calls, ","); got != strings.TrimSuffix(strings.Repeat("ShippingOtpFunction,", 6), ",") {
		t.Errorf("invoked %s", got)
	}
	if _, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("ShippingOtpFunction"), Qualifier: aws.String("$LATEST")}); err != nil {
		t.Errorf("Qualifier $LATEST: %v", err)
	}

	// A function that failed: 200, X-Amz-Function-Error, Lambda's error document.
	out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("Crashing")})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorType":"Runtime.ExitError"`) {
		t.Errorf("function error: %+v, %v", out, err)
	}

	// DryRun checks the function and the payload, and runs nothing.
	calls := len(inv.calls)
	out, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("ShippingOtpFunction"), InvocationType: lambdatypes.InvocationTypeDryRun})
	if err != nil || out.StatusCode != 204 || len(inv.calls) != calls {
		t.Errorf("DryRun: %+v, %v", out, err)
	}

	// API errors, typed by the SDK as Lambda's are.
	var notFound *lambdatypes.ResourceNotFoundException
	for _, in := range []*lambda.InvokeInput{
		{FunctionName: aws.String("NoSuchFunction")},
		{FunctionName: aws.String("ShippingOtpFunction:7")},
		{FunctionName: aws.String("ShippingOtpFunction"), Qualifier: aws.String("live")},
		{FunctionName: aws.String("arn:aws:lambda:eu-west-1:123456789012:function:NoSuchFunction")},
	} {
		_, err := client.Invoke(ctx, in)
		if !errors.As(err, &notFound) || !strings.Contains(aws.ToString(notFound.Message), "Function not found") {
			t.Errorf("%s (qualifier %q): %v, want ResourceNotFoundException", aws.ToString(in.FunctionName), aws.ToString(in.Qualifier), err)
		}
	}
	var badContent *lambdatypes.InvalidRequestContentException
	if _, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("ShippingOtpFunction"), Payload: []byte("{not json")}); !errors.As(err, &badContent) {
		t.Errorf("invalid JSON: %v, want InvalidRequestContentException", err)
	}
	var badParam *lambdatypes.InvalidParameterValueException
	if _, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("ShippingOtpFunction"), InvocationType: lambdatypes.InvocationTypeEvent}); !errors.As(err, &badParam) {
		t.Errorf("Event invocation: %v, want InvalidParameterValueException", err)
	}
	var apiErr smithy.APIError
	if _, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("ShippingOtpFunction"), Payload: []byte(`"` + strings.Repeat("x", maxInvokePayloadBytes) + `"`)}); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "RequestTooLargeException" {
		t.Errorf("oversized payload: %v, want RequestTooLargeException", err)
	}

	// One log line per invocation, without the payload.
	text := logs.String()
	if strings.Contains(text, "quarantine/shipping/x.json") || !strings.Contains(text, "LAMBDA Invoke ShippingOtpFunction 200") ||
		!strings.Contains(text, "LAMBDA Invoke Crashing 200") || !strings.Contains(text, "functionError=Runtime.ExitError") ||
		!strings.Contains(text, "LAMBDA Invoke - 404") {
		t.Errorf("log:\n%s", text)
	}
}

func TestInvokeAPIUnknownOperation(t *testing.T) {
	api := &invokeAPI{functions: map[string]string{"F": "F"}, invoker: &recordingInvoker{}}
	for _, tc := range []struct{ method, path string }{
		{"GET", invokePrefix + "F/invocations"},
		{"POST", invokePrefix + "F/configuration"},
		{"POST", invokePrefix + "/invocations"},
	} {
		w := httptest.NewRecorder()
		api.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
		if w.Code != http.StatusNotFound || w.Header().Get("X-Amzn-Errortype") != "UnknownOperationException" {
			t.Errorf("%s %s: %d %v", tc.method, tc.path, w.Code, w.Header())
		}
	}
}

func TestStackHandlerRefusesARouteOnTheInvokePath(t *testing.T) {
	s := &stack{}
	_, err := s.handler([]apigateway.Route{{Method: "POST", Path: invokePrefix + "{name}/invocations", Function: "F"}}, nil)
	if err == nil {
		t.Error("a route under the Invoke API's path was accepted")
	}
}
