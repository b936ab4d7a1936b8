package badinput

import (
	"fmt"
	"strings"

	"github.com/amazon-webhook-gateway/gateway/shared/snsverify"
)

// amazonPayV2: Amazon Pay API v2 messages in every shape the two documentation pages
// allow, and broken ones. A verified message is never refused for its content: each is published
// (200), the ones the gateway cannot read as v2 as "Amazon Pay IPN".
func amazonPayV2(c *corpus) {
	message := func(fields string) func(m *snsverify.Message) {
		return func(m *snsverify.Message) {
			// A NotificationId no other case has: a shared one would make the case a duplicate.
			m.Message = strings.ReplaceAll(fields, "$N", fmt.Sprintf("v2-%05d", c.seq()))
		}
	}
	for _, tc := range []struct{ name, fields string }{
		{"v2 charge permission", `{"MerchantID":"A3EXAMPLE","ObjectType":"CHARGE_PERMISSION","ObjectId":"S02-1","ChargePermissionId":"S02-1","NotificationType":"ATTRIBUTE_CHANGE","NotificationId":"$N","NotificationVersion":"V2"}`},
		{"v2 chargeback", `{"MerchantID":"A3EXAMPLE","ObjectType":"CHARGEBACK","ObjectId":"S02-1-B1","ChargePermissionId":"S02-1","NotificationType":"STATE_CHANGE","NotificationId":"$N","NotificationVersion":"V2"}`},
		{"v2 refund, older page's lower-case keys", `{"merchantID":"A3EXAMPLE","objectType":"REFUND","objectId":"S02-1-R1","chargePermissionId":"S02-1","notificationType":"STATE_CHANGE","notificationId":"$N","notificationVersion":"V1"}`},
		{"v2 object type in lower case", `{"ObjectType":"charge","ObjectId":"S02-1-C1","NotificationId":"$N"}`},
		{"v2 without ObjectId", `{"ObjectType":"CHARGE","NotificationType":"STATE_CHANGE","NotificationId":"$N"}`},
		{"v2 ObjectId with a path", `{"ObjectType":"CHARGE","ObjectId":"../../v2/refunds/S02-1","NotificationId":"$N"}`},
		{"v2 ObjectId not a string", `{"ObjectType":"REFUND","ObjectId":12345,"NotificationId":"$N"}`},
		{"v2 unknown notification type", `{"ObjectType":"CHARGE","ObjectId":"S02-1-C2","NotificationType":"DELETED","NotificationId":"$N"}`},
		{"v2 both key casings", `{"ObjectType":"CHARGE","objectType":"REFUND","ObjectId":"S02-1-C3","NotificationId":"$N"}`},
		{"v2 without NotificationId", `{"ObjectType":"CHARGE","ObjectId":"S02-1-C$N"}`},
		{"v2 unknown object type", `{"ObjectType":"CHECKOUT_SESSION","ObjectId":"S02-1-X","NotificationId":"$N"}`},
		{"v2 object type not a string", `{"ObjectType":{"CHARGE":true},"NotificationId":"$N"}`},
	} {
		c.payOK(tc.name, ipn(c.ipnMsg(message(tc.fields))))
	}
}
