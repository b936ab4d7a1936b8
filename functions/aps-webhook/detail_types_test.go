package main

import (
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/aps"
)

// ApsDetailTypesByCommand reaches the function's configuration; unset is false, the
// detail-types by status.
func TestDetailTypesByCommandComeFromTheEnvironment(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{{"true", true}, {"false", false}, {"", false}} {
		t.Run("value="+tc.value, func(t *testing.T) {
			deployEnv(t)
			t.Setenv("APS_DETAIL_TYPES_BY_COMMAND", tc.value)
			c, err := aps.ReadConfig()
			if err != nil {
				t.Fatal(err)
			}
			if c.DetailTypesByCommand != tc.want {
				t.Errorf("DetailTypesByCommand = %v, want %v", c.DetailTypesByCommand, tc.want)
			}
		})
	}
}
