package main

import (
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tests/harness"
)

// A malformed account setting fails the init, naming its variable, and never a secret.
func TestBadAccountSettingsFailTheInit(t *testing.T) {
	for _, tc := range []struct{ name, key, value, wantInError string }{
		{"client label not a label", "OAUTH_CLIENT_ACCOUNTS", "Acme EU=client-1", "OAUTH_CLIENT_ACCOUNTS"},
		{"client given twice", "OAUTH_CLIENT_ACCOUNTS", "acme-a=client-1,acme-b=client-1", "OAUTH_CLIENT_ACCOUNTS"},
		{"label without client", "OAUTH_CLIENT_ACCOUNTS", "acme-a=", "OAUTH_CLIENT_ACCOUNTS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			deployEnv(t)
			t.Setenv(tc.key, tc.value)
			harness.BuildFails(t, build, tc.wantInError)
		})
	}
}
