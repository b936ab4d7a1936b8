package repo

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/amazon-webhook-gateway/gateway/tools/localaws"
)

// functionDirs is the Makefile's LogicalId -> functions/<dir> mapping.
var functionDirs = map[string]string{
	"ShippingOtpFunction":       "shipping-otp",
	"ApsFunction":               "aps-webhook",
	"AmazonPayIpnFunction":      "amazon-pay-ipn",
	"AmazonPaySafelistFunction": "amazon-pay-safelist",
	"ShippingLookupFunction":    "shipping-lookup",
}

// envReaders are the calls whose first argument names an environment variable.
var envReaders = map[string][]string{
	"os":        {"Getenv", "LookupEnv"},
	"envconfig": {"Required", "Duration", "PositiveInt", "Bool", "List"},
	"pipeline":  {"ReadSecretSetting"},
}

// TestFunctionsReadExactlyTheirTemplateEnvironment reads the code each function links: every
// variable it reads (a literal name passed to os.Getenv, envconfig or pipeline.ReadSecretSetting) must be
// one template.yaml gives that function, and every variable the template gives it must be read.
// Lambda's own AWS_* variables are the runtime's, not the template's, and so is GOMEMLIMIT, the Go
// runtime's, which an operator may set to override envconfig.SetMemoryLimit. This complements
// testenv.SetFunctionEnv, which holds the tests' environments to the template.
func TestFunctionsReadExactlyTheirTemplateEnvironment(t *testing.T) {
	dir := root(t)
	tmpl, err := localaws.ReadTemplate(filepath.Join(dir, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if fns := tmpl.Functions(); !slices.Equal(slices.Sorted(slices.Values(fns)), slices.Sorted(mapKeys(functionDirs))) {
		t.Fatalf("template functions %v, this test knows %v", fns, slices.Sorted(mapKeys(functionDirs)))
	}
	for id, fn := range functionDirs {
		t.Run(id, func(t *testing.T) {
			read := envRead(t, dir, "./functions/"+fn)
			given := tmpl.FunctionEnv(id)
			for _, v := range read {
				if !slices.Contains(given, v) {
					t.Errorf("the code reads %s, which template.yaml does not give %s", v, id)
				}
			}
			for _, v := range given {
				// Globals reach every function; one may have no use for a variable (the custom
				// resource publishes no event), but a function's own variable must be read.
				_, global := tmpl.Globals.Function.Environment.Variables[v]
				if !global && !slices.Contains(read, v) {
					t.Errorf("template.yaml gives %s %s, which its code never reads", id, v)
				}
			}
		})
	}
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// envRead lists the variables the module's packages linked into pkg read.
func envRead(t *testing.T, dir, pkg string) []string {
	t.Helper()
	list := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}", pkg)
	list.Dir = dir
	out, err := list.Output()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, d := range strings.Fields(string(out)) {
		files, _ := filepath.Glob(filepath.Join(d, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range fileEnvNames(file) {
				if !slices.Contains(names, name) {
					names = append(names, name)
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

// fileEnvNames lists the variables file reads through envReaders, Lambda's AWS_* and GOMEMLIMIT
// left out.
func fileEnvNames(file *ast.File) []string {
	var names []string
	// The range variables over composite literals whose loops enclose the node being inspected,
	// outermost first; scopes has one entry per open node, the loop it opened or nil.
	var ranges []rangeVar
	var scopes []ast.Node
	ast.Inspect(file, func(n ast.Node) bool {
		if n == nil {
			if scopes[len(scopes)-1] != nil {
				ranges = ranges[:len(ranges)-1]
			}
			scopes = scopes[:len(scopes)-1]
			return true
		}
		var scope ast.Node
		if r, ok := n.(*ast.RangeStmt); ok {
			v, isIdent := r.Value.(*ast.Ident)
			table, isLit := r.X.(*ast.CompositeLit)
			if isIdent && isLit {
				ranges = append(ranges, rangeVar{v.Name, table})
				scope = r
			}
		}
		scopes = append(scopes, scope)
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		pkgName, ok := sel.X.(*ast.Ident)
		if !ok || !slices.Contains(envReaders[pkgName.Name], sel.Sel.Name) {
			return true
		}
		for _, name := range variableNames(call.Args[0], ranges) {
			if !strings.HasPrefix(name, "AWS_") && name != "GOMEMLIMIT" && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
		return true
	})
	return names
}

// The reader finds a variable however the code names it: a literal, or a table of settings read
// in a loop (shared/pipeline's durations); a parameter (envconfig's own os.Getenv(name)) names
// none, and a loop variable does not leak out of its loop.
func TestEnvReadFindsLiteralsAndSettingsTables(t *testing.T) {
	src := `package p
func read(name string) {
	os.Getenv("LITERAL")
	os.Getenv(name)
	for _, d := range []struct {
		name string
		to   *int
		def  int
	}{{"POSITIONAL_A", nil, 1}, {"POSITIONAL_B", nil, 2}} {
		envconfig.Duration(d.name, d.def)
	}
	for _, k := range []struct{ def, name string }{{name: "KEYED", def: "x"}} {
		envconfig.Bool(k.name, false)
	}
	for _, d := range names {
		envconfig.Required(d.name)
	}
	d := struct{ name string }{"OUTSIDE"}
	envconfig.List(d.name)
	os.Getenv("AWS_REGION")
	pipeline.ReadSecretSetting("SETTING")
}
`
	file, err := parser.ParseFile(token.NewFileSet(), "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := fileEnvNames(file)
	slices.Sort(got)
	want := []string{"KEYED", "LITERAL", "POSITIONAL_A", "POSITIONAL_B", "SETTING"}
	if !slices.Equal(got, want) {
		t.Errorf("fileEnvNames = %v, want %v", got, want)
	}
}

// rangeVar is a range statement's value variable over a composite literal.
type rangeVar struct {
	name string
	over *ast.CompositeLit
}

// variableNames is the variable names arg stands for: a string literal's value, or, for v.field
// where v ranges over a composite literal of structs (a table of settings read in a loop), the
// string literal of field in every element. Anything else (a function's parameter) names none.
func variableNames(arg ast.Expr, ranges []rangeVar) []string {
	if lit, ok := arg.(*ast.BasicLit); ok && lit.Kind == token.STRING {
		name, _ := strconv.Unquote(lit.Value)
		return []string{name}
	}
	sel, ok := arg.(*ast.SelectorExpr)
	if !ok {
		return nil
	}
	v, ok := sel.X.(*ast.Ident)
	if !ok {
		return nil
	}
	for i := len(ranges) - 1; i >= 0; i-- {
		if ranges[i].name == v.Name {
			return fieldLiterals(ranges[i].over, sel.Sel.Name)
		}
	}
	return nil
}

// fieldLiterals reads field's string literal out of each element of table, a composite literal
// of an anonymous struct type whose elements are keyed or positional.
func fieldLiterals(table *ast.CompositeLit, field string) []string {
	index := -1
	if arr, ok := table.Type.(*ast.ArrayType); ok {
		if st, ok := arr.Elt.(*ast.StructType); ok {
			i := 0
			for _, f := range st.Fields.List {
				for _, n := range f.Names {
					if n.Name == field {
						index = i
					}
					i++
				}
			}
		}
	}
	var names []string
	for _, e := range table.Elts {
		row, ok := e.(*ast.CompositeLit)
		if !ok {
			continue
		}
		for i, v := range row.Elts {
			if kv, ok := v.(*ast.KeyValueExpr); ok {
				if k, ok := kv.Key.(*ast.Ident); ok && k.Name == field {
					names = append(names, variableNames(kv.Value, nil)...)
				}
			} else if i == index {
				names = append(names, variableNames(v, nil)...)
			}
		}
	}
	return names
}
