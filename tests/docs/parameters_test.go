package docs

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// One order for the template's parameters, everywhere a person meets them: the console shows the
// ParameterGroups in their order, `sam deploy --guided` asks the Parameters section in its order,
// and docs/configuration.md documents them in tables under headings. The three must agree, and every
// parameter must be in a group (the console lists ungrouped ones last, under "Other parameters").

func TestParameterGroupsCoverEveryParameterOnce(t *testing.T) {
	tmpl, groups := loadParameterGroups(t)
	for _, p := range checkGroupCoverage(slices.Sorted(maps.Keys(tmpl.Parameters)), groups) {
		t.Error(p)
	}
}

func TestGuidedDeployAsksParametersInGroupOrder(t *testing.T) {
	tmpl, groups := loadParameterGroups(t)
	asked, err := parameterOrder(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != len(tmpl.Parameters) {
		t.Fatalf("read %d parameters in the Parameters section, the template has %d", len(asked), len(tmpl.Parameters))
	}
	for _, p := range checkSameOrder("the Parameters section (the order sam deploy --guided asks)", asked, groupedOrder(groups)) {
		t.Error(p)
	}
}

func TestConfigurationReferenceFollowsTheGuidedOrder(t *testing.T) {
	_, groups := loadParameterGroups(t)
	md, err := os.ReadFile(filepath.Join(localaws.RepoRoot(), "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	tables := parameterTables(string(md))
	if len(tables) == 0 {
		t.Fatal("docs/configuration.md has no table headed Parameter")
	}
	for _, p := range checkReferenceGroups(tables, groups) {
		t.Error(p)
	}
}

// The order checkers themselves can fail: each case is a drift the tests above must catch, made
// from the real template and page so the cases stay realistic.
func TestParameterOrderChecksFindDrift(t *testing.T) {
	tmpl, groups := loadParameterGroups(t)
	names := slices.Sorted(maps.Keys(tmpl.Parameters))
	order := groupedOrder(groups)
	if len(order) < 3 || len(groups) < 2 || len(groups[0].Parameters) < 1 || len(groups[1].Parameters) < 2 {
		t.Fatalf("too few parameters or groups to build the cases: %d parameters, %d groups", len(order), len(groups))
	}
	a, b := groups[1].Parameters[0], groups[1].Parameters[1]

	t.Run("coverage", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			change func(g []parameterGroup) []parameterGroup
			want   []string
		}{
			{"unchanged", func(g []parameterGroup) []parameterGroup { return g }, nil},
			{"ungrouped", func(g []parameterGroup) []parameterGroup {
				g[1].Parameters = g[1].Parameters[1:]
				return g
			}, []string{a + " is in no parameter group"}},
			{"twice", func(g []parameterGroup) []parameterGroup {
				g[0].Parameters = append(g[0].Parameters, a)
				return g
			}, []string{a + " is in 2 parameter groups"}},
			{"unknown", func(g []parameterGroup) []parameterGroup {
				g[0].Parameters = append(g[0].Parameters, "NoSuchParameter")
				return g
			}, []string{"NoSuchParameter, which the template does not have"}},
			{"empty group", func(g []parameterGroup) []parameterGroup {
				return append(g, parameterGroup{Label: "Nothing"})
			}, []string{`"Nothing" names no parameter`}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				expectProblems(t, checkGroupCoverage(names, tc.change(cloneGroups(groups))), tc.want)
			})
		}
	})

	t.Run("guided order", func(t *testing.T) {
		swapped := slices.Clone(order)
		i, j := slices.Index(swapped, a), slices.Index(swapped, b)
		swapped[i], swapped[j] = swapped[j], swapped[i]
		expectProblems(t, checkSameOrder("x", swapped, order), []string{fmt.Sprintf("x has %s at position %d, where the parameter groups have %s", b, i+1, a)})
		expectProblems(t, checkSameOrder("x", order[:len(order)-1], order), []string{"x has nothing at position", fmt.Sprintf("x has %d names, the parameter groups %d", len(order)-1, len(order))})
		expectProblems(t, checkSameOrder("x", order, order), nil)
	})

	md, err := os.ReadFile(filepath.Join(localaws.RepoRoot(), "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	rowOf := func(name string) string {
		for line := range strings.SplitSeq(string(md), "\n") {
			if strings.HasPrefix(line, "| `"+name+"` |") {
				return line
			}
		}
		t.Fatalf("docs/configuration.md has no row for %s", name)
		return ""
	}
	rowA, rowB := rowOf(a), rowOf(b)
	heading := "## " + docHeading(groups[1].Label) + "\n"
	for _, tc := range []struct {
		name string
		md   string
		want []string
	}{
		{"unchanged", string(md), nil},
		{"rows swapped", strings.NewReplacer(rowA, rowB, rowB, rowA).Replace(string(md)),
			[]string{"docs/configuration.md has " + b + " at position", "lists " + b + ", " + a}},
		{"row in another table", strings.Replace(strings.Replace(string(md), rowA+"\n", "", 1),
			rowOf(groups[0].Parameters[0])+"\n", rowOf(groups[0].Parameters[0])+"\n"+rowA+"\n", 1),
			// The rows keep their order: only the tables show the row left its group.
			[]string{"table under \"" + docHeading(groups[0].Label) + "\" lists",
				"table under \"" + docHeading(groups[1].Label) + "\" lists"}},
		{"heading renamed", strings.Replace(string(md), heading, "## Renamed\n", 1),
			[]string{`under "Renamed": the heading should be "` + docHeading(groups[1].Label) + `"`}},
	} {
		t.Run("reference "+tc.name, func(t *testing.T) {
			expectProblems(t, checkReferenceGroups(parameterTables(tc.md), groups), tc.want)
		})
	}
}

func TestParameterTablesReadsHeadingsAndRows(t *testing.T) {
	md := "# Page\n\n## One: `a`\n\n| Parameter | Default | Meaning |\n| --- | --- | --- |\n| `A` | empty | x |\n| `B` | `1` | y |\n" +
		"\n```sh\n## not a heading\n```\n\n| Variable | Set from |\n| --- | --- |\n| `V` | `A` |\n" +
		"\n## Two\n\nSee x.\n\n| Parameter | Default | Meaning |\n| --- | --- | --- |\n| `C` | empty | z |\n"
	got := parameterTables(md)
	want := []docTable{{"One: `a`", []string{"A", "B"}}, {"Two", []string{"C"}}}
	if !slices.EqualFunc(got, want, func(x, y docTable) bool { return x.heading == y.heading && slices.Equal(x.names, y.names) }) {
		t.Errorf("parameterTables = %v, want %v", got, want)
	}
	if h := docHeading(`Amazon Shipping OTP webhook - OAuth 2.0 (auth mode "oauth")`); h != "Amazon Shipping OTP webhook: OAuth 2.0 (auth mode `oauth`)" {
		t.Errorf("docHeading = %q", h)
	}
}

// parameterGroup is one entry of the template's AWS::CloudFormation::Interface ParameterGroups.
type parameterGroup struct {
	Label      string
	Parameters []string
}

func loadParameterGroups(t *testing.T) (*localaws.Template, []parameterGroup) {
	t.Helper()
	tmpl, err := localaws.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	groups, err := parameterGroups(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl, groups
}

func parameterGroups(tmpl *localaws.Template) ([]parameterGroup, error) {
	n := tmpl.Node("Metadata", "AWS::CloudFormation::Interface", "ParameterGroups")
	if n == nil {
		return nil, fmt.Errorf("template.yaml has no Metadata: AWS::CloudFormation::Interface: ParameterGroups")
	}
	var raw []struct {
		Label struct {
			Default string `yaml:"default"`
		} `yaml:"Label"`
		Parameters []string `yaml:"Parameters"`
	}
	if err := n.Decode(&raw); err != nil {
		return nil, fmt.Errorf("ParameterGroups: %w", err)
	}
	groups := make([]parameterGroup, len(raw))
	for i, g := range raw {
		groups[i] = parameterGroup{Label: g.Label.Default, Parameters: g.Parameters}
	}
	return groups, nil
}

// parameterOrder is the template's parameter names in the order of the Parameters section, the
// order `sam deploy --guided` asks them in (Template.Parameters is a map: it has no order).
func parameterOrder(tmpl *localaws.Template) ([]string, error) {
	n := tmpl.Node("Parameters")
	if n == nil {
		return nil, fmt.Errorf("template.yaml has no Parameters section")
	}
	var names []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		names = append(names, n.Content[i].Value)
	}
	return names, nil
}

func groupedOrder(groups []parameterGroup) []string {
	var names []string
	for _, g := range groups {
		names = append(names, g.Parameters...)
	}
	return names
}

// checkGroupCoverage lists every parameter that is in no group or in several, every group entry
// naming a parameter the template lacks, and every group without parameters or label.
func checkGroupCoverage(params []string, groups []parameterGroup) []string {
	var problems []string
	in := map[string][]string{}
	for _, g := range groups {
		if g.Label == "" {
			problems = append(problems, fmt.Sprintf("a parameter group has no label: %q", g.Parameters))
		}
		if len(g.Parameters) == 0 {
			problems = append(problems, fmt.Sprintf("parameter group %q names no parameter", g.Label))
		}
		for _, p := range g.Parameters {
			in[p] = append(in[p], g.Label)
			if !slices.Contains(params, p) {
				problems = append(problems, fmt.Sprintf("parameter group %q names %s, which the template does not have", g.Label, p))
			}
		}
	}
	for _, p := range params {
		switch len(in[p]) {
		case 0:
			problems = append(problems, fmt.Sprintf("parameter %s is in no parameter group", p))
		case 1:
		default:
			problems = append(problems, fmt.Sprintf("parameter %s is in %d parameter groups: %q", p, len(in[p]), in[p]))
		}
	}
	return problems
}

// checkSameOrder reports where got first leaves the parameter groups' order want, and a difference
// in length.
func checkSameOrder(what string, got, want []string) []string {
	var problems []string
	for i := range max(len(got), len(want)) {
		g, w := "nothing", "nothing"
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			problems = append(problems, fmt.Sprintf("%s has %s at position %d, where the parameter groups have %s", what, g, i+1, w))
			break
		}
	}
	if len(got) != len(want) {
		problems = append(problems, fmt.Sprintf("%s has %d names, the parameter groups %d", what, len(got), len(want)))
	}
	return problems
}

// docTable is one table headed "Parameter" of docs/configuration.md: the heading it stands under
// and the parameter names of its rows, in order.
type docTable struct {
	heading string
	names   []string
}

// parameterTables reads the tables headed "Parameter" of a Markdown page, with the heading each
// stands under; headings inside fenced code are not headings.
func parameterTables(md string) []docTable {
	var tables []docTable
	heading, fenced := "", false
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		if h, ok := strings.CutPrefix(line, "#"); ok && strings.HasPrefix(strings.TrimLeft(h, "#"), " ") {
			heading = strings.TrimSpace(strings.TrimLeft(h, "#"))
			continue
		}
		c := cells(line)
		if len(c) == 0 || c[0] != "Parameter" || i+1 >= len(lines) || !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "| ---") {
			continue
		}
		tbl := docTable{heading: heading}
		for i += 2; i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "|"); i++ {
			name := cells(lines[i])[0]
			if m := nameCell.FindStringSubmatch(name); m != nil {
				name = m[1]
			}
			tbl.names = append(tbl.names, name)
		}
		i--
		tables = append(tables, tbl)
	}
	return tables
}

// docHeading is the heading docs/configuration.md gives a parameter group: its label with ": "
// for " - " and code quotes for double quotes.
func docHeading(label string) string {
	return strings.NewReplacer(" - ", ": ", `"`, "`").Replace(label)
}

// checkReferenceGroups checks that the parameter rows of docs/configuration.md follow the groups'
// order and that its tables are the groups: one per group, in order, under the group's heading.
func checkReferenceGroups(tables []docTable, groups []parameterGroup) []string {
	var rows []string
	for _, tbl := range tables {
		rows = append(rows, tbl.names...)
	}
	problems := checkSameOrder("docs/configuration.md", rows, groupedOrder(groups))
	if len(tables) != len(groups) {
		problems = append(problems, fmt.Sprintf("docs/configuration.md has %d parameter tables, the template %d parameter groups: one table per group", len(tables), len(groups)))
	}
	for i := range min(len(tables), len(groups)) {
		tbl, g := tables[i], groups[i]
		if want := docHeading(g.Label); tbl.heading != want {
			problems = append(problems, fmt.Sprintf("docs/configuration.md table %d, under %q: the heading should be %q, group %d's label", i+1, tbl.heading, want, i+1))
		}
		if !slices.Equal(tbl.names, g.Parameters) {
			problems = append(problems, fmt.Sprintf("docs/configuration.md table under %q lists %s; its group lists %s",
				tbl.heading, strings.Join(tbl.names, ", "), strings.Join(g.Parameters, ", ")))
		}
	}
	return problems
}

func cloneGroups(groups []parameterGroup) []parameterGroup {
	c := make([]parameterGroup, len(groups))
	for i, g := range groups {
		c[i] = parameterGroup{Label: g.Label, Parameters: slices.Clone(g.Parameters)}
	}
	return c
}

// expectProblems fails unless problems has exactly one entry per wanted substring.
func expectProblems(t *testing.T, problems, want []string) {
	t.Helper()
	if len(problems) != len(want) {
		t.Fatalf("problems %q, want %d matching %q", problems, len(want), want)
	}
	for _, w := range want {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, w) }) {
			t.Errorf("no problem mentions %q: %q", w, problems)
		}
	}
}
