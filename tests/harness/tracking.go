package harness

import (
	"encoding/json"
	"time"
)

// ShippingEnvelope is an Amazon Shipping push notification of detailType with envelope id and
// the detail entries (one: a detail object; more: an accumulated detail array), as Amazon sends
// tracking (detail-type "Tracking Detail") and NDR pushes.
func ShippingEnvelope(id, detailType string, at time.Time, entries ...map[string]any) string {
	env := map[string]any{
		"version": "0", "id": id, "detail-type": detailType, "source": "AmazonShipping", "account": "474668380910",
		"time": at.UTC().Format(time.RFC3339), "region": "eu-west-1", "resources": []string{},
	}
	if len(entries) == 1 {
		env["detail"] = entries[0]
	} else {
		env["detail"] = entries
	}
	b, _ := json.Marshal(env)
	return string(b)
}

// TrackingEntry is a tracking detail entry; eventTime is left out when it is nil.
func TrackingEntry(trackingID, eventCode string, eventTime any) map[string]any {
	e := map[string]any{"trackingId": trackingID, "alternateLegTrackingId": "alt-" + trackingID, "shipmentType": "FORWARD", "status": eventCode, "eventCode": eventCode}
	if eventTime != nil {
		e["eventTime"] = eventTime
	}
	return e
}
