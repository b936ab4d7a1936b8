// Package trackingstore keeps the latest Amazon Shipping tracking state per tracking ID in
// DynamoDB (TrackingTable): one item per trackingId, replaced only by a later event.
//
// Order, as the conditional write decides it (docs/shipping-tracking.md, "Tracking table"):
//  1. an event with a valid eventTime beats one without, whatever their envelope times;
//  2. between valid eventTimes, the later one wins (millisecond precision);
//  3. at equal eventTime a terminal state (Delivered, Lost, …) beats a non-terminal one;
//  4. then the later envelope `time` wins; at equal envelope time the stored state stays.
//
// Between two events without a valid eventTime only rule 4 applies.
package trackingstore

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

// Table layout, shared with template.yaml (the tests create their tables from it).
const (
	KeyAttribute = "trackingId"
	TTLAttribute = "expiresAt"
)

// ErrNotFound is returned by Get when no state is stored for a tracking ID.
var ErrNotFound = errors.New("tracking state not found")

// Outcome says what a Write did.
type Outcome int

const (
	// Stored: the event is now the tracking ID's state.
	Stored Outcome = iota
	// Current: the same event (eventTime, eventCode, status) is already the state: a redelivery.
	Current
	// Stale: a later state is stored; this event changed nothing.
	Stale
)

func (o Outcome) String() string { return [...]string{"stored", "current", "stale"}[o] }

// State is one tracking ID's latest tracking event.
type State struct {
	TrackingID             string
	AlternateLegTrackingID string
	ShipmentType           string
	Status                 string
	EventCode              string
	// EventTimeText is eventTime as sent; EventTime its instant, zero when missing or unparseable.
	EventTimeText    string
	EventTime        time.Time
	EstimatedArrival string
	Terminal         bool
	// Detail is Amazon's entry as sent (JSON).
	Detail string
	// DeliveryID and Entry say which delivery and which of its entries brought the state; a
	// rewrite by the same entry (a redelivery, a replay) always succeeds.
	DeliveryID   string
	Entry        string
	EnvelopeTime time.Time
	// Account is the label of the Shipping account whose credential delivered the state.
	Account   string
	UpdatedAt time.Time // set by Write
	ExpiresAt time.Time // set by Write: UpdatedAt + the retention
}

type dynamoAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Store reads and writes tracking states.
type Store struct {
	client    dynamoAPI
	table     string
	retention time.Duration
	now       func() time.Time
}

// New returns a store on table whose items DynamoDB deletes retention after their last write.
// now may be nil for time.Now.
func New(client dynamoAPI, table string, retention time.Duration, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{client: client, table: table, retention: retention, now: now}
}

// Write is the conditional write that makes st the state of its tracking ID unless a later one
// is stored (the package's order), for a transaction with the delivery's idempotency claim; and
// what to make of the item that failed its condition (nil when DynamoDB did not return it).
func (s *Store) Write(st State) (*types.Put, func(ctx context.Context, old map[string]types.AttributeValue) (Outcome, error)) {
	now := s.now().UTC()
	item := map[string]types.AttributeValue{
		KeyAttribute:     ddbattr.S(account.Scoped(st.Account, st.TrackingID)),
		"terminal":       &types.AttributeValueMemberBOOL{Value: st.Terminal},
		"envelopeTimeMs": ddbattr.N(st.EnvelopeTime.UnixMilli()),
		"deliveryId":     ddbattr.S(st.DeliveryID),
		"entry":          ddbattr.S(st.Entry),
		"updatedAt":      ddbattr.S(now.Format(time.RFC3339Nano)),
		TTLAttribute:     ddbattr.N(now.Add(s.retention).Unix()),
	}
	if !st.EventTime.IsZero() {
		item["eventTimeMs"] = ddbattr.N(st.EventTime.UnixMilli())
	}
	ddbattr.Strings(item, "alternateLegTrackingId", st.AlternateLegTrackingID, "shipmentType", st.ShipmentType, "status", st.Status,
		"eventCode", st.EventCode, "eventTime", st.EventTimeText, "estimatedArrival", st.EstimatedArrival, "detail", st.Detail,
		"account", st.Account)
	names := map[string]string{"#k": KeyAttribute, "#e": "entry", "#et": "eventTimeMs", "#env": "envelopeTimeMs"}
	values := map[string]types.AttributeValue{":e": item["entry"], ":env": item["envelopeTimeMs"]}
	var cond string
	if st.EventTime.IsZero() {
		// Without a valid eventTime it never replaces a state that has one.
		cond = "attribute_not_exists(#k) OR #e = :e OR (attribute_not_exists(#et) AND #env < :env)"
	} else {
		tie := "(#t = :false AND #env < :env)"
		if st.Terminal {
			tie = "(#t = :false OR #env < :env)"
		}
		cond = "attribute_not_exists(#k) OR #e = :e OR attribute_not_exists(#et) OR #et < :et OR (#et = :et AND " + tie + ")"
		names["#t"] = "terminal"
		values[":et"], values[":false"] = item["eventTimeMs"], &types.AttributeValueMemberBOOL{Value: false}
	}
	put := &types.Put{
		TableName:                           &s.table,
		Item:                                item,
		ConditionExpression:                 &cond,
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	return put, func(ctx context.Context, old map[string]types.AttributeValue) (Outcome, error) {
		if old == nil {
			out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(st.Account, st.TrackingID), ConsistentRead: aws.Bool(true)})
			if err != nil {
				return 0, fmt.Errorf("trackingstore: get after condition failure: %w", err)
			}
			old = out.Item
		}
		cur, err := decode(old)
		if err != nil {
			return 0, err
		}
		// The same event under another envelope id: announced again, as the OTP store does.
		if cur.EventTimeText == st.EventTimeText && cur.EventCode == st.EventCode && cur.Status == st.Status {
			return Current, nil
		}
		return Stale, nil
	}
}

// Get returns the default account's stored state of trackingID.
func (s *Store) Get(ctx context.Context, trackingID string) (State, error) {
	return s.GetIn(ctx, account.Default, trackingID)
}

// GetIn returns account label's stored state of trackingID: another account's is never found.
func (s *Store) GetIn(ctx context.Context, label, trackingID string) (State, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(label, trackingID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return State{}, fmt.Errorf("trackingstore: get: %w", err)
	}
	if out.Item == nil {
		return State{}, ErrNotFound
	}
	return decode(out.Item)
}

// key is the item key of label's tracking ID.
func key(label, trackingID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{KeyAttribute: ddbattr.S(account.Scoped(label, trackingID))}
}

func decode(item map[string]types.AttributeValue) (State, error) {
	getS := func(name string) string {
		if v, ok := item[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	getMs := func(name string) (time.Time, error) {
		v, ok := item[name].(*types.AttributeValueMemberN)
		if !ok {
			return time.Time{}, nil
		}
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("trackingstore: item attribute %s: %w", name, err)
		}
		return time.UnixMilli(n).UTC(), nil
	}
	st := State{
		TrackingID: account.Unscoped(getS("account"), getS(KeyAttribute)), AlternateLegTrackingID: getS("alternateLegTrackingId"), ShipmentType: getS("shipmentType"),
		Status: getS("status"), EventCode: getS("eventCode"), EventTimeText: getS("eventTime"), EstimatedArrival: getS("estimatedArrival"),
		Detail: getS("detail"), DeliveryID: getS("deliveryId"), Entry: getS("entry"), Account: getS("account"),
	}
	if b, ok := item["terminal"].(*types.AttributeValueMemberBOOL); ok {
		st.Terminal = b.Value
	}
	var err error
	if st.EventTime, err = getMs("eventTimeMs"); err != nil {
		return State{}, err
	}
	if st.EnvelopeTime, err = getMs("envelopeTimeMs"); err != nil {
		return State{}, err
	}
	if v, ok := item[TTLAttribute].(*types.AttributeValueMemberN); ok {
		if n, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
			st.ExpiresAt = time.Unix(n, 0).UTC()
		}
	}
	st.UpdatedAt, _ = time.Parse(time.RFC3339Nano, getS("updatedAt"))
	return st, nil
}
