// Command sigv4get sends a GET signed with AWS Signature Version 4 (service execute-api) and
// prints the answer's body: the AWS CLI cannot sign arbitrary HTTP calls, and the gateway's
// lookup routes take only signed ones. Credentials come from the AWS SDK's default chain
// (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, a profile, a role); the region
// from -region, else the URL's host (<api>.execute-api.<region>.amazonaws.com), else AWS_REGION.
//
//	go run ./tools/sigv4get https://abc123.execute-api.eu-west-1.amazonaws.com/shipping/otps/1709913037960
//	make lookup ID=1709913037960                                  (the local stack of make run)
//
// The status goes to stderr; the exit status is 1 for an answer other than 2xx.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Service is API Gateway's SigV4 service name.
const Service = "execute-api"

func main() {
	region := flag.String("region", "", "SigV4 region (default: from the URL's host, else AWS_REGION)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: sigv4get [-region r] <url>")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	status, err := run(context.Background(), flag.Arg(0), *region, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sigv4get:", err)
		os.Exit(1)
	}
	if status < 200 || status > 299 {
		os.Exit(1)
	}
}

func run(ctx context.Context, rawURL, region string, out, errOut io.Writer) (int, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return 0, fmt.Errorf("AWS configuration: %w", err)
	}
	if region == "" {
		region = RegionOf(rawURL, cfg.Region)
	}
	if region == "" {
		return 0, errors.New("no region: give -region or set AWS_REGION")
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return 0, fmt.Errorf("AWS credentials: %w", err)
	}
	req, err := NewSignedGet(ctx, rawURL, creds, region, time.Now())
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	fmt.Fprintln(errOut, resp.Status)
	if _, err := io.Copy(out, resp.Body); err != nil {
		return resp.StatusCode, err
	}
	fmt.Fprintln(out)
	return resp.StatusCode, nil
}

// NewSignedGet is a GET of rawURL signed for execute-api in region with creds at the instant at.
func NewSignedGet(ctx context.Context, rawURL string, creds aws.Credentials, region string, at time.Time) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	empty := sha256.Sum256(nil)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(empty[:]), Service, region, at); err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return req, nil
}

// RegionOf is the region of an execute-api host (<api>.execute-api.<region>.amazonaws.com), else def.
func RegionOf(rawURL, def string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return def
	}
	parts := strings.Split(u.Hostname(), ".")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == Service {
			return parts[i+1]
		}
	}
	return def
}
