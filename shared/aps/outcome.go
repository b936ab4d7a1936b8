package aps

import (
	"strconv"
	"strings"
)

// Outcome is what a message says happened, as a detail-type consumers route on.
type Outcome struct {
	Status      string // two digits, from status or the first two digits of response_code
	Description string
	DetailType  string
}

// outcomes maps APS transaction statuses to detail-types. Statuses not listed become
// DetailTypeUnknown with the raw code kept: never dropped.
var outcomes = map[string]Outcome{
	"02": {Description: "Authorization success", DetailType: "APS Authorization Succeeded"},
	"03": {Description: "Authorization failed", DetailType: "APS Authorization Failed"},
	"04": {Description: "Capture success", DetailType: "APS Capture Succeeded"},
	"05": {Description: "Capture failed", DetailType: "APS Capture Failed"},
	"06": {Description: "Refund success", DetailType: "APS Refund Succeeded"},
	"07": {Description: "Refund failed", DetailType: "APS Refund Failed"},
	"08": {Description: "Authorization voided successfully", DetailType: "APS Void Succeeded"},
	"09": {Description: "Authorization void failed", DetailType: "APS Void Failed"},
	"13": {Description: "Purchase failure", DetailType: "APS Purchase Failed"},
	"14": {Description: "Purchase success", DetailType: "APS Purchase Succeeded"},
	"15": {Description: "Uncertain transaction", DetailType: "APS Transaction Uncertain"},
	"17": {Description: "Tokenization failed", DetailType: "APS Tokenization Failed"},
	"18": {Description: "Tokenization success", DetailType: "APS Tokenization Succeeded"},
	"19": {Description: "Transaction pending", DetailType: "APS Transaction Pending"},
	"20": {Description: "On hold", DetailType: "APS Transaction On Hold"},
}

// DetailTypeUnknown is the detail-type of a status the gateway does not know.
const DetailTypeUnknown = "APS Transaction Status Unknown"

// OutcomeOf reads the outcome of validated parameters.
func OutcomeOf(p map[string]string) Outcome {
	status := p["status"]
	if status == "" && len(p["response_code"]) >= 2 {
		status = p["response_code"][:2]
	}
	o, ok := outcomes[status]
	if !ok {
		return Outcome{Status: status, Description: "Unknown status", DetailType: DetailTypeUnknown}
	}
	o.Status = status
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
