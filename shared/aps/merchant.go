package aps

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/amazon-webhook-gateway/gateway/shared/account"
	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
)

// Merchant is the APS account this deployment serves, read from Secrets Manager: its phrase sets,
// one per integration (web, Apple Pay, ...) that posts to the same feedback URLs.
//
//	{"merchantIdentifier": "...", "accessCode": "...", "shaResponsePhrase": "...", "previousShaResponsePhrase": "",
//	 "phraseSets": [{"name": "apple-pay", "accessCode": "...", "shaResponsePhrase": "...", "algorithm": "SHA-512"}]}
//
// The top-level fields are the format before phrase sets and still one set of their own.
//
// Several APS merchants are several sets with their own merchantIdentifier: each set's optional
// "account" names the account label its messages carry. A set that names none has the top level's
// ("account" beside the top-level fields, else account.Default), except a named set of another
// merchantIdentifier than the top level's, whose label is its name when that is a valid label: an
// Apple Pay set of the same merchant is the same account, another merchant's set is not.
type Merchant struct {
	Sets []PhraseSet
}

// PhraseSet is one signing configuration: the access code (and merchant identifier) that select
// it and the phrases, under its algorithm, that verify what it selects.
type PhraseSet struct {
	Name       string // for logs: "default" for the top-level set, else the set's name or phraseSets[i]
	Account    string // the label of the account the set verifies messages of
	Identifier string
	AccessCode string
	Verifier   *apssignature.Verifier
}

// maxPhraseSets bounds the sets one secret may hold; selection compares against every one.
const maxPhraseSets = 32

// secretSet is one set as the secret writes it; the top level is one too.
type secretSet struct {
	Name       string `json:"name"`
	Account    string `json:"account"`
	Identifier string `json:"merchantIdentifier"`
	AccessCode string `json:"accessCode"`
	Phrase     string `json:"shaResponsePhrase"`
	Previous   string `json:"previousShaResponsePhrase"`
	Algorithm  string `json:"algorithm"`
	// shaRequestPhrase may sit beside these (for the merchant's own requests to APS, such as Check
	// Status); feedback is signed with the response phrase, so the gateway does not read it.
}

// MerchantParser returns the secret parser for secrets.NewCache; alg is the algorithm of the sets
// that name none (ApsSignatureAlgorithm). A set missing its phrase or its identity is an error, so
// the function fails closed (503) until it is filled. No error quotes a value of the secret.
func MerchantParser(alg apssignature.Algorithm) func([]byte) (Merchant, error) {
	return func(raw []byte) (Merchant, error) {
		var doc struct {
			secretSet
			Sets []secretSet `json:"phraseSets"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return Merchant{}, errors.New("APS merchant secret: not a JSON object of merchantIdentifier, accessCode, shaResponsePhrase and phraseSets")
		}
		if len(doc.Sets) > maxPhraseSets {
			return Merchant{}, fmt.Errorf("APS merchant secret: phraseSets holds more than %d sets", maxPhraseSets)
		}
		// where[i] names sets[i] in errors: by position, never by a value of the secret.
		var sets []secretSet
		var where []string
		top := doc.secretSet
		if top.Account == "" {
			top.Account = account.Default
		}
		// Without phraseSets the top level is the one set, as before them; with them, it is a set
		// only if it holds part of one (the stack-created secret's generated phrase counts: fill
		// the set or empty the phrase).
		if len(doc.Sets) == 0 || top.Phrase != "" || top.Previous != "" || top.AccessCode != "" {
			top.Name = "default"
			sets, where = append(sets, top), append(where, "top level")
		}
		for i, s := range doc.Sets {
			if s.Account == "" {
				s.Account = top.Account
				if s.Name != "" && s.Identifier != "" && top.Identifier != "" && s.Identifier != top.Identifier && account.Check(s.Name) == nil {
					s.Account = s.Name
				}
			}
			if s.Identifier == "" {
				s.Identifier = top.Identifier
			}
			if s.Name == "" {
				s.Name = fmt.Sprintf("phraseSets[%d]", i)
			}
			sets, where = append(sets, s), append(where, fmt.Sprintf("phraseSets[%d]", i))
		}
		m := Merchant{Sets: make([]PhraseSet, 0, len(sets))}
		for i, s := range sets {
			set, err := s.phraseSet(alg)
			if err != nil {
				return Merchant{}, fmt.Errorf("APS merchant secret, %s: %w", where[i], err)
			}
			for j, o := range m.Sets {
				if o.Identifier == set.Identifier && o.AccessCode == set.AccessCode {
					return Merchant{}, fmt.Errorf("APS merchant secret, %s: same accessCode and merchantIdentifier as %s, so a message could not select one set", where[i], where[j])
				}
			}
			m.Sets = append(m.Sets, set)
		}
		return m, nil
	}
}

func (s secretSet) phraseSet(alg apssignature.Algorithm) (PhraseSet, error) {
	if err := account.Check(s.Account); err != nil {
		return PhraseSet{}, fmt.Errorf("field \"account\": %w", err)
	}
	switch {
	case s.Phrase == "":
		return PhraseSet{}, errors.New("shaResponsePhrase is empty")
	case s.Identifier == "":
		return PhraseSet{}, errors.New("merchantIdentifier is empty")
	case s.AccessCode == "":
		return PhraseSet{}, errors.New("accessCode is empty")
	}
	if s.Algorithm != "" {
		a, err := apssignature.ParseAlgorithm(s.Algorithm)
		if err != nil {
			return PhraseSet{}, errors.New("algorithm is not SHA-256, SHA-512, HMAC-SHA256 or HMAC-SHA512")
		}
		alg = a
	}
	v, err := apssignature.NewVerifier(alg, s.Phrase, s.Previous)
	if err != nil {
		return PhraseSet{}, err
	}
	return PhraseSet{Name: s.Name, Account: s.Account, Identifier: s.Identifier, AccessCode: s.AccessCode, Verifier: v}, nil
}

// Select is the set p's access_code and merchant_identifier name. Both are unverified: that is
// sound only because p is then verified with exactly this set, never another. Every set is
// compared, in constant time, so timing does not tell which one matched.
func (m Merchant) Select(p map[string]string) (PhraseSet, bool) {
	found := -1
	for i, s := range m.Sets {
		match := subtle.ConstantTimeByteEq(b2u(s.Owns(p)), 1)
		found = subtle.ConstantTimeSelect(match, i, found)
	}
	if found < 0 {
		return PhraseSet{}, false
	}
	return m.Sets[found], true
}

// Owns reports whether the message names this set, comparing in constant time.
func (s PhraseSet) Owns(p map[string]string) bool {
	id := same(p["merchant_identifier"], s.Identifier)
	code := same(p["access_code"], s.AccessCode)
	return id && code
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func same(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
