// Package otpstore keeps Amazon Shipping one-time passwords in DynamoDB, one item per tracking ID,
// findable by the forward and by the reverse-leg tracking ID.
package otpstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/ddbattr"
)

// Table layout, shared with template.yaml: the tests create their tables from the template, so a
// mismatch fails them.
const (
	KeyAttribute       = "trackingId"
	AlternateAttribute = "alternateLegTrackingId"
	AlternateIndex     = "byAlternateLegTrackingId"
	TTLAttribute       = "expiresAt"
)

// ErrNotFound is returned by lookups when no unexpired OTP exists.
var ErrNotFound = errors.New("otp not found")

// Outcome says what Put did.
type Outcome int

const (
	// Stored: the OTP is now the current one.
	Stored Outcome = iota
	// Current: this very OTP was already stored (a redelivery).
	Current
	// Stale: a newer OTP is stored; this one was discarded.
	Stale
	// ExpiredOnArrival: the OTP had expired when it was received; it is kept only as an audit item
	// that holds no code (writeExpired).
	ExpiredOnArrival
)

func (o Outcome) String() string {
	return [...]string{"stored", "current", "stale", "expired_on_arrival"}[o]
}

// OTP is one stored one-time password.
type OTP struct {
	TrackingID             string
	AlternateLegTrackingID string
	Code                   string
	ExpiresAt              time.Time // verificationCodeTTL, millisecond precision
	ShipmentType           string
	EventCode              string
	AppID                  string
	DeliveryID             string    // envelope id that brought it
	EventTime              time.Time // envelope time, the tie-breaker between same-day OTPs
	StoredAt               time.Time
	// ReceivedAt is when the gateway received the OTP (zero: the store's clock at Write). An OTP
	// whose ExpiresAt is not later is expired on arrival.
	ReceivedAt time.Time
	// Account is the label of the Shipping account whose credential delivered the OTP (attribute
	// account; absent on items from before labels, which are account.Default's).
	Account string
}

type dynamoAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// Store reads and writes OTP items.
type Store struct {
	client dynamoAPI
	table  string
	now    func() time.Time
}

// New returns a store on table. now may be nil for time.Now.
func New(client dynamoAPI, table string, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{client: client, table: table, now: now}
}

// Write is the conditional write that stores o unless a newer OTP for the same tracking ID is
// already there (a later verificationCodeTTL, or the same TTL, as OTPs all expire at end of day, and
// a later envelope time, so deliveries arriving out of order never roll an OTP back), for a
// transaction with the delivery's idempotency claim; and what to make of the item that failed its
// condition (nil when DynamoDB did not return it): Current or Stale. Rewriting the very same OTP
// (a redelivery) succeeds, so that a transaction is not cancelled for it; such a write reports
// Stored. An OTP expired on arrival is never written as a usable one: Write hands it to
// writeExpired.
func (s *Store) Write(o OTP) (*types.Put, func(ctx context.Context, old map[string]types.AttributeValue) (Outcome, error)) {
	if o.ReceivedAt.IsZero() {
		o.ReceivedAt = s.now()
	}
	if o.ExpiredOnArrival() {
		return s.writeExpired(o)
	}
	item := map[string]types.AttributeValue{
		KeyAttribute:          ddbattr.S(account.Scoped(o.Account, o.TrackingID)),
		"verificationCode":    ddbattr.S(o.Code),
		"verificationCodeTTL": ddbattr.N(o.ExpiresAt.UnixMilli()),
		// DynamoDB TTL wants epoch seconds; the payload's TTL is milliseconds.
		TTLAttribute:  ddbattr.N(o.ExpiresAt.Unix()),
		"eventTimeMs": ddbattr.N(o.EventTime.UnixMilli()),
		"deliveryId":  ddbattr.S(o.DeliveryID),
		"eventCode":   ddbattr.S(o.EventCode),
		"storedAt":    ddbattr.S(s.now().UTC().Format(time.RFC3339Nano)),
	}
	alternate := ""
	if o.AlternateLegTrackingID != "" {
		alternate = account.Scoped(o.Account, o.AlternateLegTrackingID)
	}
	ddbattr.Strings(item, AlternateAttribute, alternate, "shipmentType", o.ShipmentType, "appId", o.AppID, "account", o.Account)
	put := &types.Put{
		TableName:                           &s.table,
		Item:                                item,
		ConditionExpression:                 aws.String("attribute_not_exists(#k) OR verificationCodeTTL < :ttl OR (verificationCodeTTL = :ttl AND (eventTimeMs < :et OR (eventTimeMs = :et AND verificationCode = :code)))"),
		ExpressionAttributeNames:            map[string]string{"#k": KeyAttribute},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":ttl": item["verificationCodeTTL"], ":et": item["eventTimeMs"], ":code": item["verificationCode"]},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	return put, func(ctx context.Context, existing map[string]types.AttributeValue) (Outcome, error) {
		if existing == nil {
			out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(o.Account, o.TrackingID), ConsistentRead: aws.Bool(true)})
			if err != nil {
				return 0, fmt.Errorf("otpstore: get after condition failure: %w", err)
			}
			existing = out.Item
		}
		cur, err := decode(existing)
		if err != nil {
			return 0, err
		}
		if cur.Code == o.Code && cur.ExpiresAt.Equal(o.ExpiresAt) {
			return Current, nil
		}
		return Stale, nil
	}
}

// ByTrackingID returns the default account's unexpired OTP of a forward-leg tracking ID.
func (s *Store) ByTrackingID(ctx context.Context, trackingID string) (OTP, error) {
	return s.ByTrackingIDIn(ctx, account.Default, trackingID)
}

// ByTrackingIDIn returns account label's unexpired OTP of a forward-leg tracking ID.
func (s *Store) ByTrackingIDIn(ctx context.Context, label, trackingID string) (OTP, error) {
	return s.byTrackingID(ctx, label, trackingID, s.now(), false)
}

// ByAlternateLegTrackingID returns the default account's unexpired OTP whose reverse-leg tracking
// ID is given. Should several forward legs share it, the one valid longest wins.
func (s *Store) ByAlternateLegTrackingID(ctx context.Context, id string) (OTP, error) {
	return s.byAlternateLeg(ctx, account.Default, id, s.now())
}

// CurrentAt is CurrentIn for the default account.
func (s *Store) CurrentAt(ctx context.Context, id string, at time.Time) (OTP, error) {
	return s.CurrentIn(ctx, account.Default, id, at)
}

// CurrentIn returns account label's OTP usable at the instant at for id, read as a forward-leg
// tracking ID, else as a reverse-leg one: the code a courier or customer must be told at that
// instant. Usable means it holds a code and expires after at (verificationCodeTTL is exclusive,
// to the millisecond). The forward item is read strongly consistent, so that a code stored a
// moment ago is found; the index can only be read eventually consistent. Only label's key space
// is read: another account's items are never found.
func (s *Store) CurrentIn(ctx context.Context, label, id string, at time.Time) (OTP, error) {
	o, err := s.byTrackingID(ctx, label, id, at, true)
	if !errors.Is(err, ErrNotFound) {
		return o, err
	}
	return s.byAlternateLeg(ctx, label, id, at)
}

// usableAt reports whether o may be handed out at the instant at. DynamoDB deletes expired items
// days late; until then they must read as absent. An item without a code (an audit item of an OTP
// expired on arrival, read by its key) is no OTP either.
func (o OTP) usableAt(at time.Time) bool { return o.Code != "" && o.ExpiresAt.After(at) }

func (s *Store) byTrackingID(ctx context.Context, label, trackingID string, at time.Time, consistent bool) (OTP, error) {
	in := &dynamodb.GetItemInput{TableName: &s.table, Key: key(label, trackingID)}
	if consistent {
		in.ConsistentRead = aws.Bool(true)
	}
	out, err := s.client.GetItem(ctx, in)
	if err != nil {
		return OTP{}, fmt.Errorf("otpstore: get: %w", err)
	}
	if out.Item == nil {
		return OTP{}, ErrNotFound
	}
	o, err := decode(out.Item)
	if err != nil {
		return OTP{}, err
	}
	if !o.usableAt(at) {
		return OTP{}, ErrNotFound
	}
	return o, nil
}

func (s *Store) byAlternateLeg(ctx context.Context, label, id string, at time.Time) (OTP, error) {
	// The filter spares reading expired items back; usableAt below is the rule. at's milliseconds
	// truncated agree with After: at in [ttl-1ms, ttl) is still valid, at ttl it is not.
	in := &dynamodb.QueryInput{
		TableName:                &s.table,
		IndexName:                aws.String(AlternateIndex),
		KeyConditionExpression:   aws.String("#a = :a"),
		FilterExpression:         aws.String("verificationCodeTTL > :now"),
		ExpressionAttributeNames: map[string]string{"#a": AlternateAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":a": ddbattr.S(account.Scoped(label, id)), ":now": ddbattr.N(at.UnixMilli()),
		},
	}
	var best OTP
	found := false
	p := dynamodb.NewQueryPaginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return OTP{}, fmt.Errorf("otpstore: query: %w", err)
		}
		for _, item := range page.Items {
			o, err := decode(item)
			if err != nil {
				return OTP{}, err
			}
			if o.usableAt(at) && (!found || o.ExpiresAt.After(best.ExpiresAt)) {
				best, found = o, true
			}
		}
	}
	if !found {
		return OTP{}, ErrNotFound
	}
	return best, nil
}

// key is the item key of label's tracking ID.
func key(label, trackingID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{KeyAttribute: ddbattr.S(account.Scoped(label, trackingID))}
}

func decode(item map[string]types.AttributeValue) (OTP, error) {
	getS := func(name string) string {
		if v, ok := item[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	getN := func(name string) (int64, error) {
		v, ok := item[name].(*types.AttributeValueMemberN)
		if !ok {
			return 0, fmt.Errorf("otpstore: item attribute %s is not a number", name)
		}
		return strconv.ParseInt(v.Value, 10, 64)
	}
	ttl, err := getN("verificationCodeTTL")
	if err != nil {
		return OTP{}, err
	}
	et, err := getN("eventTimeMs")
	if err != nil {
		return OTP{}, err
	}
	storedAt, _ := time.Parse(time.RFC3339Nano, getS("storedAt"))
	label := getS("account")
	return OTP{
		TrackingID:             account.Unscoped(label, getS(KeyAttribute)),
		AlternateLegTrackingID: account.Unscoped(label, getS(AlternateAttribute)),
		Code:                   getS("verificationCode"),
		ExpiresAt:              time.UnixMilli(ttl).UTC(),
		ShipmentType:           getS("shipmentType"),
		EventCode:              getS("eventCode"),
		AppID:                  getS("appId"),
		DeliveryID:             getS("deliveryId"),
		EventTime:              time.UnixMilli(et).UTC(),
		StoredAt:               storedAt,
		Account:                label,
	}, nil
}
