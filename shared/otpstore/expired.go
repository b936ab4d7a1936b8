package otpstore

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/ddbattr"
)

// An OTP that had expired when it arrived is kept for audit in an item of its own, so that it can
// neither be read as a usable code nor take the place of one:
//   - its key is ExpiredKeyPrefix + the account's key of the tracking ID: it starts with "#",
//     which neither a label nor a tracking ID can (CheckTrackingID), so no tracking ID reaches it;
//   - it holds no verificationCode, so even a reader that ignores verificationCodeTTL finds no code;
//   - the reverse leg is stored as otpAlternateLegTrackingId, so the item stays out of the
//     byAlternateLegTrackingId index;
//   - its write is conditional on the key holding no code;
//   - it is kept ExpiredRetention after its arrival (its expiresAt), not until its long-past TTL.
const (
	ExpiredKeyPrefix = "#expired-on-arrival#"
	ExpiredRetention = 30 * 24 * time.Hour
)

// LegacyExpiredKeyPrefix keyed audit items before key spaces; a tracking ID starting with it is
// refused (CheckTrackingID), so that those items, kept until their expiresAt, are never read as
// one.
const LegacyExpiredKeyPrefix = "expired-on-arrival#"

// ExpiredOnArrival reports whether o was no longer valid when it was received.
func (o OTP) ExpiredOnArrival() bool { return !o.ExpiresAt.After(o.ReceivedAt) }

// ExpiredKey is the key of the audit item of account label's expired-on-arrival OTP of trackingID.
func ExpiredKey(label, trackingID string) string {
	return ExpiredKeyPrefix + account.Scoped(label, trackingID)
}

// CheckTrackingID says why id cannot be a tracking ID Amazon sends, and so must not name an item:
// "#" (the key spaces' separator), a control character, or the audit items' prefixes.
func CheckTrackingID(id string) error {
	switch {
	case strings.Contains(id, "#"):
		return errors.New(`must not contain "#"`)
	case strings.IndexFunc(id, unicode.IsControl) >= 0:
		return errors.New("must not contain control characters")
	case strings.HasPrefix(strings.ToLower(id), strings.TrimSuffix(LegacyExpiredKeyPrefix, "#")):
		return errors.New("must not start with the audit items' prefix")
	}
	return nil
}

// writeExpired is Write for an OTP expired on arrival: the audit item, replacing an earlier audit
// item of the same tracking ID (the latest arrival is kept). Its outcome is always
// ExpiredOnArrival: the OTP is not usable whatever the table holds.
func (s *Store) writeExpired(o OTP) (*types.Put, func(ctx context.Context, old map[string]types.AttributeValue) (Outcome, error)) {
	item := map[string]types.AttributeValue{
		KeyAttribute:          ddbattr.S(ExpiredKey(o.Account, o.TrackingID)),
		"expiredOnArrival":    &types.AttributeValueMemberBOOL{Value: true},
		"otpTrackingId":       ddbattr.S(o.TrackingID),
		"verificationCodeTTL": ddbattr.N(o.ExpiresAt.UnixMilli()),
		TTLAttribute:          ddbattr.N(o.ReceivedAt.Add(ExpiredRetention).Unix()),
		"receivedAt":          ddbattr.S(o.ReceivedAt.UTC().Format(time.RFC3339Nano)),
		"eventTimeMs":         ddbattr.N(o.EventTime.UnixMilli()),
		"deliveryId":          ddbattr.S(o.DeliveryID),
		"eventCode":           ddbattr.S(o.EventCode),
		"storedAt":            ddbattr.S(s.now().UTC().Format(time.RFC3339Nano)),
	}
	ddbattr.Strings(item, "otpAlternateLegTrackingId", o.AlternateLegTrackingID, "shipmentType", o.ShipmentType, "appId", o.AppID, "account", o.Account)
	put := &types.Put{
		TableName:           &s.table,
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(verificationCode)"),
	}
	return put, func(context.Context, map[string]types.AttributeValue) (Outcome, error) {
		// The key holds a usable item: it is left alone and no audit item is written.
		return ExpiredOnArrival, nil
	}
}
