package safelist

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzCheckResponseURL: CheckResponseURL never panics; what it accepts is https without userinfo
// or port, on an AWS S3 host, with the region's response bucket as the host's first label or the
// first path segment, and is accepted again once re-serialised.
func FuzzCheckResponseURL(f *testing.F) {
	const b = "cloudformation-custom-resource-response-"
	for _, s := range [][2]string{
		{"https://" + b + "useast1.s3.amazonaws.com/arn%3Aaws%3Acloudformation%3Aus-east-1%3A1%3Astack/s/1%7CR%7Cq?X-Amz-Signature=a", "us-east-1"},
		{"https://" + b + "euwest1.s3-eu-west-1.amazonaws.com/k", "eu-west-1"},
		{"https://s3.us-east-1.amazonaws.com/" + b + "useast1/k", "us-east-1"},
		{"https://" + b + "cnnorth1.s3.cn-north-1.amazonaws.com.cn/k", "cn-north-1"},
		{"https://s3.amazonaws.com/" + b + "useast1%2Fk", "us-east-1"},
		{"https://" + b + "useast1.s3.amazonaws.com@attacker.example/k", "us-east-1"},
		{"https://" + b + "useast1.s3.amazonaws.com:443/k", "us-east-1"},
		{"https://[::1]/" + b + "useast1/k", "us-east-1"},
		{"", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		if CheckResponseURL(raw, region) != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("accepted %q, which does not parse: %v", raw, err)
		}
		if u.Scheme != "https" || u.User != nil || u.Port() != "" || u.Opaque != "" {
			t.Fatalf("accepted %q: scheme %q, userinfo %v, port %q, opaque %q", raw, u.Scheme, u.User, u.Port(), u.Opaque)
		}
		host := strings.ToLower(u.Hostname())
		if !strings.HasSuffix(host, ".amazonaws.com") && !strings.HasSuffix(host, ".amazonaws.com.cn") {
			t.Fatalf("accepted %q: host %q is not AWS's", raw, host)
		}
		bucket := ResponseBucketPrefix + strings.ReplaceAll(region, "-", "")
		first, _, _ := strings.Cut(host, ".")
		segments := strings.Split(u.EscapedPath(), "/")
		if first != bucket && (len(segments) < 3 || segments[1] != bucket) {
			t.Fatalf("accepted %q: bucket %s is neither the host's first label nor the first path segment", raw, bucket)
		}
		for _, seg := range strings.Split(u.Path, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("accepted %q, whose path has a dot segment", raw)
			}
		}
		if !strings.Contains(host, "s3") {
			t.Fatalf("accepted %q: host %q is not S3", raw, host)
		}
		if err := CheckResponseURL(u.String(), region); err != nil {
			t.Fatalf("accepted %q but not its re-serialisation %q: %v", raw, u.String(), err)
		}
	})
}
