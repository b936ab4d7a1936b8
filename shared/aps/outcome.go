package aps

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Outcome is what a message says happened, as a detail-type consumers route on.
type Outcome struct {
	Status      string // two digits, from status or the first two digits of response_code
	Description string
	DetailType  string
	// Combination says how the message's operation (command, else service_command) and status
	// relate: CombinationKnown, CombinationUnknown, or "" when the message names no operation.
	Combination string
}

// outcomes maps APS transaction statuses to detail-types. Statuses not listed become
// DetailTypeUnknown with the raw code kept: never dropped.
var outcomes = map[string]Outcome{
	"02": {Description: "Authorization success", DetailType: DetailTypeAuthorizationSucceeded},
	"03": {Description: "Authorization failed", DetailType: DetailTypeAuthorizationFailed},
	"04": {Description: "Capture success", DetailType: DetailTypeCaptureSucceeded},
	"05": {Description: "Capture failed", DetailType: DetailTypeCaptureFailed},
	"06": {Description: "Refund success", DetailType: DetailTypeRefundSucceeded},
	"07": {Description: "Refund failed", DetailType: DetailTypeRefundFailed},
	"08": {Description: "Authorization voided successfully", DetailType: DetailTypeVoidSucceeded},
	"09": {Description: "Authorization void failed", DetailType: DetailTypeVoidFailed},
	"13": {Description: "Purchase failure", DetailType: DetailTypePurchaseFailed},
	"14": {Description: "Purchase success", DetailType: DetailTypePurchaseSucceeded},
	"15": {Description: "Uncertain transaction", DetailType: DetailTypeUncertain},
	"17": {Description: "Tokenization failed", DetailType: DetailTypeTokenizationFailed},
	"18": {Description: "Tokenization success", DetailType: DetailTypeTokenizationSucceeded},
	"19": {Description: "Transaction pending", DetailType: DetailTypePending},
	"20": {Description: "On hold", DetailType: DetailTypeOnHold},
}

// Combination values (detail.data.combination).
const (
	CombinationKnown   = "known"
	CombinationUnknown = "unknown"
)

// combinations maps an operation and a status to the detail-type it has by command (facts §5.4:
// classify by command and status). The statuses 02 to 14, 17 and 18 name their operation, so
// their detail-types stay; 15, 19 and 20 do not, and get one per operation.
var combinations = map[[2]string]string{
	{"AUTHORIZATION", "02"}: DetailTypeAuthorizationSucceeded, {"AUTHORIZATION", "03"}: DetailTypeAuthorizationFailed,
	{"AUTHORIZATION", "15"}: DetailTypeAuthorizationUncertain, {"AUTHORIZATION", "19"}: DetailTypeAuthorizationPending,
	{"AUTHORIZATION", "20"}: DetailTypeAuthorizationOnHold,
	{"PURCHASE", "14"}:      DetailTypePurchaseSucceeded, {"PURCHASE", "13"}: DetailTypePurchaseFailed,
	{"PURCHASE", "15"}: DetailTypePurchaseUncertain, {"PURCHASE", "19"}: DetailTypePurchasePending,
	{"PURCHASE", "20"}: DetailTypePurchaseOnHold,
	{"CAPTURE", "04"}:  DetailTypeCaptureSucceeded, {"CAPTURE", "05"}: DetailTypeCaptureFailed,
	{"CAPTURE", "15"}: DetailTypeCaptureUncertain, {"CAPTURE", "19"}: DetailTypeCapturePending,
	{"CAPTURE", "20"}: DetailTypeCaptureOnHold,
	{"REFUND", "06"}:  DetailTypeRefundSucceeded, {"REFUND", "07"}: DetailTypeRefundFailed,
	{"REFUND", "15"}: DetailTypeRefundUncertain, {"REFUND", "19"}: DetailTypeRefundPending,
	{"REFUND", "20"}:             DetailTypeRefundOnHold,
	{"VOID_AUTHORIZATION", "08"}: DetailTypeVoidSucceeded, {"VOID_AUTHORIZATION", "09"}: DetailTypeVoidFailed,
	{"VOID_AUTHORIZATION", "15"}: DetailTypeVoidUncertain, {"VOID_AUTHORIZATION", "19"}: DetailTypeVoidPending,
	{"VOID_AUTHORIZATION", "20"}: DetailTypeVoidOnHold,
	{"TOKENIZATION", "18"}:       DetailTypeTokenizationSucceeded, {"TOKENIZATION", "17"}: DetailTypeTokenizationFailed,
}

// Combination is one operation and status with its detail-type by command.
type Combination struct{ Operation, Status, DetailType string }

// Combinations lists every known operation and status, ordered by status then operation.
func Combinations() []Combination {
	out := make([]Combination, 0, len(combinations))
	for k, dt := range combinations {
		out = append(out, Combination{Operation: k[0], Status: k[1], DetailType: dt})
	}
	slices.SortFunc(out, func(a, b Combination) int {
		return cmp.Or(strings.Compare(a.Status, b.Status), strings.Compare(a.Operation, b.Operation))
	})
	return out
}

// OperationOf is the operation a message reports on: command, else service_command (tokenization).
func OperationOf(p map[string]string) string {
	return firstOf(p["command"], p["service_command"])
}

// OutcomeOf reads the outcome of validated parameters by status alone, as before commands were
// read: the detail-types of deployments with ApsDetailTypesByCommand=false. Combination is set.
func OutcomeOf(p map[string]string) Outcome {
	status := p["status"]
	if status == "" && len(p["response_code"]) >= 2 {
		status = p["response_code"][:2]
	}
	o, ok := outcomes[status]
	if !ok {
		o = Outcome{Description: "Unknown status", DetailType: DetailTypeUnknown}
	}
	o.Status = status
	if op := OperationOf(p); op != "" {
		o.Combination = CombinationUnknown
		if _, known := combinations[[2]string{op, status}]; known {
			o.Combination = CombinationKnown
		}
	}
	return o
}

// OutcomeByCommand reads the outcome by operation and status (ApsDetailTypesByCommand=true): a
// known combination has its own detail-type, one the gateway does not know is announced as
// DetailTypeCombinationUnknown (never refused), and a message without an operation, or with a
// status the gateway does not know, is classified as OutcomeOf does.
func OutcomeByCommand(p map[string]string) Outcome {
	o := OutcomeOf(p)
	switch {
	case o.Combination == "" || o.DetailType == DetailTypeUnknown:
	case o.Combination == CombinationKnown:
		o.DetailType = combinations[[2]string{OperationOf(p), o.Status}]
	default:
		o.DetailType = DetailTypeCombinationUnknown
	}
	return o
}

// Amount is a transaction amount in minor units and as a decimal string.
type Amount struct {
	MinorUnits int64  `json:"minorUnits"`
	Value      string `json:"value"`
	Currency   string `json:"currency"`
	Exponent   int    `json:"exponent"`
}

// exponents lists ISO 4217 currencies whose minor unit is not 1/100.
var exponents = map[string]int{
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}

// Exponent is the number of decimals of currency's minor unit.
func Exponent(currency string) int {
	if e, ok := exponents[currency]; ok {
		return e
	}
	return 2
}

// AmountOf reads amount and currency from validated parameters; ok is false without an amount.
func AmountOf(p map[string]string) (Amount, bool) {
	if p["amount"] == "" {
		return Amount{}, false
	}
	minor, err := strconv.ParseInt(p["amount"], 10, 64)
	if err != nil {
		return Amount{}, false
	}
	cur := p["currency"]
	exp := Exponent(cur)
	return Amount{MinorUnits: minor, Value: decimal(minor, exp), Currency: cur, Exponent: exp}, true
}

// decimal formats minor units without floating point: 1000 with exponent 3 is "1.000".
func decimal(minor int64, exp int) string {
	s := strconv.FormatInt(minor, 10)
	if exp == 0 {
		return s
	}
	if len(s) <= exp {
		s = strings.Repeat("0", exp-len(s)+1) + s
	}
	return s[:len(s)-exp] + "." + s[len(s)-exp:]
}
