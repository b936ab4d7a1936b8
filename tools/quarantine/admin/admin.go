// Package admin is the logic of the quarantine CLI (tools/quarantine): it lists, shows and
// deletes the deliveries the webhook functions keep in their bucket (see shared/quarantine), in
// each of its places: quarantined (authenticated but not processable: Replay sends them back
// through their function after a fix), deferred (valid, kept while a dependency was unavailable:
// Redrive asks their function to re-drive them) and dead-lettered deferred deliveries (not
// re-driven within the retention).
//
// A kept request can hold OTPs or card data: nothing here prints a request body, a header or a
// query string, except Show when the caller asks for the body.
package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/quarantine"
	"github.com/amazon-webhook-gateway/gateway/shared/webhooks"
)

// Webhooks are the webhooks whose functions quarantine deliveries, as they name themselves in
// keys and records.
var Webhooks = webhooks.All

// Store is where the kept deliveries are; *quarantine.Store is one.
type Store interface {
	// ListIn lists the records of webhook ("" for all) under place (a Place's Prefix), oldest first.
	ListIn(ctx context.Context, place, webhook string) ([]quarantine.Item, error)
	Get(ctx context.Context, key string) (quarantine.Record, error)
	Delete(ctx context.Context, key string) error
}

// Place is one of the bucket's places that hold records (webhooks.Places).
type Place struct {
	// Name is how the CLI names it (-place).
	Name string
	// Prefix is its keys' prefix: <Prefix><webhook>/<id>.json.
	Prefix string
	// Adjective describes its deliveries: "3 deferred deliveries".
	Adjective string
	// Since names the record's QuarantinedAt: when the delivery was quarantined, or deferred.
	Since string
}

// The places, as webhooks.Places lists them.
var (
	Quarantine = Place{Name: "quarantine", Prefix: webhooks.QuarantinePrefix, Adjective: "quarantined", Since: "quarantinedAt"}
	Deferred   = Place{Name: "deferred", Prefix: webhooks.DeferredPrefix, Adjective: "deferred", Since: "deferredAt"}
	Dead       = Place{Name: "dead", Prefix: webhooks.DeadPrefix, Adjective: "dead-lettered", Since: "deferredAt"}
	Places     = []Place{Quarantine, Deferred, Dead}
)

// PlaceNames are the places' names, for usage text: "quarantine, deferred, dead".
func PlaceNames() string {
	names := make([]string, len(Places))
	for i, p := range Places {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// PlaceNamed is the place called name (quarantine, deferred, dead).
func PlaceNamed(name string) (Place, error) {
	for _, p := range Places {
		if p.Name == name {
			return p, nil
		}
	}
	return Place{}, fmt.Errorf("unknown place %q (one of %s)", name, PlaceNames())
}

// InvokeTimeout bounds one replay invocation, cold start and retries included. The functions
// time out after seconds; this only stops a hung connection from stalling a whole replay.
const InvokeTimeout = time.Minute

// NewStore is the quarantine store on bucket, with the S3 client the functions use
// (path-style addressing, which works in AWS and in local emulators). The SDK's notice that an
// object came without a checksum (every one, from a local emulator) is not printed.
func NewStore(cfg aws.Config, bucket string) *quarantine.Store {
	return quarantine.New(quarantine.Objects(cfg, func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true }), bucket)
}

// NewInvoker is the Lambda client replays go through. It honours AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_LAMBDA like every SDK client. Its attempts may last InvokeTimeout: a
// function's cold start and run take longer than the second shared/awsconfig allows an S3 call.
func NewInvoker(cfg aws.Config) *lambda.Client {
	return lambda.NewFromConfig(cfg, func(o *lambda.Options) {
		o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(InvokeTimeout)
	})
}

// CheckWebhook fails unless webhook is one of Webhooks.
func CheckWebhook(webhook string) error {
	if !slices.Contains(Webhooks, webhook) {
		return fmt.Errorf("unknown webhook %q (one of %s)", webhook, strings.Join(Webhooks, ", "))
	}
	return nil
}

// PlaceOf is the place of a record's key: <place><webhook>/<id>. Nothing outside the places
// (oversized event payloads share the bucket) is ever read or deleted.
func PlaceOf(key string) (Place, error) {
	for _, p := range Places {
		rest, found := strings.CutPrefix(key, p.Prefix)
		if !found {
			continue
		}
		webhook, id, ok := strings.Cut(rest, "/")
		if ok && id != "" && !strings.Contains(id, "/") && slices.Contains(Webhooks, webhook) {
			return p, nil
		}
		break
	}
	var prefixes []string
	for _, p := range Places {
		prefixes = append(prefixes, p.Prefix)
	}
	return Place{}, fmt.Errorf("%q is not a kept delivery's key (<place><webhook>/<id>.json, place one of %s, webhook one of %s)",
		key, strings.Join(prefixes, ", "), strings.Join(Webhooks, ", "))
}

// CheckKey fails unless key names a delivery in one of places (in any place when none is given).
func CheckKey(key string, places ...Place) error {
	p, err := PlaceOf(key)
	if err != nil || len(places) == 0 || slices.Contains(places, p) {
		return err
	}
	var names []string
	for _, want := range places {
		names = append(names, want.Prefix)
	}
	hint := ""
	switch {
	case p == Quarantine:
		hint = "; replay it with quarantine replay"
	case slices.Contains(places, Quarantine):
		hint = "; re-drive it with quarantine redrive"
	}
	return fmt.Errorf("%q is a %s delivery, not one under %s%s", key, p.Adjective, strings.Join(names, " or "), hint)
}

// webhookOf is the webhook a (checked) key belongs to.
func webhookOf(key string) string {
	_, webhook, _ := webhooks.PlaceOf(key)
	return webhook
}

// Entry is one listed delivery: its record's metadata, never its request.
type Entry struct {
	Key      string
	Webhook  string
	Account  string // "" for records from before account labels
	Function string
	Reason   string
	Field    string
	// QuarantinedAt is the record's time: when the delivery was quarantined, or deferred.
	QuarantinedAt time.Time
	Size          int64 // of the stored record
	Err           error // the record could not be read; only Key, Webhook and Size are set
}

// listReaders is how many records Entries reads at a time.
const listReaders = 8

// Entries lists the deliveries of webhook ("" for all) in place, oldest first, and reads each
// record for its metadata. A record deleted meanwhile (replayed, re-driven or discarded by
// someone else) is left out.
func Entries(ctx context.Context, st Store, place Place, webhook string) ([]Entry, error) {
	if webhook != "" {
		if err := CheckWebhook(webhook); err != nil {
			return nil, err
		}
	}
	if !slices.Contains(Places, place) {
		return nil, fmt.Errorf("unknown place %q (one of %s)", place.Name, PlaceNames())
	}
	items, err := st.ListIn(ctx, place.Prefix, webhook)
	if err != nil {
		return nil, err
	}
	entries := make([]Entry, len(items))
	sem := make(chan struct{}, listReaders)
	var wg sync.WaitGroup
	for i, it := range items {
		entries[i] = Entry{Key: it.Key, Webhook: webhookOf(it.Key), Size: it.Size}
		wg.Add(1)
		sem <- struct{}{}
		go func(e *Entry) {
			defer func() { <-sem; wg.Done() }()
			r, err := st.Get(ctx, e.Key)
			if err != nil {
				e.Err = err
				return
			}
			e.Webhook, e.Account, e.Function, e.Reason, e.Field, e.QuarantinedAt = r.Webhook, r.Account, r.Function, r.Reason, r.Field, r.QuarantinedAt
		}(&entries[i])
	}
	wg.Wait()
	return slices.DeleteFunc(entries, func(e Entry) bool { return errors.Is(e.Err, quarantine.ErrNotFound) }), nil
}

// List prints one line per delivery of webhook ("" for all) in place: key, webhook, account,
// function, reason, field, when it was quarantined (or deferred) and the record's size. It fails,
// after printing, when a record could not be read.
func List(ctx context.Context, st Store, place Place, webhook string, w io.Writer) error {
	entries, err := Entries(ctx, st, place, webhook)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		fmt.Fprintf(w, "no %s deliveries\n", place.Adjective)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "KEY\tWEBHOOK\tACCOUNT\tFUNCTION\tREASON\tFIELD\t%s\tSIZE\n", columnName(place.Since))
	var unreadable []string
	for _, e := range entries {
		if e.Err != nil {
			unreadable = append(unreadable, e.Err.Error())
			fmt.Fprintf(tw, "%s\t%s\t-\t-\tunreadable\t-\t-\t%d\n", e.Key, e.Webhook, e.Size)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", e.Key, dash(e.Webhook), dash(e.Account), dash(e.Function), dash(e.Reason), dash(e.Field),
			e.QuarantinedAt.UTC().Format(time.RFC3339), e.Size)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d %s %s\n", len(entries), place.Adjective, plural(len(entries), "delivery", "deliveries"))
	if len(unreadable) > 0 {
		return fmt.Errorf("%d %s could not be read:\n  %s", len(unreadable), plural(len(unreadable), "record", "records"), strings.Join(unreadable, "\n  "))
	}
	return nil
}

// columnName is a camel-case field name as a listing's column: deferredAt -> DEFERRED_AT.
func columnName(field string) string {
	var b strings.Builder
	for _, r := range field {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// Show prints a delivery's record, in any place: why, when and by which function it was
// quarantined (or deferred), and of its request only the method, path, content type and body
// length. With body, the request body itself follows, decoded; it may hold OTPs or card data.
func Show(ctx context.Context, st Store, key string, body bool, w io.Writer) error {
	place, err := PlaceOf(key)
	if err != nil {
		return err
	}
	r, err := st.Get(ctx, key)
	if err != nil {
		return err
	}
	req := &r.Request
	raw, decodeErr := httpapi.Body(req)
	length := fmt.Sprintf("%d bytes", len(raw))
	if decodeErr != nil {
		raw = []byte(req.Body)
		length = fmt.Sprintf("%d bytes, flagged base64 but not valid base64", len(req.Body))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	for _, kv := range [][2]string{
		{"key", key},
		{"place", place.Name},
		{"webhook", r.Webhook},
		{"function", r.Function},
		{"account", r.Account},
		{"reason", r.Reason},
		{"field", r.Field},
		{"message", r.Message},
		{place.Since, r.QuarantinedAt.UTC().Format(time.RFC3339)},
		{"request.method", req.RequestContext.HTTP.Method},
		{"request.path", req.RawPath},
		{"request.id", req.RequestContext.RequestID},
		{"request.contentType", httpapi.Header(req, "Content-Type")},
		{"request.bodyLength", length},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], dash(kv[1]))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !body {
		fmt.Fprintln(w, "(the body is not shown: it may hold OTPs or card data; add -body to print it)")
		return nil
	}
	fmt.Fprintln(w, "request.body:")
	if _, err := w.Write(raw); err != nil {
		return err
	}
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		fmt.Fprintln(w)
	}
	return nil
}

// Delete removes the given deliveries, of any place, without replaying or re-driving them: a
// deferred delivery deleted is discarded for good. A key that names no delivery is reported, and
// the others are deleted all the same.
func Delete(ctx context.Context, st Store, keys []string, w io.Writer) error {
	if len(keys) == 0 {
		return errors.New("no key given")
	}
	for _, k := range keys {
		if err := CheckKey(k); err != nil {
			return err
		}
	}
	var failed []string
	for _, k := range keys {
		// Read first: S3 deletes a missing key without complaint, which would hide a typo.
		r, err := st.Get(ctx, k)
		if err == nil {
			err = st.Delete(ctx, k)
		}
		if err != nil {
			failed = append(failed, err.Error())
			fmt.Fprintf(w, "not deleted %s\n", k)
			continue
		}
		fmt.Fprintf(w, "deleted %s (%s, %s)\n", k, r.Webhook, dash(r.Reason))
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d not deleted:\n  %s", len(failed), len(keys), strings.Join(failed, "\n  "))
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
