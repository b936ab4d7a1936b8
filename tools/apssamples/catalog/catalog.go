// Package catalog is the generated APS samples of events/: which files tools/apssamples writes and
// the message each carries, one per detail-type, addressed to and signed by the phrase sets of the
// development merchant secret (events/dev/aps-merchant.json, the secret the local stack and the
// tests load). The six older samples of events/ are written by hand and are not in it.
//
// tools/apssamples writes the files; tests/harness reads the catalog to know how many samples
// there are and what the Apple Pay sample holds.
package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"

	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
)

// MerchantFile is the development merchant secret, relative to the repository root.
const MerchantFile = "events/dev/aps-merchant.json"

// applePaySet is the name of the Apple Pay phrase set in the merchant secret's phraseSets.
const applePaySet = "apple-pay"

// defaultAlgorithm is the algorithm of a set that names none: template.yaml's default of
// ApsSignatureAlgorithm, as the local stack and the tests deploy it.
const defaultAlgorithm = apssignature.SHA256

// Set is one phrase set of the merchant secret as a sample is addressed and signed with it.
type Set struct {
	Identifier string // merchant_identifier
	AccessCode string // access_code
	Phrase     string // the SHA response phrase the signature is made with
	Algorithm  apssignature.Algorithm
}

// Sign returns p with its signature by the set.
func (s Set) Sign(p map[string]string) (map[string]string, error) {
	signer, err := apssignature.NewSigner(s.Algorithm, s.Phrase)
	if err != nil {
		return nil, err
	}
	p = maps.Clone(p)
	delete(p, apssignature.SignatureParam)
	p[apssignature.SignatureParam] = signer.Sign(p)
	return p, nil
}

// Merchant is the two phrase sets the samples use: the web integration's (the secret's top
// level) and Apple Pay's (phraseSets' "apple-pay").
type Merchant struct {
	Web, ApplePay Set
}

// secretSet is one set as the secret writes it; the top level is one too. Only the fields the
// samples need are read.
type secretSet struct {
	Name       string `json:"name"`
	Identifier string `json:"merchantIdentifier"`
	AccessCode string `json:"accessCode"`
	Phrase     string `json:"shaResponsePhrase"`
	Algorithm  string `json:"algorithm"`
}

// ParseMerchant reads the web and the Apple Pay set from a merchant secret's JSON. A set inherits
// the top level's merchantIdentifier and, naming no algorithm, signs with SHA-256.
func ParseMerchant(raw []byte) (Merchant, error) {
	var doc struct {
		secretSet
		Sets []secretSet `json:"phraseSets"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return Merchant{}, fmt.Errorf("merchant secret: %w", err)
	}
	web, err := doc.secretSet.set(doc.Identifier)
	if err != nil {
		return Merchant{}, fmt.Errorf("merchant secret, top level: %w", err)
	}
	for i, s := range doc.Sets {
		if s.Name != applePaySet {
			continue
		}
		applePay, err := s.set(doc.Identifier)
		if err != nil {
			return Merchant{}, fmt.Errorf("merchant secret, phraseSets[%d]: %w", i, err)
		}
		return Merchant{Web: web, ApplePay: applePay}, nil
	}
	return Merchant{}, fmt.Errorf("merchant secret: no phrase set named %q", applePaySet)
}

func (s secretSet) set(topIdentifier string) (Set, error) {
	if s.Identifier == "" {
		s.Identifier = topIdentifier
	}
	switch {
	case s.Identifier == "":
		return Set{}, errors.New("merchantIdentifier is empty")
	case s.AccessCode == "":
		return Set{}, errors.New("accessCode is empty")
	case s.Phrase == "":
		return Set{}, errors.New("shaResponsePhrase is empty")
	}
	alg := defaultAlgorithm
	if s.Algorithm != "" {
		a, err := apssignature.ParseAlgorithm(s.Algorithm)
		if err != nil {
			return Set{}, err
		}
		alg = a
	}
	return Set{Identifier: s.Identifier, AccessCode: s.AccessCode, Phrase: s.Phrase, Algorithm: alg}, nil
}

// LoadMerchant reads MerchantFile under the repository root.
func LoadMerchant(root string) (Merchant, error) {
	raw, err := os.ReadFile(filepath.Join(root, MerchantFile))
	if err != nil {
		return Merchant{}, err
	}
	return ParseMerchant(raw)
}

// Sample is one generated sample: APS's message to the transaction or the notification feedback
// route, unsigned, and the set that signs it.
type Sample struct {
	File     string // under events/
	Feedback string // "transaction" or "notification"
	ApplePay bool   // signed by the Apple Pay set, else by the web set
	Params   map[string]string
}

// Set is the phrase set of m that signs s.
func (s Sample) Set(m Merchant) Set {
	if s.ApplePay {
		return m.ApplePay
	}
	return m.Web
}

// purchase is a card payment's result, as the transaction feedback carries one.
func purchase(web Set, ref, fortID, command, status, code, message string) map[string]string {
	return map[string]string{
		"access_code": web.AccessCode, "amount": "10000", "authorization_code": "544003", "card_holder_name": "Test Holder",
		"card_number": "400555******0001", "command": command, "currency": "AED", "customer_email": "test@example.com",
		"customer_ip": "192.0.2.10", "eci": "ECOMMERCE", "expiry_date": "2105", "fort_id": fortID, "language": "en",
		"merchant_identifier": web.Identifier, "merchant_reference": ref, "payment_option": "VISA",
		"response_code": status + code, "response_message": message, "status": status,
	}
}

// maintenance is a later operation's result on an order (capture, refund, void), as the
// notification feedback carries one.
func maintenance(web Set, ref, fortID, command, status, code, message string) map[string]string {
	return map[string]string{
		"access_code": web.AccessCode, "amount": "10000", "command": command, "currency": "AED", "fort_id": fortID,
		"language": "en", "merchant_identifier": web.Identifier, "merchant_reference": ref,
		"response_code": status + code, "response_message": message, "status": status,
	}
}

// tokenization is a card tokenization's result.
func tokenization(web Set, status, code, message string) map[string]string {
	return map[string]string{
		"access_code": web.AccessCode, "card_bin": "400555", "card_number": "400555******0001", "expiry_date": "2105",
		"language": "en", "merchant_identifier": web.Identifier, "merchant_reference": "TOKEN-3001",
		"response_code": status + code, "response_message": message, "service_command": "TOKENIZATION", "status": status,
		"token_name": "c1a5d3e0b4f94f4bb1e0ad2c6c1f0a11",
	}
}

func without(p map[string]string, names ...string) map[string]string {
	p = maps.Clone(p)
	for _, n := range names {
		delete(p, n)
	}
	return p
}

// Samples are the generated samples, addressed to m's sets. Response codes other than xx000 are
// illustrative: status + a three-digit message code.
func Samples(m Merchant) []Sample {
	const (
		uncertain = "Uncertain transaction"
		pending   = "Transaction pending"
		onHold    = "On hold"
	)
	w := m.Web
	s := []Sample{
		{"aps-authorization-succeeded.json", "transaction", false, purchase(w, "ORDER-1101", "169996200000131101", "AUTHORIZATION", "02", "000", "Success")},
		{"aps-authorization-failed.json", "transaction", false, without(purchase(w, "ORDER-1102", "169996200000131102", "AUTHORIZATION", "03", "072", "Transaction cancelled by consumer"), "authorization_code")},
		{"aps-purchase-failed.json", "transaction", false, without(purchase(w, "ORDER-1103", "169996200000131103", "PURCHASE", "13", "072", "Transaction cancelled by consumer"), "authorization_code")},
		{"aps-capture-succeeded.json", "notification", false, maintenance(w, "ORDER-1101", "169996200000131101", "CAPTURE", "04", "000", "Success")},
		{"aps-capture-failed.json", "notification", false, maintenance(w, "ORDER-1104", "169996200000131104", "CAPTURE", "05", "003", "Technical problem")},
		{"aps-refund-failed.json", "notification", false, maintenance(w, "ORDER-1105", "169996200000131105", "REFUND", "07", "003", "Technical problem")},
		{"aps-void-succeeded.json", "notification", false, maintenance(w, "ORDER-1106", "169996200000131106", "VOID_AUTHORIZATION", "08", "000", "Success")},
		{"aps-void-failed.json", "notification", false, maintenance(w, "ORDER-1107", "169996200000131107", "VOID_AUTHORIZATION", "09", "003", "Technical problem")},
		{"aps-tokenization-succeeded.json", "transaction", false, tokenization(w, "18", "000", "Success")},
		{"aps-tokenization-failed.json", "transaction", false, without(tokenization(w, "17", "003", "Technical problem"), "token_name")},
		{"aps-transaction-status-unknown.json", "transaction", false, without(purchase(w, "ORDER-1108", "169996200000131108", "PURCHASE", "10", "001", "Incomplete"), "authorization_code")},
		// A pending purchase, then its final result on the notification feedback.
		{"aps-purchase-pending.json", "transaction", false, without(purchase(w, "ORDER-2001", "169996200000132001", "PURCHASE", "19", "001", pending), "authorization_code")},
		{"aps-purchase-pending-then-succeeded.json", "notification", false, purchase(w, "ORDER-2001", "169996200000132001", "PURCHASE", "14", "000", "Success")},
		{"aps-transaction-pending-without-command.json", "notification", false, without(maintenance(w, "ORDER-2002", "169996200000132002", "", "19", "001", pending), "command")},
		// A capture's status on a REFUND: a combination the gateway does not know.
		{"aps-combination-unknown.json", "notification", false, maintenance(w, "ORDER-2003", "169996200000132003", "REFUND", "04", "000", "Success")},
		{"aps-apple-pay-purchase.json", "transaction", true, func() map[string]string {
			p := purchase(m.ApplePay, "ORDER-APPLE-4001", "169996200000134001", "PURCHASE", "14", "000", "Success")
			p["digital_wallet"], p["payment_option"], p["card_number"] = "APPLE_PAY", "MASTERCARD", "512345******0008"
			return without(p, "card_holder_name")
		}()},
	}
	for i, st := range []struct{ status, code, message string }{{"15", "001", uncertain}, {"19", "001", pending}, {"20", "064", onHold}} {
		for j, op := range []struct{ command, name string }{{"AUTHORIZATION", "authorization"}, {"PURCHASE", "purchase"}, {"CAPTURE", "capture"}, {"REFUND", "refund"}, {"VOID_AUTHORIZATION", "void"}} {
			file := "aps-" + op.name + "-" + map[string]string{"15": "uncertain", "19": "pending", "20": "on-hold"}[st.status] + ".json"
			if file == "aps-purchase-pending.json" {
				continue // the pending half of the pair above
			}
			ref, fort := fmt.Sprintf("ORDER-3%d%d", i, j), fmt.Sprintf("1699962000001330%d%d", i, j)
			if op.command == "AUTHORIZATION" || op.command == "PURCHASE" {
				s = append(s, Sample{file, "transaction", false, without(purchase(w, ref, fort, op.command, st.status, st.code, st.message), "authorization_code")})
			} else {
				s = append(s, Sample{file, "notification", false, maintenance(w, ref, fort, op.command, st.status, st.code, st.message)})
			}
		}
	}
	return s
}
