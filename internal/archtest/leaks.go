package archtest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
)

// LeakChecked are the calls that, inside a TestMain, make a package's test
// run fail when a goroutine outlives the tests.
var LeakChecked = []string{"goleak.VerifyTestMain", "goleak.Find", "testutil.VerifyNoLeaks"}

// CheckLeaks returns one line per package with tests whose TestMain does
// not check for leaked goroutines (or that has no TestMain). Every package
// is held to it, not only those that start goroutines today: a package
// that starts its first one is then covered already.
func CheckLeaks(pkgs []Package) ([]string, error) {
	var bad []string
	for _, p := range pkgs {
		if len(p.TestFiles) == 0 {
			continue
		}
		ok, err := testMainChecksLeaks(p.Dir, p.TestFiles)
		if err != nil {
			return nil, err
		}
		if !ok {
			bad = append(bad, fmt.Sprintf("%s: no TestMain calling one of %v", p.Path, LeakChecked))
		}
	}
	sort.Strings(bad)
	return bad, nil
}

func testMainChecksLeaks(dir string, files []string) (bool, error) {
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return false, err
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || fn.Name.Name != "TestMain" || fn.Body == nil {
				continue
			}
			found := false
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok {
					for _, c := range LeakChecked {
						found = found || x.Name+"."+sel.Sel.Name == c
					}
				}
				return true
			})
			return found, nil
		}
	}
	return false, nil
}
