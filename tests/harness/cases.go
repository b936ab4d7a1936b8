package harness

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
)

// The builders below make one new delivery each, for suites that walk every outcome of every
// webhook (the metric-filter and the metrics suites): authentic ones, and ones broken in one way.

var uniqueSeq atomic.Int64

// Unique names one delivery: prefix, the time and a sequence number.
func Unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), uniqueSeq.Add(1))
}

func validOTP(trackingID string) OTP {
	return OTP{TrackingID: trackingID, Code: "482913", TTL: time.Now().Add(time.Hour).UnixMilli()}
}

// ShippingOK is an authentic Shipping delivery of one OTP.
func ShippingOK(*Gateway) events.APIGatewayV2HTTPRequest {
	id := Unique("ship")
	return Shipping(ShippingBody(id, time.Now(), validOTP(id)))
}

// ShippingWrongKey is a Shipping delivery with an API key that is not configured (401).
func ShippingWrongKey(g *Gateway) events.APIGatewayV2HTTPRequest {
	req := ShippingOK(g)
	req.Headers["x-api-key"] = "not-the-dev-api-key-0123456789abcdef"
	return req
}

// ShippingWithoutTrackingID is authentic but invalid: quarantined (202).
func ShippingWithoutTrackingID(*Gateway) events.APIGatewayV2HTTPRequest {
	return Shipping(ShippingBody(Unique("ship-bad"), time.Now(), validOTP("")))
}

func apsParams() map[string]string {
	ref := Unique("order")
	return APSParams(ref, ref)
}

// APSOK is an authentic APS transaction feedback.
func APSOK(*Gateway) events.APIGatewayV2HTTPRequest {
	return APS("/aps/transaction-feedback", SignAPS(apsParams()), false)
}

// APSWrongSignature is an APS message whose signature is not the merchant's (401).
func APSWrongSignature(*Gateway) events.APIGatewayV2HTTPRequest {
	p := SignAPS(apsParams())
	p["signature"] = strings.Repeat("0", len(p["signature"]))
	return APS("/aps/transaction-feedback", p, false)
}

// APSInvalidStatus is a signed APS message with an invalid status: quarantined (202).
func APSInvalidStatus(*Gateway) events.APIGatewayV2HTTPRequest {
	p := apsParams()
	p["status"] = "ab"
	return APS("/aps/transaction-feedback", SignAPS(p), false)
}

// IPNOK is an authentic Amazon Pay charge notification from the allowed topic.
func IPNOK(g *Gateway) events.APIGatewayV2HTTPRequest {
	id := Unique("ipn")
	return AmazonPay(g.Notification(id, ChargeMessage(id)))
}

// IPNChangedAfterSigning is an IPN whose Message was changed after SNS signed it (401).
func IPNChangedAfterSigning(g *Gateway) events.APIGatewayV2HTTPRequest {
	id := Unique("ipn")
	m := g.Notification(id, ChargeMessage(id))
	m.Message = ChargeMessage(id + "-changed")
	return AmazonPay(m)
}

// IPNOtherTopic is a signed IPN from a topic that is not allowed (403).
func IPNOtherTopic(g *Gateway) events.APIGatewayV2HTTPRequest {
	id := Unique("ipn")
	m := g.Notification(id, ChargeMessage(id))
	m.TopicARN = "arn:aws:sns:eu-west-1:999999999999:someone-elses-topic"
	g.SNS.Sign(m)
	return AmazonPay(m)
}

// IPNConfirmationToAnotherHost is a signed SubscriptionConfirmation whose SubscribeURL is not on
// an SNS host: kept in the quarantine rather than confirmed (202).
func IPNConfirmationToAnotherHost(g *Gateway) events.APIGatewayV2HTTPRequest {
	m := &snsverify.Message{
		Type: snsverify.TypeSubscriptionConfirmation, MessageID: Unique("confirm"), Token: Unique("token"), TopicARN: TopicARN,
		Message:      "You have chosen to subscribe to the topic " + TopicARN + ".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
		SubscribeURL: "https://evil.example.com/?Action=ConfirmSubscription&Token=x",
		Timestamp:    time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
	}
	g.SNS.Sign(m)
	return AmazonPay(m)
}
