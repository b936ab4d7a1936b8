package docs

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// costHeaders are the first header cells of the cost tables in docs/cost.md: the happy path, and
// what a deferred delivery adds.
var costHeaders = []string{"Per million deliveries", "Per million deferred deliveries"}

// The cost tables add up: every cell's "a × b × ... = r" has r equal to the product rounded to
// four decimals, and each column's bold Total is the sum of its cells.
func TestCostTableAddsUp(t *testing.T) {
	for _, header := range costHeaders {
		rows, err := tableRows(filepath.Join(localaws.RepoRoot(), "docs", "cost.md"), header)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range checkCostTable(rows) {
			t.Errorf("%s: %s", header, p)
		}
	}
}

func TestCheckCostTableFindsErrors(t *testing.T) {
	good := [][]string{
		{"a", "2 × 0.5 = 1.0000", "0.25 × 4 × 0.010 × 13.3334 = 0.1333"},
		{"b", "1 × 1.00 = 1.0000", "0 × 1.00 = 0.0000"},
		{"**Total**", "**2.0000**", "**0.1333**"},
	}
	if p := checkCostTable(good); len(p) != 0 {
		t.Errorf("a table that adds up: %q", p)
	}
	tests := []struct {
		name string
		row  int
		col  int
		cell string
		want string
	}{
		{"wrong product", 0, 1, "2 × 0.5 = 1.5000", "2 × 0.5"},
		{"wrong total", 2, 2, "**0.2333**", "total"},
		{"not arithmetic", 1, 1, "about 1", "not"},
		{"no total row", 2, 0, "Sum", "Total"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows := make([][]string, len(good))
			for i := range good {
				rows[i] = append([]string(nil), good[i]...)
			}
			rows[tc.row][tc.col] = tc.cell
			p := checkCostTable(rows)
			if len(p) == 0 || !strings.Contains(strings.Join(p, "\n"), tc.want) {
				t.Errorf("problems %q, want one mentioning %q", p, tc.want)
			}
		})
	}
}

// checkCostTable returns what does not add up in rows (the table without its header), whose
// last row is the totals.
func checkCostTable(rows [][]string) []string {
	if len(rows) < 2 || rows[len(rows)-1][0] != "**Total**" {
		return []string{"the cost table must end with a **Total** row"}
	}
	var problems []string
	items, totals := rows[:len(rows)-1], rows[len(rows)-1]
	for col := 1; col < len(totals); col++ {
		sum := 0.0
		for _, row := range items {
			if col >= len(row) {
				problems = append(problems, fmt.Sprintf("row %q: no column %d", row[0], col))
				continue
			}
			r, err := costCell(row[col])
			if err != nil {
				problems = append(problems, fmt.Sprintf("row %q, column %d: %v", row[0], col, err))
			}
			sum += r
		}
		total, err := strconv.ParseFloat(strings.Trim(totals[col], "*$ "), 64)
		if err != nil || math.Abs(total-sum) > 0.00005 {
			problems = append(problems, fmt.Sprintf("column %d: total %q, the cells add up to %.4f", col, totals[col], sum))
		}
	}
	return problems
}

// costCell checks "a × b × ... = r" and returns r.
func costCell(cell string) (float64, error) {
	expr, result, ok := strings.Cut(cell, "=")
	if !ok {
		return 0, fmt.Errorf("%q is not \"a × b = r\"", cell)
	}
	r, err := strconv.ParseFloat(strings.TrimSpace(result), 64)
	if err != nil {
		return 0, fmt.Errorf("%q: result is not a number", cell)
	}
	product := 1.0
	for _, f := range strings.Split(expr, "×") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return r, fmt.Errorf("%q: factor %q is not a number", cell, strings.TrimSpace(f))
		}
		product *= v
	}
	if math.Abs(math.Round(product*1e4)/1e4-r) > 1e-9 {
		return r, fmt.Errorf("%s is %.6f, not %s", strings.TrimSpace(expr), product, strings.TrimSpace(result))
	}
	return r, nil
}
