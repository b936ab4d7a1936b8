package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/shared/aps"
	"github.com/amazon-webhook-gateway/gateway/shared/apssignature"
	"github.com/amazon-webhook-gateway/gateway/tools/apssamples/catalog"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// The generated APS samples of events/ are exactly what this command writes: a hand edit of one,
// or an edit of the catalog or of the development merchant secret without `make generate`, fails here.
func TestTheAPSSamplesInEventsAreGenerated(t *testing.T) {
	if err := run(localaws.RepoRoot(), true); err != nil {
		t.Fatal(err)
	}
}

// tempRoot is a repository root holding only the development merchant secret.
func tempRoot(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(localaws.RepoRoot(), catalog.MerchantFile))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(root, catalog.MerchantFile)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, catalog.MerchantFile), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// -check names a hand-edited and a missing sample and changes neither; a write repairs them.
func TestCheckNamesEveryStaleOrMissingSampleWritesNothingAndWriteRepairsThem(t *testing.T) {
	root := tempRoot(t)
	if err := run(root, true); err == nil {
		t.Fatal("-check passes on an events/ without samples")
	}
	if got, _ := filepath.Glob(filepath.Join(root, eventsDir, "aps-*.json")); len(got) != 0 {
		t.Fatalf("-check wrote %v", got)
	}
	if err := run(root, false); err != nil {
		t.Fatal(err)
	}
	if err := run(root, true); err != nil {
		t.Fatalf("just written: %v", err)
	}
	edited := filepath.Join(root, eventsDir, "aps-capture-failed.json")
	missing := filepath.Join(root, eventsDir, "aps-void-pending.json")
	b, err := os.ReadFile(edited)
	if err != nil {
		t.Fatal(err)
	}
	handEdit := strings.Replace(string(b), "ORDER-1104", "ORDER-1199", 1)
	if err := os.WriteFile(edited, []byte(handEdit), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(missing); err != nil {
		t.Fatal(err)
	}
	err = run(root, true)
	for _, name := range []string{"aps-capture-failed.json", "aps-void-pending.json (missing)"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("-check: %v, want it to name %s", err, name)
		}
	}
	if err != nil && strings.Contains(err.Error(), "aps-capture-succeeded.json") {
		t.Errorf("-check: %v names an up-to-date sample", err)
	}
	if b, _ := os.ReadFile(edited); string(b) != handEdit {
		t.Error("-check rewrote the hand-edited sample")
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("-check wrote the missing sample")
	}
	if err := run(root, false); err != nil {
		t.Fatal(err)
	}
	if err := run(root, true); err != nil {
		t.Errorf("after a write: %v", err)
	}
}

// Every sample is accepted by the gateway's own reading of the development merchant secret
// (shared/aps): its access_code and merchant_identifier select a set, the set verifies its
// signature, and that set is Apple Pay's for the Apple Pay sample and the web integration's for
// the rest. A sample signed with a phrase the secret does not hold would fail here.
func TestEverySampleVerifiesWithThePhraseSetItSelects(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(localaws.RepoRoot(), catalog.MerchantFile))
	if err != nil {
		t.Fatal(err)
	}
	// template.yaml's default ApsSignatureAlgorithm, as the local stack deploys it.
	merchant, err := aps.MerchantParser(apssignature.SHA256)(raw)
	if err != nil {
		t.Fatal(err)
	}
	m, err := catalog.ParseMerchant(raw)
	if err != nil {
		t.Fatal(err)
	}
	samples := catalog.Samples(m)
	files, err := generated(m)
	if err != nil {
		t.Fatal(err)
	}
	applePay := 0
	for _, s := range samples {
		var req struct {
			Body    string `json:"body"`
			RawPath string `json:"rawPath"`
		}
		if err := json.Unmarshal(files[s.File], &req); err != nil {
			t.Fatalf("%s: %v", s.File, err)
		}
		if req.RawPath != "/aps/"+s.Feedback+"-feedback" {
			t.Errorf("%s: posted to %s", s.File, req.RawPath)
		}
		var p map[string]string
		if err := json.Unmarshal([]byte(req.Body), &p); err != nil {
			t.Fatalf("%s: body: %v", s.File, err)
		}
		set, ok := merchant.Select(p)
		if !ok {
			t.Errorf("%s: its access_code and merchant_identifier select no phrase set", s.File)
			continue
		}
		if want := map[bool]string{false: "default", true: "apple-pay"}[s.ApplePay]; set.Name != want {
			t.Errorf("%s: selects the set %q, want %q", s.File, set.Name, want)
		}
		if err := set.Verifier.Verify(p); err != nil {
			t.Errorf("%s: %v", s.File, err)
		}
		if s.ApplePay {
			applePay++
		}
	}
	if applePay != 1 || len(samples) < 30 {
		t.Errorf("%d samples, %d of them Apple Pay's: want at least 30, one", len(samples), applePay)
	}
}
