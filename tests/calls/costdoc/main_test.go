package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tests/calls"
	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// docs/cost.md's table is what the budgets price, and docs/testing.md's lists them: a hand edit of either, or a budget changed without
// make generate, fails here.
func TestTheCostTableIsGeneratedFromTheBudgets(t *testing.T) {
	if err := run(filepath.Join(localaws.RepoRoot(), file), Table, true); err != nil {
		t.Fatal(err)
	}
	if err := run(filepath.Join(localaws.RepoRoot(), callsFile), CallsTable, true); err != nil {
		t.Fatal(err)
	}
}

func TestCheckReportsAStaleTableAndRewriteRepairsIt(t *testing.T) {
	table, err := Table()
	if err != nil {
		t.Fatal(err)
	}
	doc := "# Cost\n\n" + beginMarker + table + endMarker + "\nMore.\n"
	for name, tc := range map[string]struct {
		doc       string
		checkFail bool
	}{
		"up to date":  {doc, false},
		"hand-edited": {strings.Replace(doc, "0.2000", "0.3000", 1), true},
		"empty table": {"# Cost\n\n" + beginMarker + endMarker + "\nMore.\n", true},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cost.md")
			if err := os.WriteFile(path, []byte(tc.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := run(path, Table, true); (err != nil) != tc.checkFail {
				t.Errorf("-check: %v, want failure %t", err, tc.checkFail)
			}
			if err := run(path, Table, false); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(path); string(b) != doc {
				t.Error("a rewrite does not yield the generated table")
			}
		})
	}
	if err := run(filepath.Join(t.TempDir(), "missing.md"), Table, true); err == nil {
		t.Error("a missing file passes -check")
	}
}

// Every priced delivery has a budget whose sequential calls are counted (the duration is priced
// from them).
func TestEveryPricedDeliveryHasACountedBudget(t *testing.T) {
	for _, p := range calls.Priced {
		b, ok := calls.Find(p.Webhook, p.Scenario)
		if !ok || b.Rounds == 0 || b.LogBytes == 0 {
			t.Errorf("%s: %s/%s: budget %+v, want one with rounds and log bytes", p.Column, p.Webhook, p.Scenario, b)
		}
	}
}

func TestCallListsRunsAndNamesS3(t *testing.T) {
	got := callList([]string{"s3:PutObject", "dynamodb:PutItem", "dynamodb:PutItem", "events:PutEvents", "events:PutEvents", "events:PutEvents", "dynamodb:UpdateItem"})
	if want := "S3 `PutObject`, `PutItem`, `PutItem`, 3 × `PutEvents`, `UpdateItem`"; got != want {
		t.Errorf("callList = %q, want %q", got, want)
	}
}

// What a million deliveries of each kind may cost at the list prices, in US dollars: the targets
// of the write-unit, event and log-byte plan (before it: Shipping 6.37, APS 4.43, Amazon Pay IPN
// 8.18, v2 11.68).
var targets = []struct {
	webhook, scenario string
	max               float64
}{
	{"shipping", "new", 4.85},
	{"aps", "new", 4.20},
	{"amazon-pay", "new", 4.50},
	{"amazon-pay", "v2", 6.50},
	{"amazon-pay", "v2 without deprecated copies", 5.50},
}

func TestEachDeliveryCostsNoMoreThanItsTarget(t *testing.T) {
	for _, tc := range targets {
		b, ok := calls.Find(tc.webhook, tc.scenario)
		if !ok {
			t.Fatalf("no budget %s/%s", tc.webhook, tc.scenario)
		}
		if got := Total(b); got > tc.max {
			t.Errorf("%s/%s: $%.4f per million, over the target $%.2f", tc.webhook, tc.scenario, got, tc.max)
		}
	}
}
