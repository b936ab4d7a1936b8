// Command safelist registers a webhook URL with Amazon Pay India for IPNs (POST /v1/ipn), by hand,
// outside CloudFormation:
//
//	safelist -url https://hooks.example.in/amazon-pay/ipn [-sandbox] [-secret-id amazon-pay/in] [-separator ' ']
//
// Credentials come from the Secrets Manager secret -secret-id ({"merchantId","accessKeyId",
// "secretKey"}, read with the default AWS configuration), or else from AMAZON_PAY_MERCHANT_ID,
// AMAZON_PAY_ACCESS_KEY_ID and AMAZON_PAY_SECRET_KEY. The logic is in shared/safelist.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/amazon-webhook-gateway/gateway/shared/safelist"
)

// Environment variables read when no -secret-id is given.
const (
	envMerchantID  = "AMAZON_PAY_MERCHANT_ID"
	envAccessKeyID = "AMAZON_PAY_ACCESS_KEY_ID"
	envSecretKey   = "AMAZON_PAY_SECRET_KEY"
)

type options struct {
	url       string
	sandbox   bool
	secretID  string
	separator string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	opts, err := parseArgs(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, err)
		}
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	creds, err := credentials(ctx, opts, getenv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	host := safelist.ProductionHost
	if opts.sandbox {
		host = safelist.SandboxHost
	}
	c, err := safelist.New(creds, safelist.WithHost(host), safelist.WithAuthSeparator(opts.separator))
	if err == nil {
		err = c.Safelist(ctx, opts.url)
	}
	if err != nil {
		// The package's errors carry the Amazon Pay code and what to fix, never a secret.
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "safelisted %s\n", opts.url)
	return 0
}

// parseArgs reads the flags and checks the URL before any credentials are fetched.
func parseArgs(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("safelist", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "", "webhook URL to safelist (https, at most 2048 characters; required)")
	fs.BoolVar(&o.sandbox, "sandbox", false, "use "+safelist.SandboxHost+" instead of "+safelist.ProductionHost)
	fs.StringVar(&o.secretID, "secret-id", "", "Secrets Manager secret with {\"merchantId\",\"accessKeyId\",\"secretKey\"}; default: the "+envMerchantID+", "+envAccessKeyID+" and "+envSecretKey+" environment variables")
	fs.StringVar(&o.separator, "separator", safelist.DefaultAuthSeparator, "separator in Authorization: AMZ<sep><accessKeyId>:<signature>")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("safelist: unexpected arguments %q", fs.Args())
	}
	if o.url == "" {
		return options{}, errors.New("safelist: -url is required")
	}
	if err := safelist.ValidateEndpoint(o.url); err != nil {
		return options{}, err
	}
	return o, nil
}

func credentials(ctx context.Context, o options, getenv func(string) string) (safelist.Credentials, error) {
	if o.secretID != "" {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return safelist.Credentials{}, fmt.Errorf("safelist: loading the AWS configuration: %w", err)
		}
		return safelist.LoadCredentials(ctx, secretsmanager.NewFromConfig(cfg), o.secretID)
	}
	c := safelist.Credentials{MerchantID: getenv(envMerchantID), AccessKeyID: getenv(envAccessKeyID), SecretKey: getenv(envSecretKey)}
	for _, v := range []struct{ name, value string }{{envMerchantID, c.MerchantID}, {envAccessKeyID, c.AccessKeyID}, {envSecretKey, c.SecretKey}} {
		if v.value == "" {
			return safelist.Credentials{}, fmt.Errorf("safelist: %s is not set (or pass -secret-id)", v.name)
		}
	}
	return c, nil
}
