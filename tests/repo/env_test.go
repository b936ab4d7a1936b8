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
	"secrets":   {"ReadSetting"},
}

// TestFunctionsReadExactlyTheirTemplateEnvironment reads the code each function links: every
// variable it reads (a literal name passed to os.Getenv, envconfig or secrets.ReadSetting) must be
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
			ast.Inspect(file, func(n ast.Node) bool {
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
				lit, ok := call.Args[0].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				name, _ := strconv.Unquote(lit.Value)
				if !strings.HasPrefix(name, "AWS_") && name != "GOMEMLIMIT" && !slices.Contains(names, name) {
					names = append(names, name)
				}
				return true
			})
		}
	}
	slices.Sort(names)
	return names
}
