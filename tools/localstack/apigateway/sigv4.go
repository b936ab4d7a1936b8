package apigateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// AuthIAM is the Authorizer of a route that API Gateway protects with IAM (SigV4).
const AuthIAM = "AWS_IAM"

// Principal is an IAM identity whose keys the local gateway knows: the development caller of
// the IAM routes. Locally every known principal may invoke every IAM route (no policy check).
type Principal struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	AccountID       string `json:"accountId"`
	UserARN         string `json:"userArn"`
	UserID          string `json:"userId"`
}

// SigV4 verifies the Signature Version 4 of requests to IAM routes, as API Gateway does before it
// invokes the function: service execute-api, the gateway's region, the signature recomputed with
// aws-sdk-go-v2's signer over the headers the request says it signed, at most MaxSkew from now.
type SigV4 struct {
	Region     string
	Principals []Principal
	// Now defaults to time.Now.
	Now func() time.Time
}

// Service is the SigV4 service name of API Gateway's invoke API.
const Service = "execute-api"

// MaxSkew is how far X-Amz-Date may be from the gateway's clock (AWS: 5 minutes).
const MaxSkew = 5 * time.Minute

// ErrUnsigned is Verify's error for a request without a SigV4 Authorization header.
var ErrUnsigned = errors.New("missing authentication token")

const algorithm = "AWS4-HMAC-SHA256"

// sigV4Auth is an Authorization header's parts.
type sigV4Auth struct{ credential, signedHeaders, signature string }

func parseAuthorization(h string) (sigV4Auth, bool) {
	rest, ok := strings.CutPrefix(h, algorithm+" ")
	if !ok {
		return sigV4Auth{}, false
	}
	var a sigV4Auth
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			a.credential = v
		case "SignedHeaders":
			a.signedHeaders = v
		case "Signature":
			a.signature = v
		}
	}
	return a, a.credential != "" && a.signedHeaders != "" && a.signature != ""
}

// Verify checks r's signature over body and returns the identity API Gateway would put in
// requestContext.authorizer.iam. Its error says why a request is refused (for the log only:
// the caller gets 403 Forbidden whatever the reason).
func (v *SigV4) Verify(r *http.Request, body []byte) (*events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, ErrUnsigned
	}
	got, ok := parseAuthorization(h)
	if !ok {
		return nil, errors.New("authorization header is not " + algorithm)
	}
	accessKey, scope, _ := strings.Cut(got.credential, "/")
	i := slices.IndexFunc(v.Principals, func(p Principal) bool { return p.AccessKeyID == accessKey })
	if i < 0 {
		return nil, errors.New("the security token included in the request is invalid (unknown access key)")
	}
	p := v.Principals[i]
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return nil, errors.New("X-Amz-Date missing or malformed")
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if d := now().Sub(at); d > MaxSkew || d < -MaxSkew {
		return nil, errors.New("signature expired")
	}
	if want := at.Format("20060102") + "/" + v.Region + "/" + Service + "/aws4_request"; scope != want {
		return nil, fmt.Errorf("credential scope %q, want %q", scope, want)
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if claimed := r.Header.Get("X-Amz-Content-Sha256"); claimed != "" && claimed != payloadHash {
		return nil, errors.New("X-Amz-Content-Sha256 does not match the body")
	}
	// The request again, with only the headers it says it signed, signed with the principal's
	// secret: the signer then signs exactly that list, and the signatures must agree.
	u := *r.URL
	u.Host = r.Host
	again := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	for _, name := range strings.Split(got.signedHeaders, ";") {
		switch name {
		case "host":
		case "content-length":
			again.ContentLength = r.ContentLength
		default:
			again.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		}
	}
	creds := aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, payloadHash, Service, v.Region, at); err != nil {
		return nil, err
	}
	want, _ := parseAuthorization(again.Header.Get("Authorization"))
	if want.signedHeaders != got.signedHeaders {
		return nil, fmt.Errorf("signed headers %q cannot be verified here (recomputed %q)", got.signedHeaders, want.signedHeaders)
	}
	if subtle.ConstantTimeCompare([]byte(want.signature), []byte(got.signature)) != 1 {
		return nil, errors.New("the request signature does not match")
	}
	return &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
		AccessKey: p.AccessKeyID, AccountID: p.AccountID, CallerID: p.UserID, UserARN: p.UserARN, UserID: p.UserID,
	}, nil
}
