package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/amazon-webhook-gateway/gateway/tools/localstack/apigateway"
)

// invokePrefix is where the Lambda Invoke API is served, next to the HTTP API's routes:
// POST /2015-03-31/functions/{FunctionName}/invocations.
const invokePrefix = "/2015-03-31/functions/"

// Lambda's limit on a synchronous invocation's request payload.
const maxInvokePayloadBytes = 6 << 20

// invokeAPI is a local stand-in of the Lambda Invoke API for the stack's functions, as the AWS
// SDK calls it (lambda.Client.Invoke with AWS_ENDPOINT_URL_LAMBDA pointing here): RequestResponse
// and DryRun invocations of $LATEST. A function is named by its logical ID, by the
// AWS_LAMBDA_FUNCTION_NAME it runs with, or by an ARN or partial ARN ending in either.
//
// Like Lambda it answers 200 with the function's result; a function that failed is still 200,
// with X-Amz-Function-Error: Unhandled and Lambda's error document as the payload. API errors
// carry X-Amzn-ErrorType and {"Type","message"}: 404 ResourceNotFoundException, 400
// InvalidRequestContentException (payload not JSON), 413 RequestTooLargeException, 400
// InvalidParameterValueException (an invocation type other than RequestResponse and DryRun).
// Its log line per invocation has the function, status and duration, never the payload.
type invokeAPI struct {
	functions map[string]string // every name a function answers to -> its logical ID
	invoker   apigateway.Invoker
	log       io.Writer
	logMu     sync.Mutex
}

func (a *invokeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	requestID := newInvokeRequestID()
	w.Header().Set("X-Amzn-Requestid", requestID)
	fn, status, functionError := "-", 0, ""
	defer func() {
		line := fmt.Sprintf("%s LAMBDA Invoke %s %d %s id=%s", start.UTC().Format(time.RFC3339), fn, status,
			time.Since(start).Round(time.Microsecond), requestID)
		if functionError != "" {
			line += " functionError=" + functionError
		}
		a.logf("%s", line)
	}()
	fail := func(code int, errorType, message string) {
		status = code
		writeLambdaError(w, code, errorType, message)
	}

	name, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, invokePrefix), "/invocations")
	if r.Method != http.MethodPost || !ok || name == "" || strings.Contains(name, "/") {
		fail(http.StatusNotFound, "UnknownOperationException", "Unknown operation "+r.Method+" "+r.URL.Path)
		return
	}
	logicalID, found := a.resolve(name, r.URL.Query().Get("Qualifier"))
	if !found {
		fail(http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+name+" (local functions: "+strings.Join(a.names(), ", ")+")")
		return
	}
	fn = logicalID
	invocationType := r.Header.Get("X-Amz-Invocation-Type")
	switch invocationType {
	case "", "RequestResponse", "DryRun":
	default:
		fail(http.StatusBadRequest, "InvalidParameterValueException",
			fmt.Sprintf("invocation type %q: the local stack runs RequestResponse and DryRun invocations only", invocationType))
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, maxInvokePayloadBytes+1))
	switch {
	case err != nil:
		fail(http.StatusBadRequest, "InvalidRequestContentException", "reading the request payload: "+err.Error())
		return
	case len(payload) > maxInvokePayloadBytes:
		fail(http.StatusRequestEntityTooLarge, "RequestTooLargeException",
			fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", maxInvokePayloadBytes))
		return
	case len(bytes.TrimSpace(payload)) == 0:
		payload = nil // Lambda hands the function {}
	case !json.Valid(payload):
		fail(http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
		return
	}
	if invocationType == "DryRun" {
		status = http.StatusNoContent
		w.WriteHeader(status)
		return
	}

	resp, fnErr, err := a.invoker.Invoke(r.Context(), logicalID, payload)
	if err != nil {
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			status = 499 // the caller went away; nobody reads an answer
			return
		}
		fail(http.StatusInternalServerError, "ServiceException", fmt.Sprintf("invoking %s: %v", logicalID, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amz-Executed-Version", "$LATEST")
	if fnErr != "" {
		// Lambda's header says only that the function failed; the error type is in the payload.
		functionError = fnErr
		h.Set("X-Amz-Function-Error", "Unhandled")
	}
	status = http.StatusOK
	w.WriteHeader(status)
	_, _ = w.Write(resp)
}

// resolve maps a FunctionName (name, name:qualifier, ARN or partial ARN) and the Qualifier
// parameter to a logical ID. Only $LATEST is deployed locally.
func (a *invokeAPI) resolve(name, qualifier string) (string, bool) {
	parts := strings.Split(name, ":")
	var qual string
	switch {
	case len(parts) >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function": // arn:aws:lambda:region:account:function:name[:qualifier]
		name, parts = parts[6], parts[7:]
	case len(parts) >= 3 && parts[1] == "function": // account:function:name[:qualifier]
		name, parts = parts[2], parts[3:]
	default: // name[:qualifier]
		name, parts = parts[0], parts[1:]
	}
	switch len(parts) {
	case 0:
	case 1:
		qual = parts[0]
	default:
		return "", false
	}
	if qual != "" && qualifier != "" && qual != qualifier {
		return "", false
	}
	if qual == "" {
		qual = qualifier
	}
	if qual != "" && qual != "$LATEST" {
		return "", false
	}
	id, ok := a.functions[name]
	return id, ok
}

// names are the function names the API answers to, sorted.
func (a *invokeAPI) names() []string {
	out := make([]string, 0, len(a.functions))
	for n := range a.functions {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (a *invokeAPI) logf(format string, args ...any) {
	if a.log == nil {
		return
	}
	a.logMu.Lock()
	defer a.logMu.Unlock()
	fmt.Fprintf(a.log, format+"\n", args...)
}

// writeLambdaError answers as the Lambda API does: the error code in X-Amzn-ErrorType (which the
// AWS SDK maps to its typed errors) and {"Type","message"}.
func writeLambdaError(w http.ResponseWriter, status int, errorType, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", errorType)
	w.WriteHeader(status)
	kind := "User"
	if status >= 500 {
		kind = "Service"
	}
	b, _ := json.Marshal(struct {
		Type    string `json:"Type"`
		Message string `json:"message"`
	}{kind, message})
	_, _ = w.Write(b)
}

func newInvokeRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
