// Package consumer is a consumer of the Amazon webhook gateway's events that a team can copy: an
// EventBridge rule on the gateway's bus delivers "Shipping OTP Generated" and "Amazon Pay Charge
// Changed" events to an SQS queue, and this Lambda handler reads them.
//
// Delivery to consumers is at least once: the same event can arrive twice (a retried delivery or
// publication), always with the same detail.metadata.idempotencyKey. The handler therefore claims
// each key in a DynamoDB table before acting on it, marks it done afterwards, and releases it when
// the action fails so that SQS redelivers the message (after maxReceiveCount, to the dead-letter
// queue). A claim whose invocation crashed lapses after InProgressFor.
//
// The event types below are checked against the gateway's published schemas (docs/schemas) by
// tests/consumer: a field renamed there fails that test, not production.
package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The detail-types the example's rule routes to its queue.
const (
	DetailTypeOTPGenerated  = "Shipping OTP Generated"
	DetailTypeChargeChanged = "Amazon Pay Charge Changed"
)

// Event is an EventBridge event as an SQS target receives it.
type Event[D any] struct {
	ID         string `json:"id"`
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
	Time       string `json:"time"`
	Detail     D      `json:"detail"`
}

// Metadata is what every gateway event carries in detail.metadata.
type Metadata struct {
	IdempotencyKey string `json:"idempotencyKey"`
	Account        string `json:"account"`
	ReceivedAt     string `json:"receivedAt"`
	SchemaVersion  string `json:"schemaVersion"`
}

// OTPGenerated is the detail of "Shipping OTP Generated".
type OTPGenerated struct {
	Metadata Metadata `json:"metadata"`
	Data     struct {
		TrackingID             string `json:"trackingId"`
		AlternateLegTrackingID string `json:"alternateLegTrackingId"`
		// VerificationCode is absent when the stack runs with IncludeOtpInEvents=false
		// (VerificationCodeIncluded false): read it from the OTP table or the lookup API then.
		VerificationCode         string `json:"verificationCode"`
		VerificationCodeIncluded bool   `json:"verificationCodeIncluded"`
		VerificationCodeTTL      int64  `json:"verificationCodeTTL"`
	} `json:"data"`
}

// ChargeChanged is the detail of "Amazon Pay Charge Changed" (Amazon Pay API v2).
type ChargeChanged struct {
	Metadata Metadata `json:"metadata"`
	Data     struct {
		ObjectID         string `json:"objectId"`
		NotificationType string `json:"notificationType"`
		MerchantID       string `json:"merchantId"`
		Enrichment       struct {
			// Status is enriched (State holds the charge as the Amazon Pay API returned it),
			// disabled or failed (State is absent; a later event may bring it).
			Status string `json:"status"`
		} `json:"enrichment"`
		State *struct {
			StatusDetails map[string]any `json:"statusDetails"`
		} `json:"state"`
	} `json:"data"`
}

// Actions are what the team does with each event. An error makes SQS redeliver the message.
type Actions struct {
	OTPGenerated  func(ctx context.Context, e Event[OTPGenerated]) error
	ChargeChanged func(ctx context.Context, e Event[ChargeChanged]) error
}

type dynamoAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// Handler handles the queue's messages.
type Handler struct {
	DB    dynamoAPI
	Table string
	// Remember is how long a done key is kept (longer than the gateway's at-least-once window:
	// its redeliveries come within 48 h). InProgressFor bounds a claim (the queue's visibility
	// timeout, so that a crashed invocation's message is retried after its claim lapsed).
	Remember, InProgressFor time.Duration
	Actions                 Actions
	Log                     *slog.Logger
	Now                     func() time.Time
}

// errDone: the key was handled before; the message is a duplicate.
var errDone = errors.New("already handled")

// Handle handles a batch, reporting the messages to retry (ReportBatchItemFailures).
func (h *Handler) Handle(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range batch.Records {
		if err := h.handle(ctx, m.Body); err != nil {
			h.Log.Error("event not handled; SQS redelivers it", "messageId", m.MessageId, "error", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}

func (h *Handler) handle(ctx context.Context, body string) error {
	var head Event[struct {
		Metadata Metadata `json:"metadata"`
	}]
	if err := json.Unmarshal([]byte(body), &head); err != nil || head.Detail.Metadata.IdempotencyKey == "" {
		// Not a gateway event: retrying cannot help; it is logged and dropped.
		h.Log.Warn("message is not a gateway event", "detailType", head.DetailType)
		return nil
	}
	key := head.Detail.Metadata.IdempotencyKey
	log := h.Log.With("detailType", head.DetailType, "idempotencyKey", key)
	switch err := h.claim(ctx, key); {
	case errors.Is(err, errDone):
		log.Info("duplicate event skipped")
		return nil
	case err != nil:
		return err
	}
	if err := h.act(ctx, head.DetailType, body); err != nil {
		if rerr := h.release(ctx, key); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	log.Info("event handled")
	h.done(ctx, log, key)
	return nil
}

func (h *Handler) act(ctx context.Context, detailType, body string) error {
	switch detailType {
	case DetailTypeOTPGenerated:
		return dispatch(ctx, body, h.Actions.OTPGenerated)
	case DetailTypeChargeChanged:
		return dispatch(ctx, body, h.Actions.ChargeChanged)
	}
	return nil // a detail-type the rule should not route here: nothing to do
}

func dispatch[D any](ctx context.Context, body string, action func(context.Context, Event[D]) error) error {
	var e Event[D]
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		return fmt.Errorf("decoding the event: %w", err)
	}
	if action == nil {
		return nil
	}
	return action(ctx, e)
}

// claim takes key for this invocation: it succeeds on a new key or a lapsed claim, and returns
// errDone for a key handled before (or being handled now: the message comes back after its
// visibility timeout).
func (h *Handler) claim(ctx context.Context, key string) error {
	now := h.Now()
	_, err := h.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &h.Table,
		Item: map[string]types.AttributeValue{
			"id":         &types.AttributeValueMemberS{Value: key},
			"status":     &types.AttributeValueMemberS{Value: "INPROGRESS"},
			"claimUntil": number(now.Add(h.InProgressFor).Unix()),
			"expiresAt":  number(now.Add(h.Remember).Unix()),
		},
		ConditionExpression:      aws.String("attribute_not_exists(id) OR (#st = :inprogress AND claimUntil < :now)"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":inprogress": &types.AttributeValueMemberS{Value: "INPROGRESS"}, ":now": number(now.Unix()),
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return errDone
	}
	if err != nil {
		return fmt.Errorf("claiming %s: %w", key, err)
	}
	return nil
}

// done records key as handled. If that fails the event is handled all the same; the claim lapses
// after InProgressFor, and a copy arriving later is handled again (at least once, as promised).
func (h *Handler) done(ctx context.Context, log *slog.Logger, key string) {
	_, err := h.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &h.Table,
		Key:                       map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: key}},
		UpdateExpression:          aws.String("SET #st = :done REMOVE claimUntil"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":done": &types.AttributeValueMemberS{Value: "DONE"}},
	})
	if err != nil {
		log.Warn("event handled but not recorded", "error", err)
	}
}

func (h *Handler) release(ctx context.Context, key string) error {
	_, err := h.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &h.Table,
		Key:       map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: key}},
	})
	if err != nil {
		return fmt.Errorf("releasing %s: %w", key, err)
	}
	return nil
}

func number(n int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
