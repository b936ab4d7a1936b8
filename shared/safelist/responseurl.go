package safelist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/cfn"
)

// ResponseBucketPrefix starts the name of CloudFormation's bucket for custom resource responses;
// the stack's region follows without dashes ("useast1"), as AWS's CloudFormation user guide says
// (VPC endpoint considerations) and real ResponseURLs show.
const ResponseBucketPrefix = "cloudformation-custom-resource-response-"

// MsgResponseURLMismatch is the log message of an event whose ResponseURL is not CloudFormation's
// response bucket. It is stable: a metric filter counts it.
const MsgResponseURLMismatch = "safelist: ResponseURL is not a CloudFormation response bucket"

// ErrResponseURL: a ResponseURL that is not a pre-signed URL of CloudFormation's response bucket.
var ErrResponseURL = errors.New("safelist: ResponseURL is not CloudFormation's response bucket")

// CheckResponseURL reports whether raw is an https URL of the response bucket of region (the
// function's own region, as "us-east-1"), in one of the forms S3 serves it:
//
//	https://<bucket>.s3.amazonaws.com/...             virtual-host, global endpoint (not China)
//	https://<bucket>.s3.<region>.amazonaws.com[.cn]/...  virtual-host, regional
//	https://<bucket>.s3-<region>.amazonaws.com/...    virtual-host, legacy dash form (not China)
//	https://s3[.<region>|-<region>].amazonaws.com[.cn]/<bucket>/...  the same hosts, path style
//
// where <bucket> is ResponseBucketPrefix + region without dashes, and .com.cn is for cn-* regions
// only. Binding the bucket to the function's region matters: a name for a region that does not
// exist could be anyone's bucket. The error never holds the query, which is the URL's signature.
func CheckResponseURL(raw, region string) error {
	fail := func(reason string) error { return fmt.Errorf("%w: %s", ErrResponseURL, reason) }
	if region == "" || strings.Trim(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return fail("the function's region is unknown")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fail("not a URL")
	}
	switch {
	case u.Scheme != "https":
		return fail(fmt.Sprintf("scheme %q, want https", truncate(u.Scheme, 16)))
	case u.Opaque != "" || u.User != nil:
		return fail("not of the form https://host/path")
	case u.Port() != "":
		return fail(fmt.Sprintf("host %q has a port", truncate(u.Host, 128)))
	}
	// A client or proxy that resolves dot segments would move a path-style URL to another bucket.
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return fail("the path has a dot segment")
		}
	}
	host := strings.ToLower(u.Hostname())
	bucket := ResponseBucketPrefix + strings.ReplaceAll(region, "-", "")
	domain := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		domain = "amazonaws.com.cn"
	}
	endpoints := []string{"s3." + region + "." + domain}
	if domain == "amazonaws.com" {
		endpoints = append(endpoints, "s3."+domain, "s3-"+region+"."+domain)
	}
	for _, ep := range endpoints {
		if host == bucket+"."+ep {
			return nil
		}
		// Path style: the escaped path, so that an encoded "/" cannot fake the bucket segment.
		if host == ep && strings.HasPrefix(u.EscapedPath(), "/"+bucket+"/") {
			return nil
		}
	}
	return fail(fmt.Sprintf("host %q and path are not bucket %s on S3 in %s", truncate(host, 128), bucket, region))
}

// LambdaHandler is the function's Lambda handler: cfn.LambdaWrap(h), which always answers the
// event's ResponseURL, after checking that URL with CheckResponseURL for region. A mismatch is
// logged to log at ERROR (MsgResponseURLMismatch) and the event still handled and answered: until a real
// deployment has confirmed the pattern, refusing could leave a genuine stack waiting for its
// timeout. ResourceHandler, not this check, is what stops a caller choosing the URL to safelist.
func LambdaHandler(log *slog.Logger, region string, h cfn.CustomResourceFunction) cfn.CustomResourceLambdaFunction {
	wrapped := cfn.LambdaWrap(h)
	return func(ctx context.Context, ev cfn.Event) (string, error) {
		if err := CheckResponseURL(ev.ResponseURL, region); err != nil {
			log.ErrorContext(ctx, MsgResponseURLMismatch, "error", err.Error(), "requestType", truncate(string(ev.RequestType), 32),
				"stackId", truncate(ev.StackID, 256), "verified", false)
		}
		return wrapped(ctx, ev)
	}
}
