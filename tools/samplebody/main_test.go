package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
	"github.com/amazon-webhook-gateway/gateway/tools/samples"
)

var clock = func() time.Time { return time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC) }

func sample(name string) string { return filepath.Join(localaws.RepoRoot(), "events", name) }

// The valid sample's body comes out ready for curl: the file's body with the TTL an hour from
// now (or -valid-for), byte for byte otherwise; stderr says what was set and never the code.
func TestPrintsTheBodyWithAFreshTTL(t *testing.T) {
	ev, err := os.ReadFile(sample("shipping-otp-valid.json"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := samples.Body(ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		ttl  time.Time
	}{
		{nil, clock().Add(time.Hour)},
		{[]string{"-valid-for", "10m"}, clock().Add(10 * time.Minute)},
	} {
		var out, errOut bytes.Buffer
		if code := run(append(tc.args, sample("shipping-otp-valid.json")), clock, &out, &errOut); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		want := strings.Replace(string(raw), "4102444799000", strconv.FormatInt(tc.ttl.UnixMilli(), 10), 1)
		if out.String() != want {
			t.Errorf("%v printed\n%s\nwant\n%s", tc.args, out.String(), want)
		}
		if !strings.Contains(errOut.String(), "1 OTP entry set to "+tc.ttl.Format(time.RFC3339)) || strings.Contains(errOut.String(), "417305") {
			t.Errorf("stderr: %s", errOut.String())
		}
	}
}

// -event prints the whole event, for sam local invoke --event -; the seed (expired) comes out as
// the file holds it, and nothing is said on stderr.
func TestEventFlagAndExpiredSamples(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-event", sample("shipping-otp-accumulated.json")}, clock, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var ev struct {
		Body     string `json:"body"`
		RouteKey string `json:"routeKey"`
	}
	if err := json.Unmarshal(out.Bytes(), &ev); err != nil || ev.RouteKey != "POST /shipping/notifications" ||
		strings.Count(ev.Body, strconv.FormatInt(clock().Add(time.Hour).UnixMilli(), 10)) != 2 || strings.Contains(ev.Body, "4102444799000") {
		t.Errorf("-event printed %s (%v)", out.String(), err)
	}
	if !strings.Contains(errOut.String(), "2 OTP entries set") {
		t.Errorf("stderr: %s", errOut.String())
	}

	out.Reset()
	errOut.Reset()
	seed, _ := os.ReadFile(sample("shipping-otp-api-key.json"))
	if code := run([]string{"-event", sample("shipping-otp-api-key.json")}, clock, &out, &errOut); code != 0 || !bytes.Equal(out.Bytes(), seed) || errOut.Len() != 0 {
		t.Errorf("the seed: exit %d, changed %v, stderr %q", code, !bytes.Equal(out.Bytes(), seed), errOut.String())
	}
}

func TestExitStatus(t *testing.T) {
	notEvent := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(notEvent, []byte(`[1]`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, 2},
		{[]string{"a.json", "b.json"}, 2},
		{[]string{"-valid-for", "0s", sample("shipping-otp-valid.json")}, 2},
		{[]string{"-nope", sample("shipping-otp-valid.json")}, 2},
		{[]string{filepath.Join(t.TempDir(), "missing.json")}, 1},
		{[]string{notEvent}, 1},
		{[]string{sample("shipping-otp-malformed.json")}, 0}, // sent as it is, to be quarantined
	} {
		var out, errOut bytes.Buffer
		if got := run(tc.args, clock, &out, &errOut); got != tc.want {
			t.Errorf("%v: exit %d, want %d (%s)", tc.args, got, tc.want, errOut.String())
		}
	}
}
