// Package quarantine keeps authenticated deliveries that cannot be processed for a reason a retry
// will not fix (invalid payload, unknown shape, a bug), whole, in an S3 bucket, so that they can be
// listed and replayed through their function after a fix. The sender is answered 202, which stops
// every Amazon sender's retries; if the quarantine cannot be written, the answer is 503 instead, so
// the sender retries and nothing is lost.
package quarantine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/amazon-webhook-gateway/gateway/shared/webhooks"
)

// The places of the bucket that hold records: <place><webhook>/<id>.json (webhooks names them).
const (
	// Prefix holds quarantined deliveries: authenticated, but invalid (or a bug) until a fix.
	Prefix = webhooks.QuarantinePrefix
	// DeferredPrefix holds deferred deliveries: authenticated and valid, kept while a dependency
	// was unavailable and re-driven automatically (pipeline).
	DeferredPrefix = webhooks.DeferredPrefix
	// DeadPrefix holds deferred deliveries that could not be re-driven within the retention.
	DeadPrefix = webhooks.DeadPrefix
)

// Places lists the record places, quarantine first.
var Places = webhooks.Places

// WebhookPrefix is where webhook's quarantined deliveries live. Each function's role may read and
// write under its own webhook's prefixes only (template.yaml).
func WebhookPrefix(webhook string) string { return Prefix + webhook + "/" }

// WebhookOf reads the webhook out of a key under Prefix (quarantine/<webhook>/<id>.json).
func WebhookOf(key string) (string, bool) {
	place, webhook, ok := PlaceOf(key)
	return webhook, ok && place == Prefix
}

// PlaceOf reads the place (one of Places) and the webhook out of a record's key
// (webhooks.PlaceOf).
func PlaceOf(key string) (place, webhook string, ok bool) { return webhooks.PlaceOf(key) }

// ErrNotFound: no quarantined delivery has that key.
var ErrNotFound = errors.New("quarantine: no such delivery")

// Record is one quarantined delivery: the request as API Gateway passed it (credentials removed),
// why it was quarantined, by which function, and when.
type Record struct {
	Webhook  string `json:"webhook"`
	Function string `json:"function"`
	// Account is the label of the account whose credentials authenticated the delivery (absent
	// in records from before labels: account.Default). A replay keeps it.
	Account       string    `json:"account,omitempty"`
	Reason        string    `json:"reason"`
	Field         string    `json:"field,omitempty"`
	Message       string    `json:"message"`
	QuarantinedAt time.Time `json:"quarantinedAt"`
	// Request is the delivery itself. Authorization, cookies and the credential query parameter
	// are removed: the function authenticated it on arrival, and a replay comes through IAM.
	Request events.APIGatewayV2HTTPRequest `json:"request"`
}

// Key names a quarantined delivery's object (KeyIn Prefix).
func Key(webhook string, req *events.APIGatewayV2HTTPRequest) string {
	return KeyIn(Prefix, webhook, req)
}

// KeyIn names a delivery's object in place. It hashes what the sender sent (route and body), so
// a retried delivery lands on the same object instead of piling up copies.
func KeyIn(place, webhook string, req *events.APIGatewayV2HTTPRequest) string {
	h := sha256.New()
	h.Write([]byte(req.RawPath))
	h.Write([]byte{0})
	h.Write([]byte(req.Body))
	return place + webhook + "/" + hex.EncodeToString(h.Sum(nil)[:20]) + ".json"
}

type objects interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// Objects is the S3 client for the payload bucket, as the functions and the tools make it.
// Path-style addressing works for the bucket's name (no dots) in AWS and in local emulators.
func Objects(awsCfg aws.Config, optFns ...func(*s3.Options)) *s3.Client {
	return s3.NewFromConfig(awsCfg, append([]func(*s3.Options){func(o *s3.Options) {
		o.UsePathStyle = true
		// Every GetObject of a record would print "Response has no supported checksum" through
		// the SDK's default logger (stderr, billed as log bytes): records are JSON read whole.
		o.DisableLogOutputChecksumValidationSkipped = true
	}}, optFns...)...)
}

// Store reads and writes quarantined deliveries in one bucket.
type Store struct {
	client objects
	bucket string
}

// New returns a store on bucket.
func New(client objects, bucket string) *Store { return &Store{client: client, bucket: bucket} }

// Bucket is the bucket the store writes to.
func (s *Store) Bucket() string { return s.bucket }

// Put writes r under its Key and returns the key.
func (s *Store) Put(ctx context.Context, r Record) (string, error) {
	key := Key(r.Webhook, &r.Request)
	return key, s.PutAt(ctx, key, r)
}

// PutAt writes r under key.
func (s *Store) PutAt(ctx context.Context, key string, r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("quarantine: encoding: %w", err)
	}
	_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:      &s.bucket,
		Key:         &key,
		Body:        bytes.NewReader(b),
		ContentType: aws.String("application/json"),
		// Listing shows these without reading each object.
		Metadata: metadataOf(r),
		// The bucket encrypts by default too; asking again fails closed on a misconfigured bucket.
		ServerSideEncryption: types.ServerSideEncryptionAes256,
	})
	if err != nil {
		return fmt.Errorf("quarantine: writing %s: %w", key, err)
	}
	return nil
}

// metadataOf is what a listing shows of r.
func metadataOf(r Record) map[string]string {
	md := map[string]string{"reason": r.Reason, "function": r.Function, "webhook": r.Webhook}
	if r.Account != "" {
		md["account"] = r.Account
	}
	return md
}

// Get reads the delivery stored under key.
func (s *Store) Get(ctx context.Context, key string) (Record, error) {
	var r Record
	if _, _, ok := PlaceOf(key); !ok {
		return r, fmt.Errorf("%w: %q is outside %s", ErrNotFound, key, strings.Join(Places, ", "))
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return r, fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		return r, fmt.Errorf("quarantine: reading %s: %w", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return r, fmt.Errorf("quarantine: reading %s: %w", key, err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("quarantine: %s is not a record: %w", key, err)
	}
	return r, nil
}

// Delete removes the delivery stored under key.
func (s *Store) Delete(ctx context.Context, key string) error {
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil {
		return fmt.Errorf("quarantine: deleting %s: %w", key, err)
	}
	return nil
}

// Item is one listed delivery.
type Item struct {
	Key          string
	Size         int64
	LastModified time.Time
}

// List returns the quarantined deliveries of webhook ("" for all), oldest first.
func (s *Store) List(ctx context.Context, webhook string) ([]Item, error) {
	return s.ListIn(ctx, Prefix, webhook)
}

// ListIn returns the deliveries of webhook ("" for all) in place (one of Places), oldest first.
func (s *Store) ListIn(ctx context.Context, place, webhook string) ([]Item, error) {
	prefix := place + webhook
	if webhook != "" {
		prefix += "/"
	}
	var entries []Item
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("quarantine: listing: %w", err)
		}
		for _, o := range page.Contents {
			entries = append(entries, Item{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), LastModified: aws.ToTime(o.LastModified)})
		}
	}
	slices.SortStableFunc(entries, func(a, b Item) int { return a.LastModified.Compare(b.LastModified) })
	return entries, nil
}
