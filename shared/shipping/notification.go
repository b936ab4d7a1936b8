// Package shipping receives Amazon Shipping push notifications: it parses and validates the
// EventBridge-style envelope, stores one-time passwords for reverse-journey pickups and re-emits
// normalised events.
package shipping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/amazon-webhook-gateway/gateway/shared/httpapi"
	"github.com/amazon-webhook-gateway/gateway/shared/otpstore"
	"github.com/amazon-webhook-gateway/gateway/shared/pipeline"
)

const (
	// SourceAmazonShipping is the envelope `source` Amazon sends.
	SourceAmazonShipping = "AmazonShipping"
	// DetailTypePN is the envelope `detail-type` of push notifications that carry an OTP.
	DetailTypePN = "PN Event"
	// EventCodePinGenerated is `detail.eventCode` of an OTP notification.
	EventCodePinGenerated = "PIN_GENERATED"

	maxDetails  = 1000
	maxIDLength = 256
	maxOTPLen   = 64
)

// Envelope is the EventBridge event envelope Amazon Shipping posts.
type Envelope struct {
	Version    string
	ID         string
	DetailType string
	Source     string
	Account    string
	Time       time.Time
	Region     string
	Resources  []string
	// Details holds `detail`, one entry when it is an object, several when it is an array.
	Details []json.RawMessage
}

// OTP is one validated one-time password for a tracking ID.
type OTP struct {
	TrackingID             string
	AlternateLegTrackingID string
	VerificationCode       string
	// ExpiresAtMillis is verificationCodeTTL: Unix epoch milliseconds.
	ExpiresAtMillis int64
	ShipmentType    string
	EventCode       string
	AppID           string
}

// ExpiresAt is the instant the OTP stops being valid.
func (o OTP) ExpiresAt() time.Time { return time.UnixMilli(o.ExpiresAtMillis).UTC() }

// Other is a detail entry that is not an OTP: kept whole and passed on, never dropped.
type Other struct {
	TrackingID string // "" when the entry names none
	EventCode  string
	Raw        json.RawMessage
}

// Notification is a parsed, validated delivery.
type Notification struct {
	Envelope Envelope
	OTPs     []OTP
	Others   []Other
	// Tracking and NDRs are the Others recognised as tracking updates and NDRs (tracking.go).
	Tracking []Tracking
	NDRs     []NDR
	// StrayCodes counts the verificationCodes removed from entries that are not OTPs.
	StrayCodes int
}

// FieldError names the field that failed validation; the delivery is quarantined naming it.
type FieldError = pipeline.FieldError

var fieldErr = pipeline.Fieldf

// Parse validates a delivery body. Unknown fields are tolerated; every error is a *FieldError.
func Parse(body []byte) (*Notification, error) {
	n, rejected, err := ParsePartial(body)
	if err != nil {
		return nil, err
	}
	if len(rejected) > 0 {
		return nil, rejected[0]
	}
	return n, nil
}

// ParsePartial is Parse for accumulated deliveries (a detail array): an entry that fails
// validation is returned as a FieldError instead of failing the delivery, so the other entries'
// OTPs are not held back by it. The envelope must validate and at least one entry must.
func ParsePartial(body []byte) (*Notification, []*FieldError, error) {
	return ParsePartialNDR(body, DefaultNDRDetailTypes)
}

// ParsePartialNDR is ParsePartial with the envelope detail-types that mark NDR entries.
func ParsePartialNDR(body []byte, ndrDetailTypes []string) (*Notification, []*FieldError, error) {
	return ParseWith(body, Options{NDRDetailTypes: ndrDetailTypes})
}

// MaxEventTimeSkew is how far after the receipt a tracking entry's eventTime may be: a later one
// is taken for unparseable (Tracking.EventTime zero), so that it never pins a shipment's state.
const MaxEventTimeSkew = 15 * time.Minute

// Options are what parsing a delivery needs besides its body.
type Options struct {
	// NDRDetailTypes are the envelope detail-types that mark NDR entries (nil: the defaults).
	NDRDetailTypes []string
	// Received is the delivery's receipt, which bounds times: an OTP entry valid more than
	// MaxOTPTTL after it is refused (field verificationCodeTTL), a tracking eventTime more than
	// MaxEventTimeSkew after it is ignored. Zero: no bound (a parser's own tests).
	Received  time.Time
	MaxOTPTTL time.Duration
	// KeepStrayCodes keeps a verificationCode found outside an OTP entry; otherwise it is removed
	// from the entry before anything stores or publishes it.
	KeepStrayCodes bool
}

// ParseWith is ParsePartial with opts.
func ParseWith(body []byte, opts Options) (*Notification, []*FieldError, error) {
	if opts.NDRDetailTypes == nil {
		opts.NDRDetailTypes = DefaultNDRDetailTypes
	}
	n, rejected, err := parse(body, opts)
	if err == nil && len(rejected) > 0 && len(n.OTPs)+len(n.Others) == 0 {
		return nil, nil, rejected[0]
	}
	return n, rejected, err
}

func parse(body []byte, opts Options) (*Notification, []*FieldError, error) {
	top, err := object(body, "body")
	if err != nil {
		return nil, nil, err
	}
	var env Envelope
	if env.Version, err = reqString(top, "", "version", maxIDLength); err != nil {
		return nil, nil, err
	}
	if env.ID, err = reqString(top, "", "id", maxIDLength); err != nil {
		return nil, nil, err
	}
	if env.DetailType, err = reqString(top, "", "detail-type", maxIDLength); err != nil {
		return nil, nil, err
	}
	if env.Source, err = reqString(top, "", "source", maxIDLength); err != nil {
		return nil, nil, err
	}
	if env.Source != SourceAmazonShipping {
		return nil, nil, fieldErr("source", "must be %q", SourceAmazonShipping)
	}
	if env.Account, err = reqString(top, "", "account", maxIDLength); err != nil {
		return nil, nil, err
	}
	if env.Region, err = optString(top, "", "region", maxIDLength); err != nil {
		return nil, nil, err
	}
	ts, err := reqString(top, "", "time", 64)
	if err != nil {
		return nil, nil, err
	}
	if env.Time, err = time.Parse(time.RFC3339, ts); err != nil {
		return nil, nil, fieldErr("time", "must be an RFC 3339 timestamp")
	}
	if raw, ok := top["resources"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &env.Resources); err != nil {
			return nil, nil, fieldErr("resources", "must be an array of strings")
		}
	}
	if env.Details, err = details(top["detail"]); err != nil {
		return nil, nil, err
	}

	n := &Notification{Envelope: env}
	var rejected []*FieldError
	for i, raw := range env.Details {
		field := "detail"
		if len(env.Details) > 1 || isArray(top["detail"]) {
			field = fmt.Sprintf("detail[%d]", i)
		}
		d, err := object(raw, field)
		if err == nil {
			code, _ := optString(d, field, "eventCode", maxIDLength)
			if env.DetailType == DetailTypePN && code == EventCodePinGenerated {
				var otp OTP
				if otp, err = parseOTP(d, field, opts); err == nil {
					n.OTPs = append(n.OTPs, otp)
					continue
				}
			} else {
				// Entries without an OTP are passed on whole: a field of an unexpected type must not
				// cost the delivery, so they are only read when they are strings. A tracking ID
				// that names an item must be one Amazon could send.
				tid, _ := optString(d, field, "trackingId", maxIDLength)
				err = checkID(field, "trackingId", tid)
				if err == nil && !opts.KeepStrayCodes {
					// A code outside an OTP entry is never stored or published.
					var stripped int
					if raw, stripped, err = stripCodes(raw); err != nil {
						err = fieldErr(field, "%s", err.Error())
					}
					n.StrayCodes += stripped
				}
				if err == nil {
					o := Other{TrackingID: tid, EventCode: code, Raw: raw}
					classify(n, o, d, opts)
					n.Others = append(n.Others, o)
					continue
				}
			}
		}
		if !isArray(top["detail"]) {
			return nil, nil, err
		}
		var fe *FieldError
		if !errors.As(err, &fe) {
			return nil, nil, err
		}
		rejected = append(rejected, fe)
	}
	n.OTPs = newestPerTrackingID(n.OTPs)
	return n, rejected, nil
}

// checkID refuses a tracking ID that cannot be Amazon's (otpstore.CheckTrackingID): it would name
// another account's item, or an audit item.
func checkID(prefix, name, id string) error {
	if id == "" {
		return nil
	}
	if err := otpstore.CheckTrackingID(id); err != nil {
		return fieldErr(path(prefix, name), "%s", err.Error())
	}
	return nil
}

func parseOTP(d map[string]json.RawMessage, field string, opts Options) (OTP, error) {
	var o OTP
	var err error
	if o.TrackingID, err = reqString(d, field, "trackingId", maxIDLength); err != nil {
		return o, err
	}
	if err = checkID(field, "trackingId", o.TrackingID); err != nil {
		return o, err
	}
	if o.VerificationCode, err = reqString(d, field, "verificationCode", maxOTPLen); err != nil {
		return o, err
	}
	for _, r := range o.VerificationCode {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return o, fieldErr(path(field, "verificationCode"), "must be printable characters without spaces")
		}
	}
	if o.ExpiresAtMillis, err = epochMillis(d, field, "verificationCodeTTL"); err != nil {
		return o, err
	}
	if !opts.Received.IsZero() && opts.MaxOTPTTL > 0 && o.ExpiresAt().Sub(opts.Received) > opts.MaxOTPTTL {
		// A far expiry would pin the tracking ID's code: a later, genuine one would be stale.
		return o, fieldErr(path(field, "verificationCodeTTL"), "is more than %s after the receipt", days(opts.MaxOTPTTL))
	}
	if o.AlternateLegTrackingID, err = optString(d, field, "alternateLegTrackingId", maxIDLength); err != nil {
		return o, err
	}
	if err = checkID(field, "alternateLegTrackingId", o.AlternateLegTrackingID); err != nil {
		return o, err
	}
	if o.ShipmentType, err = optString(d, field, "shipmentType", 32); err != nil {
		return o, err
	}
	if o.ShipmentType != "" && o.ShipmentType != "FORWARD" && o.ShipmentType != "REVERSE" {
		return o, fieldErr(path(field, "shipmentType"), "must be FORWARD or REVERSE")
	}
	o.EventCode = EventCodePinGenerated
	if o.AppID, err = optString(d, field, "appId", maxIDLength); err != nil {
		return o, err
	}
	return o, nil
}

// days writes d in days when it is whole days ("7 days"), else as a duration.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		n := int(d / (24 * time.Hour))
		if n == 1 {
			return "1 day"
		}
		return strconv.Itoa(n) + " days"
	}
	return d.String()
}

// newestPerTrackingID keeps one OTP per tracking ID, should an accumulated payload repeat a
// tracking ID: the one valid longest, and among equal TTLs (all OTPs expire at end of day) the
// later entry, taking the payload to be in the order the codes were generated.
func newestPerTrackingID(otps []OTP) []OTP {
	idx := map[string]int{}
	var out []OTP
	for _, o := range otps {
		if i, ok := idx[o.TrackingID]; ok {
			if o.ExpiresAtMillis >= out[i].ExpiresAtMillis {
				out[i] = o
			}
			continue
		}
		idx[o.TrackingID] = len(out)
		out = append(out, o)
	}
	return out
}

func details(raw json.RawMessage) ([]json.RawMessage, error) {
	if raw == nil || isNull(raw) {
		return nil, fieldErr("detail", "is required")
	}
	if isArray(raw) {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return nil, fieldErr("detail", "must be an object or an array of objects")
		}
		if len(list) == 0 {
			return nil, fieldErr("detail", "must not be an empty array")
		}
		if len(list) > maxDetails {
			return nil, fieldErr("detail", "holds more than %d entries", maxDetails)
		}
		return list, nil
	}
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return nil, fieldErr("detail", "must be an object or an array of objects")
	}
	return []json.RawMessage{raw}, nil
}

func object(raw []byte, field string) (map[string]json.RawMessage, error) {
	if !utf8.Valid(raw) {
		return nil, fieldErr(field, "must be UTF-8 encoded")
	}
	// Names are matched exactly (map keys); a repeated name keeps its last value.
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fieldErr(field, "must be a JSON object")
	}
	return m, nil
}

// path names a field inside prefix ("detail[1]" + "trackingId").
func path(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func reqString(m map[string]json.RawMessage, prefix, name string, max int) (string, error) {
	s, err := optString(m, prefix, name, max)
	if err != nil {
		return "", err
	}
	if s == "" {
		if _, ok := m[name]; ok && !isNull(m[name]) {
			return "", fieldErr(path(prefix, name), "must not be empty")
		}
		return "", fieldErr(path(prefix, name), "is required")
	}
	return s, nil
}

func optString(m map[string]json.RawMessage, prefix, name string, max int) (string, error) {
	raw, ok := m[name]
	if !ok || isNull(raw) {
		return "", nil
	}
	s, ok := httpapi.JSONString(raw)
	if !ok {
		return "", fieldErr(path(prefix, name), "must be a string")
	}
	s = strings.TrimSpace(s)
	if len(s) > max {
		return "", fieldErr(path(prefix, name), "is longer than %d bytes", max)
	}
	return s, nil
}

// epochMillis reads a Unix epoch in milliseconds, given as a JSON integer or a string of digits.
// Values outside 2001..5138 are refused because they are most likely seconds or garbage.
func epochMillis(m map[string]json.RawMessage, prefix, name string) (int64, error) {
	field := path(prefix, name)
	raw, ok := m[name]
	if !ok || isNull(raw) {
		return 0, fieldErr(field, "is required")
	}
	text := strings.TrimSpace(string(raw))
	if strings.HasPrefix(text, `"`) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, fieldErr(field, "must be an integer of epoch milliseconds")
		}
		text = s
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil || text == "" || text[0] < '1' || text[0] > '9' {
		return 0, fieldErr(field, "must be an integer of epoch milliseconds")
	}
	if v < 1e12 || v >= 1e14 {
		return 0, fieldErr(field, "must be Unix epoch milliseconds (13 or 14 digits)")
	}
	return v, nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func isArray(raw json.RawMessage) bool { return bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) }
