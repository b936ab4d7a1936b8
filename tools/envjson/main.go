// Command envjson writes the environment variables of a deployed stack's functions in the shape
// of events/env.json (LogicalId -> name -> value), for
// `sam local invoke <LogicalId> -e events/<sample>.json --env-vars <file>` against real resources.
//
//	envjson -stack NAME [-out events/env.deployed.json] [-functions ApsFunction,...]
//
// Per function, cloudformation:DescribeStackResource gives the deployed function's name and
// lambda:GetFunctionConfiguration its variables. A function the stack does not have (a false
// Condition) is left out with a note. Values go to the file only (mode 0600), never to stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

const defaultOut = "events/env.deployed.json"

// stackResources is the CloudFormation call the command makes.
type stackResources interface {
	DescribeStackResource(context.Context, *cloudformation.DescribeStackResourceInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStackResourceOutput, error)
}

// functionConfigs is the Lambda call the command makes.
type functionConfigs interface {
	GetFunctionConfiguration(context.Context, *lambda.GetFunctionConfigurationInput, ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error)
}

// connector returns the two clients.
type connector func(context.Context) (stackResources, functionConfigs, error)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr, connect))
}

func connect(ctx context.Context) (stackResources, functionConfigs, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	return cloudformation.NewFromConfig(cfg), lambda.NewFromConfig(cfg), nil
}

// run is the command: 0 written, 1 failed, 2 bad command line.
func run(ctx context.Context, args []string, stderr io.Writer, connect connector) int {
	fs := flag.NewFlagSet("envjson", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "", "name (or id) of the deployed stack (required)")
	out := fs.String("out", defaultOut, "file to write (events/env.json only if named here)")
	only := fs.String("functions", "", "comma-separated LogicalIds (default: every AWS::Serverless::Function of template.yaml)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *stack == "" || fs.NArg() > 0 || *out == "" {
		fmt.Fprintln(stderr, "usage: envjson -stack <stack> [-out "+defaultOut+"] [-functions A,B]")
		return 2
	}
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		fmt.Fprintln(stderr, "envjson: reading template.yaml:", err)
		return 1
	}
	ids := tmpl.Functions()
	if *only != "" {
		var picked []string
		for id := range strings.SplitSeq(*only, ",") {
			if id = strings.TrimSpace(id); id == "" {
				continue
			}
			if !slices.Contains(ids, id) {
				fmt.Fprintf(stderr, "envjson: %s is not an AWS::Serverless::Function of template.yaml (%s)\n", id, strings.Join(ids, ", "))
				return 2
			}
			picked = append(picked, id)
		}
		ids = picked
	}
	cfn, lam, err := connect(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "envjson:", err)
		return 1
	}
	env, skipped, err := collect(ctx, cfn, lam, *stack, ids)
	for _, id := range skipped {
		fmt.Fprintf(stderr, "note: %s is not in stack %s (a false Condition?); left out\n", id, *stack)
	}
	if err == nil && len(env) == 0 {
		err = fmt.Errorf("stack %s has none of %s", *stack, strings.Join(ids, ", "))
	}
	if err != nil {
		fmt.Fprintln(stderr, "envjson:", err)
		return 1
	}
	written := slices.Sorted(maps.Keys(env))
	for _, id := range written {
		if missing, extra := diffNames(tmpl.FunctionEnv(id), env[id]); len(missing)+len(extra) > 0 {
			fmt.Fprintf(stderr, "note: %s deployed differs from template.yaml (redeploy?): not deployed %v, not in template %v\n", id, missing, extra)
		}
	}
	if err := write(*out, env); err != nil {
		fmt.Fprintln(stderr, "envjson:", err)
		return 1
	}
	fmt.Fprintf(stderr, "wrote %s (stack %s): %s\n", *out, *stack, strings.Join(written, ", "))
	fmt.Fprintln(stderr, "run a sample against the stack's resources (after `sam build <LogicalId>`, with the stack's AWS credentials and region):")
	for _, id := range written {
		fmt.Fprintf(stderr, "  sam local invoke %s -e events/<sample>.json --env-vars %s\n", id, *out)
	}
	return 0
}

// collect returns, per LogicalId of ids, the environment variables of the function deployed as
// that resource of stack, and the ids the stack does not have. An error names the call and the
// function.
func collect(ctx context.Context, cfn stackResources, lam functionConfigs, stack string, ids []string) (map[string]map[string]string, []string, error) {
	env := map[string]map[string]string{}
	var skipped []string
	for _, id := range ids {
		res, err := cfn.DescribeStackResource(ctx, &cloudformation.DescribeStackResourceInput{
			StackName: aws.String(stack), LogicalResourceId: aws.String(id),
		})
		if apiErr := (smithy.APIError)(nil); errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationError" &&
			strings.Contains(apiErr.ErrorMessage(), "does not exist for stack") {
			skipped = append(skipped, id)
			continue
		}
		if err != nil {
			return nil, skipped, fmt.Errorf("%s: cloudformation:DescribeStackResource (stack %s): %s", id, stack, describe(err))
		}
		var name string
		if d := res.StackResourceDetail; d != nil {
			name = aws.ToString(d.PhysicalResourceId)
		}
		if name == "" {
			skipped = append(skipped, id)
			continue
		}
		cfg, err := lam.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			return nil, skipped, fmt.Errorf("%s: lambda:GetFunctionConfiguration (function %s): %s", id, name, describe(err))
		}
		vars := map[string]string{}
		if cfg.Environment != nil {
			maps.Copy(vars, cfg.Environment.Variables)
		}
		env[id] = vars
	}
	return env, skipped, nil
}

// describe is an AWS error's code and message (or the error itself), with the permission hint
// for an access denial.
func describe(err error) string {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return err.Error()
	}
	s := apiErr.ErrorCode() + ": " + apiErr.ErrorMessage()
	if strings.Contains(strings.ToLower(apiErr.ErrorCode()), "accessdenied") {
		s += " (the caller needs cloudformation:DescribeStackResource and lambda:GetFunctionConfiguration)"
	}
	return s
}

// diffNames lists the template's names the deployed function lacks and the deployed names the
// template lacks (names only, never values).
func diffNames(template []string, deployed map[string]string) (missing, extra []string) {
	for _, n := range template {
		if _, ok := deployed[n]; !ok {
			missing = append(missing, n)
		}
	}
	for n := range deployed {
		if !slices.Contains(template, n) {
			extra = append(extra, n)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return missing, extra
}

// write puts env at path as indented JSON (keys sorted), through a 0600 temporary file renamed
// over it.
func write(path string, env map[string]map[string]string) error {
	b, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".env-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
