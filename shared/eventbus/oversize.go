package eventbus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// MaxEntryBytes is the entry size the publisher keeps to. EventBridge has accepted 1 MB since
// January 2026, but 256 KB is the limit everywhere else an event may go (older regions' targets,
// SQS, archives), so it is the portable budget.
const MaxEntryBytes = 256 << 10

// maxEssentialBytes bounds one data field kept in a reduced event.
const maxEssentialBytes = 1 << 10

// OffloadedPayload is `detail.offloadedPayload`, present only on a reduced event: the full detail
// did not fit the entry budget and was stored at Location; the event keeps detail.metadata whole
// and, of detail.data, the fields up to 1 KB that are not objects or arrays.
type OffloadedPayload struct {
	Location string `json:"location"` // s3://bucket/key of the full detail, as JSON
	Bytes    int    `json:"bytes"`
	SHA256   string `json:"sha256"`
}

// OffloadPrefix is where the full details of one source's oversized events are stored:
// oversized/<source>/<sha256>.json. Each function's role may write under its own source's prefix
// only (template.yaml), so the layout is part of the deployment.
func OffloadPrefix(source string) string { return "oversized/" + source + "/" }

type payloadWriter interface {
	PutPayload(ctx context.Context, key string, body []byte) (location string, err error)
}

// entrySize is an entry's size as EventBridge counts it: time, source, detail type, detail and
// resources, in UTF-8 bytes.
func entrySize(source, detailType, detail string, resources []string, withTime bool) int {
	n := len(source) + len(detailType) + len(detail)
	for _, r := range resources {
		n += len(r)
	}
	if withTime {
		n += 14
	}
	return n
}

// reduce stores detail whole and returns the reduced detail that points to it.
func (p *Publisher) reduce(ctx context.Context, e Event, detail []byte) ([]byte, error) {
	if p.payloads == nil {
		return nil, fmt.Errorf("%w: %s event of %d bytes exceeds %d and no payload store is configured", ErrNotPublished, e.DetailType, len(detail), p.maxEntryBytes)
	}
	sum := sha256.Sum256(detail)
	digest := hex.EncodeToString(sum[:])
	location, err := p.payloads.PutPayload(ctx, OffloadPrefix(e.Source)+digest+".json", detail)
	if err != nil {
		return nil, fmt.Errorf("%w: storing an oversized %s event: %w", ErrNotPublished, e.DetailType, err)
	}
	ref := OffloadedPayload{Location: location, Bytes: len(detail), SHA256: digest}
	reduced := map[string]any{"offloadedPayload": ref}
	var whole map[string]json.RawMessage
	if json.Unmarshal(detail, &whole) == nil {
		if m, ok := whole["metadata"]; ok && len(m) <= p.maxEntryBytes/2 {
			reduced["metadata"] = m
		}
		var data map[string]json.RawMessage
		if json.Unmarshal(whole["data"], &data) == nil {
			kept := map[string]json.RawMessage{}
			for k, v := range data {
				if len(v) <= maxEssentialBytes && len(v) > 0 && v[0] != '{' && v[0] != '[' {
					kept[k] = v
				}
			}
			reduced["data"] = kept
		}
	}
	return json.Marshal(reduced)
}

// S3Payloads stores oversized event details in a bucket.
type S3Payloads struct {
	Client interface {
		PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	}
	Bucket string
}

// PutPayload implements the publisher's payload store.
func (s S3Payloads) PutPayload(ctx context.Context, key string, body []byte) (string, error) {
	_, err := s.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.Bucket, Key: &key, Body: bytes.NewReader(body),
		ContentType:          aws.String("application/json"),
		ServerSideEncryption: types.ServerSideEncryptionAes256,
	})
	if err != nil {
		return "", err
	}
	return "s3://" + s.Bucket + "/" + key, nil
}
