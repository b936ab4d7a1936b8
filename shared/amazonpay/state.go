package amazonpay

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/amazon-webhook-gateway/gateway/shared/amazonpayapi"
)

// State is `detail.data.state`: the allow-listed part of a Charge, Refund or Charge Permission
// fetched from the Amazon Pay API v2. Buyer and address fields are kept only with
// AmazonPayIncludeBuyerData; everything else Amazon returns is left out.
type State struct {
	ChargeID             string         `json:"chargeId,omitempty"`
	RefundID             string         `json:"refundId,omitempty"`
	ChargePermissionID   string         `json:"chargePermissionId,omitempty"`
	ChargePermissionType string         `json:"chargePermissionType,omitempty"`
	MerchantReferenceID  string         `json:"merchantReferenceId,omitempty"`
	StatusDetails        *StatusDetails `json:"statusDetails"`
	ChargeAmount         *Price         `json:"chargeAmount,omitempty"`
	CaptureAmount        *Price         `json:"captureAmount,omitempty"`
	RefundedAmount       *Price         `json:"refundedAmount,omitempty"`
	ConvertedAmount      *Price         `json:"convertedAmount,omitempty"`
	RefundAmount         *Price         `json:"refundAmount,omitempty"`
	Limits               *Limits        `json:"limits,omitempty"`
	PresentmentCurrency  string         `json:"presentmentCurrency,omitempty"`
	CreationTimestamp    string         `json:"creationTimestamp,omitempty"`
	ExpirationTimestamp  string         `json:"expirationTimestamp,omitempty"`
	ReleaseEnvironment   string         `json:"releaseEnvironment,omitempty"`
	// Buyer data: only with AmazonPayIncludeBuyerData (enrichment.buyerDataIncluded).
	Buyer           json.RawMessage `json:"buyer,omitempty"`
	ShippingAddress json.RawMessage `json:"shippingAddress,omitempty"`
	BillingAddress  json.RawMessage `json:"billingAddress,omitempty"`
}

// StatusDetails is the object's state. Charges and refunds have one reason, charge permissions a
// list.
type StatusDetails struct {
	State                string   `json:"state"`
	ReasonCode           string   `json:"reasonCode,omitempty"`
	ReasonDescription    string   `json:"reasonDescription,omitempty"`
	Reasons              []Reason `json:"reasons,omitempty"`
	LastUpdatedTimestamp string   `json:"lastUpdatedTimestamp,omitempty"`
}

// Reason is one reason of a charge permission's state.
type Reason struct {
	ReasonCode        string `json:"reasonCode"`
	ReasonDescription string `json:"reasonDescription,omitempty"`
}

// Price is an amount as Amazon Pay writes it: a decimal string, never a float.
type Price struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currencyCode"`
}

// Limits are a charge permission's amount limit and balance.
type Limits struct {
	AmountLimit   *Price `json:"amountLimit,omitempty"`
	AmountBalance *Price `json:"amountBalance,omitempty"`
}

// errInvalidObject: the API's answer is not the object asked for, or not one the gateway can read.
var errInvalidObject = errors.New("invalid object")

var (
	decimal  = regexp.MustCompile(`^-?[0-9]{1,18}(\.[0-9]{1,8})?$`)
	currency = regexp.MustCompile(`^[A-Z]{3}$`)
)

// fetched is the part of an API answer the gateway reads.
type fetched struct {
	ChargeID             string         `json:"chargeId"`
	RefundID             string         `json:"refundId"`
	ChargePermissionID   string         `json:"chargePermissionId"`
	ChargePermissionType string         `json:"chargePermissionType"`
	StatusDetails        *StatusDetails `json:"statusDetails"`
	ChargeAmount         *Price         `json:"chargeAmount"`
	CaptureAmount        *Price         `json:"captureAmount"`
	RefundedAmount       *Price         `json:"refundedAmount"`
	ConvertedAmount      *Price         `json:"convertedAmount"`
	RefundAmount         *Price         `json:"refundAmount"`
	Limits               *Limits        `json:"limits"`
	PresentmentCurrency  string         `json:"presentmentCurrency"`
	CreationTimestamp    string         `json:"creationTimestamp"`
	ExpirationTimestamp  string         `json:"expirationTimestamp"`
	ReleaseEnvironment   string         `json:"releaseEnvironment"`
	MerchantMetadata     *struct {
		MerchantReferenceID string `json:"merchantReferenceId"`
	} `json:"merchantMetadata"`
	Buyer           json.RawMessage `json:"buyer"`
	ShippingAddress json.RawMessage `json:"shippingAddress"`
	BillingAddress  json.RawMessage `json:"billingAddress"`
}

// stateOf reads the allow-listed state out of the API's answer for object id. Its errors
// (errInvalidObject) name a field, never a value.
func stateOf(object amazonpayapi.Object, id string, raw []byte, includeBuyer bool) (*State, error) {
	var f fetched
	if err := json.Unmarshal(raw, &f); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, fmt.Errorf("%w: %s has the wrong JSON type", errInvalidObject, te.Field)
		}
		return nil, fmt.Errorf("%w: not a JSON object", errInvalidObject)
	}
	ownID := map[amazonpayapi.Object]string{amazonpayapi.Charge: f.ChargeID, amazonpayapi.Refund: f.RefundID, amazonpayapi.ChargePermission: f.ChargePermissionID}[object]
	if ownID != id {
		return nil, fmt.Errorf("%w: the answer is not the object the IPN names", errInvalidObject)
	}
	if f.StatusDetails == nil || f.StatusDetails.State == "" {
		return nil, fmt.Errorf("%w: statusDetails.state is missing", errInvalidObject)
	}
	for name, p := range map[string]*Price{
		"chargeAmount": f.ChargeAmount, "captureAmount": f.CaptureAmount, "refundedAmount": f.RefundedAmount,
		"convertedAmount": f.ConvertedAmount, "refundAmount": f.RefundAmount,
		"limits.amountLimit": limit(f.Limits, true), "limits.amountBalance": limit(f.Limits, false),
	} {
		if p != nil && (!decimal.MatchString(p.Amount) || !currency.MatchString(p.CurrencyCode)) {
			return nil, fmt.Errorf("%w: %s is not a decimal amount with a currency code", errInvalidObject, name)
		}
	}
	s := &State{
		ChargeID: f.ChargeID, RefundID: f.RefundID, ChargePermissionID: f.ChargePermissionID,
		ChargePermissionType: f.ChargePermissionType, StatusDetails: f.StatusDetails,
		ChargeAmount: f.ChargeAmount, CaptureAmount: f.CaptureAmount, RefundedAmount: f.RefundedAmount,
		ConvertedAmount: f.ConvertedAmount, RefundAmount: f.RefundAmount, Limits: f.Limits,
		PresentmentCurrency: f.PresentmentCurrency, CreationTimestamp: f.CreationTimestamp,
		ExpirationTimestamp: f.ExpirationTimestamp, ReleaseEnvironment: f.ReleaseEnvironment,
	}
	if f.MerchantMetadata != nil {
		s.MerchantReferenceID = f.MerchantMetadata.MerchantReferenceID
	}
	if includeBuyer {
		s.Buyer, s.ShippingAddress, s.BillingAddress = objectOrNil(f.Buyer), objectOrNil(f.ShippingAddress), objectOrNil(f.BillingAddress)
	}
	return s, nil
}

func limit(l *Limits, amountLimit bool) *Price {
	switch {
	case l == nil:
		return nil
	case amountLimit:
		return l.AmountLimit
	default:
		return l.AmountBalance
	}
}

// objectOrNil keeps a JSON object; null, or anything else, is left out.
func objectOrNil(raw json.RawMessage) json.RawMessage {
	if len(raw) > 0 && raw[0] == '{' {
		return raw
	}
	return nil
}
