// Package account carries the account label of a delivery: which of the deployment's Amazon
// relationships (a Shipping account, an APS merchant, an Amazon Pay merchant) it came from. The
// label comes out of authentication (the credential, phrase set or topic that verified the
// delivery), never from the body. It travels in the delivery's context so that everything the
// pipeline does with the delivery (logs, quarantine records, events, stored items) can state it.
package account

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// Default labels deliveries of a configuration that names no account: today's secret formats and
// settings keep working and their deliveries carry this label.
const Default = "default"

// valid labels are short and plain: they go into S3 object metadata, log fields, event patterns
// and DynamoDB items.
var valid = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Check reports whether label may name an account; its error quotes the label, which is a name,
// not a secret.
func Check(label string) error {
	if !valid.MatchString(label) {
		return fmt.Errorf("account label %q: want 1-64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit", label)
	}
	return nil
}

type key struct{}

// With returns ctx carrying label.
func With(ctx context.Context, label string) context.Context {
	return context.WithValue(ctx, key{}, label)
}

// Of is the label ctx carries: Default when none.
func Of(ctx context.Context) string {
	if l, ok := ctx.Value(key{}).(string); ok && l != "" {
		return l
	}
	return Default
}

// Labeled is what a webhook's authenticated message may implement to name its account.
// An empty label means "not known here" (a replay whose credentials were not kept).
type Labeled interface {
	Account() string
}

// ParseMap reads "label=value" entries (a value without "label=" belongs to Default), as the
// list parameters write them. Each value may appear once; a label may have several values.
func ParseMap(entries []string) (map[string]string, error) {
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		label, value, ok := strings.Cut(e, "=")
		if !ok {
			label, value = Default, e
		}
		label, value = strings.TrimSpace(label), strings.TrimSpace(value)
		if err := Check(label); err != nil {
			return nil, err
		}
		if value == "" {
			return nil, fmt.Errorf("account %s: empty value", label)
		}
		if other, dup := m[value]; dup {
			return nil, fmt.Errorf("%s is given twice (accounts %s and %s)", value, other, label)
		}
		m[value] = label
	}
	return m, nil
}

// Scoped is id in label's key space, for the items one account's deliveries store: the bare id for
// Default (items from before key spaces, and today's lookup routes, keep working), else
// label + "#" + id. A label holds no "#" and an id with one is refused where it comes in, so no
// account's id reaches another account's items.
func Scoped(label, id string) string {
	if label == "" || label == Default {
		return id
	}
	return label + "#" + id
}

// Unscoped is the id of key, an item of label's key space (Scoped's inverse).
func Unscoped(label, key string) string {
	if label == "" || label == Default {
		return key
	}
	return strings.TrimPrefix(key, label+"#")
}
