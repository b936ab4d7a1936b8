package badinput

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/amazon-webhook-gateway/gateway/tests/harness"
)

// Tracking and NDR entries. Nothing of theirs is refused: one without a usable trackingId
// (a string of 1..256 bytes, or an integer) is passed on as Shipping Notification only, as before;
// every other field, of any type, and every code is accepted and passed on.
func trackingCases(c *corpus) {
	body := func(detailType string, entries ...map[string]any) string {
		return harness.ShippingEnvelope(fmt.Sprintf("env-badinput-track-%05d", c.seq()), detailType, time.Now(), entries...)
	}
	entry := func(fields ...any) map[string]any {
		e := map[string]any{"trackingId": fmt.Sprintf("TRK%09d", c.seq()), "eventCode": "Departed", "eventTime": "2026-03-01T08:00:00Z"}
		for i := 0; i+1 < len(fields); i += 2 {
			if fields[i+1] == nil {
				delete(e, fields[i].(string))
				continue
			}
			e[fields[i].(string)] = fields[i+1]
		}
		return e
	}
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	for _, v := range []struct {
		name  string
		value any
	}{
		{"missing", nil},
		{"null", raw("null")},
		{"empty", ""},
		{"blank", "   "},
		{"a number", raw("1709913037944")},
		{"an object", raw(`{"id":"T"}`)},
		{"257 bytes", strings.Repeat("T", 257)},
	} {
		c.shipOK("tracking entry, trackingId "+v.name, shipAuthed(body("Tracking Detail", entry("trackingId", v.value))))
		c.shipOK("NDR entry, trackingId "+v.name, shipAuthed(body("NDR Detail", entry("trackingId", v.value))))
	}
	c.shipOK("entry with ndr fields in an unknown envelope, no trackingId", shipAuthed(body("Something Else", entry("trackingId", nil, "ndrReason", "R"))))
	c.shipOK("accumulated tracking delivery, second entry without trackingId", shipAuthed(body("Tracking Detail", entry(), entry("trackingId", nil))))
	c.shipOK("tracking trackingId exactly 256 bytes", shipAuthed(body("Tracking Detail", entry("trackingId", strings.Repeat("T", 256)))))

	// Unconfirmed shapes: never a refusal.
	for _, v := range []struct {
		name, field string
		value       any
	}{
		{"eventTime missing", "eventTime", nil},
		{"eventTime an object", "eventTime", raw(`{"at":"noon"}`)},
		{"eventTime without offset", "eventTime", "2026-03-01T08:00:00"},
		{"eventTime in seconds", "eventTime", raw("1772352000")},
		{"eventTime negative", "eventTime", raw("-1772352000000")},
		{"eventTime huge", "eventTime", raw("1e400")},
		{"eventTime garbage", "eventTime", "\u202e\x00not a time"},
		{"eventCode unknown", "eventCode", "SomethingNew"},
		{"eventCode a number", "eventCode", raw("301")},
		{"status an array", "status", raw(`["Delivered"]`)},
		{"shipmentType unknown", "shipmentType", "SIDEWAYS"},
		{"alternateLegTrackingId 1 KB", "alternateLegTrackingId", strings.Repeat("A", 1024)},
		{"unknown nested field", "somethingNew", raw(`{"a":[1,{"b":null}]}`)},
		{"estimatedArrivalDate an object", "estimatedArrivalDate", raw(`{"from":"a","to":"b"}`)},
	} {
		c.shipOK("tracking entry, "+v.name, shipAuthed(body("Tracking Detail", entry(v.field, v.value))))
	}
	c.shipOK("NDR entry, reason fields of any type", shipAuthed(body("NDR Detail", entry("ndrReason", raw(`{"code":1}`), "NDR_REMARKS", raw("[]"), "reason", raw("null")))))
}
