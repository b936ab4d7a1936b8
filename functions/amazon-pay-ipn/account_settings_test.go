package main

import (
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tests/harness"
)

// A malformed topic or merchant label fails the init, naming its variable.
func TestBadAccountSettingsFailTheInit(t *testing.T) {
	for _, tc := range []struct{ name, key, value string }{
		{"topic label not a label", "IPN_TOPIC_ARNS", "Acme B=arn:aws:sns:eu-west-1:123456789012:amazon-pay-ipn"},
		{"topic given twice", "IPN_TOPIC_ARNS", "arn:aws:sns:eu-west-1:123456789012:t,acme-b=arn:aws:sns:eu-west-1:123456789012:t"},
		{"merchant label not a label", "IPN_MERCHANT_IDS", "B!=A1EXAMPLE"},
		{"merchant without id", "IPN_MERCHANT_IDS", "acme-b="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			deployEnv(t)
			t.Setenv(tc.key, tc.value)
			harness.BuildFails(t, build, tc.key)
		})
	}
}
