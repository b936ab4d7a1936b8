package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

const testStack = "gateway-test"

// fakeAWS answers DescribeStackResource (AWS Query protocol, XML) and GetFunctionConfiguration
// (REST-JSON) as CloudFormation and Lambda do, for one stack.
type fakeAWS struct {
	t *testing.T
	// env is each deployed function's variables by LogicalId; a LogicalId absent is not in the
	// stack. The deployed function's name is physical(LogicalId).
	env map[string]map[string]string
	// denyStack and denyLambda are the LogicalIds whose call is refused (AccessDenied).
	denyStack, denyLambda map[string]bool

	mu    sync.Mutex
	calls []string
}

func physical(id string) string { return testStack + "-" + id + "-AbC123" }

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		f.t.Errorf("%s %s: not SigV4-signed", r.Method, r.URL.Path)
	}
	const lambdaPrefix, lambdaSuffix = "/2015-03-31/functions/", "/configuration"
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/":
		f.describeStackResource(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, lambdaPrefix) && strings.HasSuffix(r.URL.Path, lambdaSuffix):
		name, _ := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, lambdaPrefix), lambdaSuffix))
		f.getFunctionConfiguration(w, name)
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.Error(w, "unexpected", http.StatusNotFound)
	}
}

func (f *fakeAWS) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeAWS) describeStackResource(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		f.t.Fatal(err)
	}
	if a, v := r.PostForm.Get("Action"), r.PostForm.Get("Version"); a != "DescribeStackResource" || v != "2010-05-15" {
		f.t.Errorf("CloudFormation Action=%s Version=%s", a, v)
	}
	stack, id := r.PostForm.Get("StackName"), r.PostForm.Get("LogicalResourceId")
	f.record("DescribeStackResource " + id)
	w.Header().Set("Content-Type", "text/xml")
	queryError := func(status int, typ, code, msg string) {
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error>
  <RequestId>5ccc7dcd-744c-11e5-be70-example</RequestId>
</ErrorResponse>`, typ, code, msg)
	}
	_, found := f.env[id]
	switch {
	case stack != testStack:
		queryError(400, "Sender", "ValidationError", "Stack with id "+stack+" does not exist")
	case f.denyStack[id]:
		queryError(403, "Sender", "AccessDenied", "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: cloudformation:DescribeStackResource on resource: arn:aws:cloudformation:eu-west-1:123456789012:stack/"+stack+"/* because no identity-based policy allows the cloudformation:DescribeStackResource action")
	case !found:
		queryError(400, "Sender", "ValidationError", "Resource "+id+" does not exist for stack "+stack)
	default:
		fmt.Fprintf(w, `<DescribeStackResourceResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <DescribeStackResourceResult>
    <StackResourceDetail>
      <StackId>arn:aws:cloudformation:eu-west-1:123456789012:stack/%[1]s/0b5a6b10-0000-0000-0000-example</StackId>
      <StackName>%[1]s</StackName>
      <LogicalResourceId>%[2]s</LogicalResourceId>
      <PhysicalResourceId>%[3]s</PhysicalResourceId>
      <ResourceType>AWS::Lambda::Function</ResourceType>
      <LastUpdatedTimestamp>2026-11-20T10:00:00.000Z</LastUpdatedTimestamp>
      <ResourceStatus>UPDATE_COMPLETE</ResourceStatus>
      <Metadata>{"SamResourceId":"%[2]s"}</Metadata>
      <DriftInformation><StackResourceDriftStatus>NOT_CHECKED</StackResourceDriftStatus></DriftInformation>
    </StackResourceDetail>
  </DescribeStackResourceResult>
  <ResponseMetadata><RequestId>5ccc7dcd-744c-11e5-be70-example</RequestId></ResponseMetadata>
</DescribeStackResourceResponse>`, stack, id, physical(id))
	}
}

func (f *fakeAWS) getFunctionConfiguration(w http.ResponseWriter, name string) {
	f.record("GetFunctionConfiguration " + name)
	var id string
	for candidate := range f.env {
		if physical(candidate) == name {
			id = candidate
		}
	}
	w.Header().Set("Content-Type", "application/json")
	lambdaError := func(status int, typ, msg string) {
		w.Header().Set("X-Amzn-Errortype", typ)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "Message": msg})
	}
	switch {
	case id == "":
		lambdaError(404, "ResourceNotFoundException", "Function not found: arn:aws:lambda:eu-west-1:123456789012:function:"+name)
	case f.denyLambda[id]:
		lambdaError(403, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: lambda:GetFunctionConfiguration on resource: arn:aws:lambda:eu-west-1:123456789012:function:"+name+" because no identity-based policy allows the lambda:GetFunctionConfiguration action")
	default:
		_ = json.NewEncoder(w).Encode(map[string]any{
			"FunctionName":  name,
			"FunctionArn":   "arn:aws:lambda:eu-west-1:123456789012:function:" + name,
			"Runtime":       "provided.al2023",
			"Handler":       "bootstrap",
			"Architectures": []string{"arm64"},
			"Environment":   map[string]any{"Variables": f.env[id]},
			"State":         "Active",
		})
	}
}

// connectTo points the real SDK clients at srv.
func connectTo(srv *httptest.Server) connector {
	return func(context.Context) (stackResources, functionConfigs, error) {
		cfg := aws.Config{
			Region:       "eu-west-1",
			Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""),
			BaseEndpoint: aws.String(srv.URL),
			HTTPClient:   srv.Client(),
		}
		return cloudformation.NewFromConfig(cfg), lambda.NewFromConfig(cfg), nil
	}
}

// deployed is, for every function of template.yaml, the variables a deployment of it has: the
// template's names, each with a value that names its function and variable.
func deployed(t *testing.T) map[string]map[string]string {
	t.Helper()
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]map[string]string{}
	for _, id := range tmpl.Functions() {
		env[id] = map[string]string{}
		for _, name := range tmpl.FunctionEnv(id) {
			env[id][name] = "secret-value-" + id + "-" + name
		}
	}
	return env
}

func without(m map[string]map[string]string, ids ...string) map[string]map[string]string {
	out := maps.Clone(m)
	for _, id := range ids {
		delete(out, id)
	}
	return out
}

func readEnv(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]map[string]string
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return env
}

func TestEnvJSONFromDeployedStack(t *testing.T) {
	all := deployed(t)
	ids := slices.Sorted(maps.Keys(all))
	tests := []struct {
		name       string
		args       []string // besides -stack and -out
		env        map[string]map[string]string
		denyStack  map[string]bool
		denyLambda map[string]bool
		wantCode   int
		wantIDs    []string // written; nil: no file
		wantStderr []string
	}{
		{
			name:       "every function found is written",
			env:        all,
			wantIDs:    ids,
			wantStderr: []string{"wrote ", "sam local invoke ShippingOtpFunction -e events/<sample>.json --env-vars "},
		},
		{
			name:       "a function missing from the stack is left out with a note",
			env:        without(all, "AmazonPaySafelistFunction"),
			wantIDs:    slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == "AmazonPaySafelistFunction" }),
			wantStderr: []string{"note: AmazonPaySafelistFunction is not in stack " + testStack},
		},
		{
			name:       "-functions picks the functions",
			args:       []string{"-functions", "ApsFunction, ShippingLookupFunction"},
			env:        all,
			wantIDs:    []string{"ApsFunction", "ShippingLookupFunction"},
			wantStderr: []string{"sam local invoke ApsFunction ", "sam local invoke ShippingLookupFunction "},
		},
		{
			name:       "access denied by CloudFormation names the call and the function",
			env:        all,
			denyStack:  map[string]bool{"ApsFunction": true},
			wantCode:   1,
			wantStderr: []string{"ApsFunction: cloudformation:DescribeStackResource (stack " + testStack + "): AccessDenied: User:", "the caller needs"},
		},
		{
			name:       "access denied by Lambda names the call and the function",
			env:        all,
			denyLambda: map[string]bool{"ShippingOtpFunction": true},
			wantCode:   1,
			wantStderr: []string{"ShippingOtpFunction: lambda:GetFunctionConfiguration (function " + physical("ShippingOtpFunction") + "): AccessDeniedException: User:"},
		},
		{
			name:       "a stack without any of the functions is an error",
			env:        map[string]map[string]string{},
			wantCode:   1,
			wantStderr: []string{"stack " + testStack + " has none of"},
		},
		{
			name:       "an unknown -functions name is a usage error",
			args:       []string{"-functions", "NoSuchFunction"},
			env:        all,
			wantCode:   2,
			wantStderr: []string{"NoSuchFunction is not an AWS::Serverless::Function of template.yaml"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeAWS{t: t, env: tc.env, denyStack: tc.denyStack, denyLambda: tc.denyLambda}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			out := filepath.Join(t.TempDir(), "env.deployed.json")
			var stderr bytes.Buffer
			args := append([]string{"-stack", testStack, "-out", out}, tc.args...)
			code := run(t.Context(), args, &stderr, connectTo(srv))
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr.String())
			}
			for _, s := range tc.wantStderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
			if strings.Contains(stderr.String(), "secret-value-") {
				t.Errorf("stderr shows a variable's value:\n%s", stderr.String())
			}
			if tc.wantIDs == nil {
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Errorf("%s written after a failure (stat: %v)", out, err)
				}
				return
			}
			got := readEnv(t, out)
			want := map[string]map[string]string{}
			for _, id := range tc.wantIDs {
				want[id] = tc.env[id]
			}
			if !maps.EqualFunc(got, want, maps.Equal) {
				t.Errorf("wrote %v\nwant %v", got, want)
			}
			if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s mode %v (%v), want 0600", out, fi.Mode().Perm(), err)
			}
		})
	}
}

// TestOutputHasEnvJSONShape: from a stack deployed from template.yaml, the file has exactly the
// functions and, per function, the variable names of events/env.json, pretty-printed with sorted
// keys, so that `sam local invoke --env-vars` takes it in place of events/env.json.
func TestOutputHasEnvJSONShape(t *testing.T) {
	srv := httptest.NewServer(&fakeAWS{t: t, env: deployed(t)})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "env.deployed.json")
	var stderr bytes.Buffer
	if code := run(t.Context(), []string{"-stack", testStack, "-out", out}, &stderr, connectTo(srv)); code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	if strings.Contains(stderr.String(), "differs from template.yaml") {
		t.Errorf("a deployment of template.yaml noted as drift:\n%s", stderr.String())
	}
	got := readEnv(t, out)
	want := readEnv(t, filepath.Join(localaws.RepoRoot(), "events", "env.json"))
	if g, w := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)); !slices.Equal(g, w) {
		t.Fatalf("functions %v, events/env.json has %v", g, w)
	}
	for id := range want {
		if g, w := slices.Sorted(maps.Keys(got[id])), slices.Sorted(maps.Keys(want[id])); !slices.Equal(g, w) {
			t.Errorf("%s: variables %v, events/env.json has %v", id, g, w)
		}
	}
	b, _ := os.ReadFile(out)
	pretty, _ := json.MarshalIndent(got, "", "  ") // encoding/json sorts map keys
	if !bytes.Equal(b, append(pretty, '\n')) {
		t.Errorf("file is not indented JSON with sorted keys:\n%s", b)
	}
}

// TestDriftFromTemplateIsNotedByNameOnly: a deployed function whose variables differ from
// template.yaml's is still written, with a note naming the variables and never their values.
func TestDriftFromTemplateIsNotedByNameOnly(t *testing.T) {
	env := deployed(t)
	aps := maps.Clone(env["ApsFunction"])
	delete(aps, "APS_SECRET_ARN")
	aps["OLD_SETTING"] = "secret-value-old"
	env["ApsFunction"] = aps
	srv := httptest.NewServer(&fakeAWS{t: t, env: env})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "env.deployed.json")
	var stderr bytes.Buffer
	if code := run(t.Context(), []string{"-stack", testStack, "-out", out, "-functions", "ApsFunction"}, &stderr, connectTo(srv)); code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	want := "note: ApsFunction deployed differs from template.yaml (redeploy?): not deployed [APS_SECRET_ARN], not in template [OLD_SETTING]"
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}
	if strings.Contains(stderr.String(), "secret-value-") {
		t.Errorf("stderr shows a value:\n%s", stderr.String())
	}
	if got := readEnv(t, out)["ApsFunction"]; !maps.Equal(got, aps) {
		t.Errorf("wrote %v, want %v", got, aps)
	}
}

// TestDefaultOutIsEnvDeployedJSON: without -out the file is events/env.deployed.json of the
// working directory, and events/env.json is left alone.
func TestDefaultOutIsEnvDeployedJSON(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "events"), 0o755); err != nil {
		t.Fatal(err)
	}
	original := []byte(`{"kept": {}}`)
	if err := os.WriteFile(filepath.Join(dir, "events", "env.json"), original, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	srv := httptest.NewServer(&fakeAWS{t: t, env: deployed(t)})
	defer srv.Close()
	var stderr bytes.Buffer
	if code := run(t.Context(), []string{"-stack", testStack}, &stderr, connectTo(srv)); code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	if len(readEnv(t, filepath.Join("events", "env.deployed.json"))) == 0 {
		t.Error("events/env.deployed.json is empty")
	}
	if b, _ := os.ReadFile(filepath.Join("events", "env.json")); !bytes.Equal(b, original) {
		t.Errorf("events/env.json changed: %s", b)
	}
	if !strings.Contains(stderr.String(), "--env-vars events/env.deployed.json") {
		t.Errorf("stderr lacks the sam command for the default file:\n%s", stderr.String())
	}
}

func TestMissingStackIsAUsageError(t *testing.T) {
	for _, args := range [][]string{nil, {"-out", "x.json"}, {"-stack", testStack, "extra"}, {"-stack", testStack, "-out", ""}} {
		var stderr bytes.Buffer
		connected := false
		code := run(t.Context(), args, &stderr, func(context.Context) (stackResources, functionConfigs, error) {
			connected = true
			return nil, nil, fmt.Errorf("not called")
		})
		if code != 2 || connected || !strings.Contains(stderr.String(), "usage: envjson -stack <stack>") {
			t.Errorf("%q: exit %d, connected %v, stderr %q; want 2, no connection, a usage line", args, code, connected, stderr.String())
		}
	}
}
