package amazonpay

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpayapi"
)

// Every Amazon Pay API v2 object type has its own detail-type, in both key casings; India names
// and anything else keep theirs.
func TestEveryV2ObjectTypeHasItsOwnDetailType(t *testing.T) {
	tests := []struct {
		name, message, detailType, kind, legacy string
		fetch                                   amazonpayapi.Object
		data                                    Data
	}{
		{"v2 charge", `{"MerchantID":"M1","ObjectType":"CHARGE","ObjectId":"S01-1-1-C1","ChargePermissionId":"S01-1-1","NotificationType":"STATE_CHANGE","NotificationId":"n1","NotificationVersion":"V2"}`,
			DetailTypeChargeChanged, "charge", DetailTypeCharge, amazonpayapi.Charge,
			Data{NotificationType: "STATE_CHANGE", ObjectType: "CHARGE", ObjectID: "S01-1-1-C1", ChargePermissionID: "S01-1-1", NotificationID: "n1", MerchantID: "M1"}},
		{"older page, lower case keys", `{"merchantID":"M1","objectType":"REFUND","objectId":"S01-1-1-R1","chargePermissionId":"S01-1-1","notificationType":"STATE_CHANGE","notificationId":"n2","notificationVersion":"V1"}`,
			DetailTypeRefundChanged, "refund", DetailTypeRefund, amazonpayapi.Refund,
			Data{NotificationType: "STATE_CHANGE", ObjectType: "REFUND", ObjectID: "S01-1-1-R1", ChargePermissionID: "S01-1-1", NotificationID: "n2", MerchantID: "M1"}},
		{"charge permission, attribute change", `{"MerchantID":"M1","ObjectType":"CHARGE_PERMISSION","ObjectId":"S01-1-1","ChargePermissionId":"S01-1-1","NotificationType":"ATTRIBUTE_CHANGE","NotificationId":"n3"}`,
			DetailTypeChargePermissionChanged, "charge-permission", DetailTypeIPN, amazonpayapi.ChargePermission,
			Data{NotificationType: "ATTRIBUTE_CHANGE", ObjectType: "CHARGE_PERMISSION", ObjectID: "S01-1-1", ChargePermissionID: "S01-1-1", NotificationID: "n3", MerchantID: "M1"}},
		{"chargeback", `{"MerchantID":"M1","ObjectType":"CHARGEBACK","ObjectId":"S01-1-1-B1","ChargePermissionId":"S01-1-1","NotificationType":"STATE_CHANGE","NotificationId":"n4"}`,
			DetailTypeChargebackChanged, "chargeback", DetailTypeIPN, "",
			Data{NotificationType: "STATE_CHANGE", ObjectType: "CHARGEBACK", ObjectID: "S01-1-1-B1", ChargePermissionID: "S01-1-1", NotificationID: "n4", MerchantID: "M1"}},
		{"object type in lower case", `{"ObjectType":"charge","ObjectId":"C1"}`, DetailTypeChargeChanged, "charge", DetailTypeCharge, amazonpayapi.Charge,
			Data{ObjectType: "charge", ObjectID: "C1"}},
		{"India charge", `{"NotificationType":"ChargeNotification","amazonOrderId":"S04-1"}`, DetailTypeCharge, "charge", "", "", Data{NotificationType: "ChargeNotification"}},
		{"India refund", `{"NotificationType":"RefundNotification"}`, DetailTypeRefund, "refund", "", "", Data{NotificationType: "RefundNotification"}},
		{"unknown object type", `{"ObjectType":"CHECKOUT_SESSION","ObjectId":"X"}`, DetailTypeIPN, "other", "", "", Data{ObjectType: "CHECKOUT_SESSION", ObjectID: "X"}},
		{"object type not a string", `{"ObjectType":["CHARGE"]}`, DetailTypeIPN, "other", "", "", Data{}},
		{"not JSON", `CHARGE`, DetailTypeIPN, "other", "", "", Data{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := classify(tc.message)
			got := n.data
			got.Message, got.Kind = nil, ""
			if n.detailType != tc.detailType || n.data.Kind != tc.kind || !equalData(got, tc.data) {
				t.Fatalf("got %s %s %+v", n.detailType, n.data.Kind, got)
			}
			if (n.v2 != nil) != (tc.legacy != "") {
				t.Fatalf("v2 = %+v", n.v2)
			}
			if n.v2 != nil && (n.v2.legacy != tc.legacy || n.v2.api != tc.fetch) {
				t.Errorf("legacy %s, fetch %q", n.v2.legacy, n.v2.api)
			}
		})
	}
}

func equalData(a, b Data) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// A re-published notification (the same message, whatever its key casing or member order) has the
// same key; another notification of the same object does not.
func TestARepublishedNotificationKeepsItsKey(t *testing.T) {
	base := `{"MerchantID":"M1","ObjectType":"CHARGE","ObjectId":"C1","NotificationType":"STATE_CHANGE","NotificationId":"n1"}`
	key := notificationKey(classify(base).data)
	if !strings.HasPrefix(key, "amazonpay:notification:") {
		t.Fatalf("key %q", key)
	}
	for _, c := range []struct {
		name, message string
		same          bool
	}{
		{"re-published as is", base, true},
		{"members reordered, lower-case keys", `{"notificationId":"n1","objectId":"C1","objectType":"CHARGE","merchantID":"M1","notificationType":"STATE_CHANGE"}`, true},
		{"another notification", strings.Replace(base, `"n1"`, `"n2"`, 1), false},
		{"same id, another object", strings.Replace(base, `"C1"`, `"C2"`, 1), false},
		{"same id, attribute change", strings.Replace(base, "STATE_CHANGE", "ATTRIBUTE_CHANGE", 1), false},
		{"same id, another merchant", strings.Replace(base, `"M1"`, `"M2"`, 1), false},
	} {
		if got := notificationKey(classify(c.message).data); (got == key) != c.same {
			t.Errorf("%s: key %s, same = %t", c.name, got, got == key)
		}
	}
	if got := notificationKey(classify(`{"ObjectType":"CHARGE","ObjectId":"C1"}`).data); got != "" {
		t.Errorf("no NotificationId, key %q", got)
	}
}

const (
	chargeObject = `{"chargeId":"S01-1-1-C1","chargePermissionId":"S01-1-1","chargeAmount":{"amount":"14.00","currencyCode":"USD"},
"captureAmount":{"amount":"14.00","currencyCode":"USD"},"refundedAmount":{"amount":"0.00","currencyCode":"USD"},"softDescriptor":"Descriptor",
"providerMetadata":{"providerReferenceId":null},"convertedAmount":{"amount":"14.00","currencyCode":"USD"},"conversionRate":1.00,
"channel":"Web","statusDetails":{"state":"Captured","reasonCode":null,"reasonDescription":null,"lastUpdatedTimestamp":"20190714T155300Z"},
"creationTimestamp":"20190714T155300Z","expirationTimestamp":"20190715T155300Z","releaseEnvironment":"Sandbox",
"merchantMetadata":{"merchantReferenceId":"ORDER-1","merchantStoreName":"Store","customInformation":"secret note"},
"webCheckoutDetails":{"checkoutResultReturnUrl":"https://example.com/r"}}`
	permissionObject = `{"chargePermissionId":"S01-1-1","chargePermissionType":"OneTime","buyer":{"buyerId":"B1","name":"Jane Buyer","email":"jane@example.com","phoneNumber":"800-000-0000"},
"shippingAddress":{"name":"Jane Buyer","addressLine1":"1 Main St","city":"Seattle","postalCode":"98101","countryCode":"US"},"billingAddress":null,
"limits":{"amountLimit":{"amount":"150.00","currencyCode":"USD"},"amountBalance":{"amount":"136.00","currencyCode":"USD"}},
"statusDetails":{"state":"Chargeable","reasons":[{"reasonCode":"BillingAddressDeleted","reasonDescription":"x"}],"lastUpdatedTimestamp":"20190714T155300Z"},
"presentmentCurrency":"USD","creationTimestamp":"20190714T155300Z","expirationTimestamp":"20200714T155300Z","releaseEnvironment":"Live"}`
	refundObject = `{"refundId":"S01-1-1-R1","chargeId":"S01-1-1-C1","refundAmount":{"amount":"2.50","currencyCode":"EUR"},"softDescriptor":"x",
"creationTimestamp":"20190714T155300Z","statusDetails":{"state":"Declined","reasonCode":"AmazonRejected","reasonDescription":"No","lastUpdatedTimestamp":"20190714T155300Z"},"releaseEnvironment":"Live"}`
)

// Only the allow-listed fields of a fetched object reach the event; buyer and address fields only
// when asked; an answer that is not the object named, or that cannot be read, is refused, naming
// the field.
func TestOnlyAllowListedStateReachesTheEvent(t *testing.T) {
	tests := []struct {
		name         string
		object       amazonpayapi.Object
		id, raw      string
		includeBuyer bool
		want         string // the state as JSON
		err          string
	}{
		{"charge", amazonpayapi.Charge, "S01-1-1-C1", chargeObject, false,
			`{"chargeId":"S01-1-1-C1","chargePermissionId":"S01-1-1","merchantReferenceId":"ORDER-1","statusDetails":{"state":"Captured","lastUpdatedTimestamp":"20190714T155300Z"},"chargeAmount":{"amount":"14.00","currencyCode":"USD"},"captureAmount":{"amount":"14.00","currencyCode":"USD"},"refundedAmount":{"amount":"0.00","currencyCode":"USD"},"convertedAmount":{"amount":"14.00","currencyCode":"USD"},"creationTimestamp":"20190714T155300Z","expirationTimestamp":"20190715T155300Z","releaseEnvironment":"Sandbox"}`, ""},
		{"refund", amazonpayapi.Refund, "S01-1-1-R1", refundObject, true,
			`{"chargeId":"S01-1-1-C1","refundId":"S01-1-1-R1","statusDetails":{"state":"Declined","reasonCode":"AmazonRejected","reasonDescription":"No","lastUpdatedTimestamp":"20190714T155300Z"},"refundAmount":{"amount":"2.50","currencyCode":"EUR"},"creationTimestamp":"20190714T155300Z","releaseEnvironment":"Live"}`, ""},
		{"charge permission without buyer data", amazonpayapi.ChargePermission, "S01-1-1", permissionObject, false,
			`{"chargePermissionId":"S01-1-1","chargePermissionType":"OneTime","statusDetails":{"state":"Chargeable","reasons":[{"reasonCode":"BillingAddressDeleted","reasonDescription":"x"}],"lastUpdatedTimestamp":"20190714T155300Z"},"limits":{"amountLimit":{"amount":"150.00","currencyCode":"USD"},"amountBalance":{"amount":"136.00","currencyCode":"USD"}},"presentmentCurrency":"USD","creationTimestamp":"20190714T155300Z","expirationTimestamp":"20200714T155300Z","releaseEnvironment":"Live"}`, ""},
		{"charge permission with buyer data", amazonpayapi.ChargePermission, "S01-1-1", permissionObject, true,
			`{"chargePermissionId":"S01-1-1","chargePermissionType":"OneTime","statusDetails":{"state":"Chargeable","reasons":[{"reasonCode":"BillingAddressDeleted","reasonDescription":"x"}],"lastUpdatedTimestamp":"20190714T155300Z"},"limits":{"amountLimit":{"amount":"150.00","currencyCode":"USD"},"amountBalance":{"amount":"136.00","currencyCode":"USD"}},"presentmentCurrency":"USD","creationTimestamp":"20190714T155300Z","expirationTimestamp":"20200714T155300Z","releaseEnvironment":"Live","buyer":{"buyerId":"B1","name":"Jane Buyer","email":"jane@example.com","phoneNumber":"800-000-0000"},"shippingAddress":{"name":"Jane Buyer","addressLine1":"1 Main St","city":"Seattle","postalCode":"98101","countryCode":"US"}}`, ""},
		{"another charge", amazonpayapi.Charge, "S01-1-1-C2", chargeObject, false, "", "not the object the IPN names"},
		{"a refund asked as a charge", amazonpayapi.Charge, "S01-1-1-R1", refundObject, false, "", "not the object the IPN names"},
		{"no state", amazonpayapi.Charge, "C1", `{"chargeId":"C1","statusDetails":{}}`, false, "", "statusDetails.state is missing"},
		{"amount a number", amazonpayapi.Charge, "C1", `{"chargeId":"C1","statusDetails":{"state":"Authorized"},"chargeAmount":{"amount":14.0,"currencyCode":"USD"}}`, false, "", "chargeAmount.amount has the wrong JSON type"},
		{"amount not decimal", amazonpayapi.Charge, "C1", `{"chargeId":"C1","statusDetails":{"state":"Authorized"},"chargeAmount":{"amount":"1e3","currencyCode":"USD"}}`, false, "", "chargeAmount is not a decimal"},
		{"limit without currency", amazonpayapi.ChargePermission, "P1", `{"chargePermissionId":"P1","statusDetails":{"state":"Closed"},"limits":{"amountBalance":{"amount":"1"}}}`, false, "", "limits.amountBalance"},
		{"not JSON", amazonpayapi.Charge, "C1", `<html>`, false, "", "not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := stateOf(tc.object, tc.id, []byte(tc.raw), tc.includeBuyer)
			if tc.err != "" {
				if err == nil || !errors.Is(err, errInvalidObject) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(st)
			if string(got) != tc.want {
				t.Errorf("state\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// FuzzClassify: no message panics the classifier; a v2 detail-type always comes with its object,
// and data.message is always JSON.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		`{"MerchantID":"M1","ObjectType":"CHARGE","ObjectId":"S01-1-1-C1","ChargePermissionId":"S01-1-1","NotificationType":"STATE_CHANGE","NotificationId":"n1","NotificationVersion":"V2"}`,
		`{"merchantID":"M1","objectType":"chargeback","objectId":"B1"}`,
		`{"NotificationType":"ChargeNotification"}`,
		`{"ObjectType":"CHARGE","objectType":"REFUND"}`,
		`{"ObjectType":"\u0043HARGE"}`,
		`not json`, `[]`, `{"ObjectType":null}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, message string) {
		n := classify(message)
		if !json.Valid(n.data.Message) {
			t.Fatalf("data.message is not JSON: %q", n.data.Message)
		}
		v2 := map[string]bool{DetailTypeChargeChanged: true, DetailTypeRefundChanged: true, DetailTypeChargePermissionChanged: true, DetailTypeChargebackChanged: true}
		if v2[n.detailType] != (n.v2 != nil) {
			t.Fatalf("detail-type %s with v2 %+v", n.detailType, n.v2)
		}
		if _, known := v2Objects[strings.ToUpper(n.data.ObjectType)]; n.v2 != nil && !known {
			t.Fatalf("v2 detail-type for object type %q", n.data.ObjectType)
		}
	})
}

// FuzzStateOf: no API answer panics the reader; a state it accepts has a state name, is the
// object asked for, and holds buyer data only when asked.
func FuzzStateOf(f *testing.F) {
	f.Add(chargeObject, "S01-1-1-C1", uint8(0), false)
	f.Add(refundObject, "S01-1-1-R1", uint8(1), true)
	f.Add(permissionObject, "S01-1-1", uint8(2), false)
	f.Add(permissionObject, "S01-1-1", uint8(2), true)
	f.Add(`{"chargeId":"C1","statusDetails":{"state":"X"},"Buyer":{"name":"n"}}`, "C1", uint8(0), false)
	f.Fuzz(func(t *testing.T, raw, id string, which uint8, includeBuyer bool) {
		object := []amazonpayapi.Object{amazonpayapi.Charge, amazonpayapi.Refund, amazonpayapi.ChargePermission}[which%3]
		st, err := stateOf(object, id, []byte(raw), includeBuyer)
		if err != nil {
			if !errors.Is(err, errInvalidObject) {
				t.Fatalf("error %v is not errInvalidObject", err)
			}
			return
		}
		if st.StatusDetails == nil || st.StatusDetails.State == "" {
			t.Fatal("accepted a state without a state name")
		}
		if own := map[amazonpayapi.Object]string{amazonpayapi.Charge: st.ChargeID, amazonpayapi.Refund: st.RefundID, amazonpayapi.ChargePermission: st.ChargePermissionID}[object]; own != id {
			t.Fatalf("accepted object %q for %q", own, id)
		}
		if !includeBuyer && (st.Buyer != nil || st.ShippingAddress != nil || st.BillingAddress != nil) {
			t.Fatal("buyer data kept without AmazonPayIncludeBuyerData")
		}
		if _, err := json.Marshal(st); err != nil {
			t.Fatalf("state does not encode: %v", err)
		}
	})
}
