package aps

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
)

// Merchant is the APS account this deployment serves, read from Secrets Manager:
//
//	{"shaResponsePhrase": "...", "previousShaResponsePhrase": "...", "merchantIdentifier": "...", "accessCode": "..."}
type Merchant struct {
	Identifier string
	AccessCode string
	Verifier   *apssignature.Verifier
}

// MerchantParser returns the secret parser for alg, for secrets.NewCache. A secret missing the
// phrase or the merchant identity is an error, so the function fails closed (503) until it is filled.
func MerchantParser(alg apssignature.Algorithm) func([]byte) (Merchant, error) {
	return func(raw []byte) (Merchant, error) {
		var doc struct {
			Phrase     string `json:"shaResponsePhrase"`
			Previous   string `json:"previousShaResponsePhrase"`
			Identifier string `json:"merchantIdentifier"`
			AccessCode string `json:"accessCode"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return Merchant{}, errors.New("APS merchant secret: not a JSON object of shaResponsePhrase, merchantIdentifier, accessCode")
		}
		switch {
		case doc.Phrase == "":
			return Merchant{}, errors.New("APS merchant secret: shaResponsePhrase is empty")
		case doc.Identifier == "":
			return Merchant{}, errors.New("APS merchant secret: merchantIdentifier is empty")
		case doc.AccessCode == "":
			return Merchant{}, errors.New("APS merchant secret: accessCode is empty")
		}
		v, err := apssignature.NewVerifier(alg, doc.Phrase, doc.Previous)
		if err != nil {
			return Merchant{}, fmt.Errorf("APS merchant secret: %w", err)
		}
		return Merchant{Identifier: doc.Identifier, AccessCode: doc.AccessCode, Verifier: v}, nil
	}
}

// Owns reports whether the message names this merchant, comparing in constant time.
func (m Merchant) Owns(p map[string]string) bool {
	id := same(p["merchant_identifier"], m.Identifier)
	code := same(p["access_code"], m.AccessCode)
	return id && code
}

func same(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
