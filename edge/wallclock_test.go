package edge

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wallClockAllowed are the functions that may read the wall clock: the
// origin call's network budget (see Config.Clock), the cache's Load
// deadlines (context deadlines are wall-clock times, as the
// context.WithTimeout they replace read it too) and the yield listener's
// clock (it times the Go scheduler's polling of the network, which only
// real time measures; its tests give it a fake of their own), and the
// timeout listener's coarse clock (connection deadlines are wall-clock
// times, as net.Conn's own are). Everything
// else takes time from Config.Clock, so a fake clock moves all of the
// edge's decisions.
var wallClockAllowed = map[string]bool{"(*originClient).do": true, "(*loadDeadlines).get": true, "YieldListener": true,
	"TimeoutListener": true, "(*timeoutListener).reap": true, "(*coarseDeadline).set": true}

// TestTimeComesFromTheConfigClock fails on a time.Now, time.Since or
// time.Until in the code of the edge and its cache outside
// wallClockAllowed.
func TestTimeComesFromTheConfigClock(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	cacheFiles, err := filepath.Glob("cache/*.go")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, cacheFiles...)
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, bad := range wallClockReads(f) {
			t.Errorf("%s: %s reads the wall clock; take time from s.cfg.Clock", fset.Position(bad.pos), bad.fn)
		}
	}
	if checked < 20 {
		t.Fatalf("only %d files checked", checked)
	}
}

type wallRead struct {
	pos token.Pos
	fn  string
}

// wallClockReads lists the time.Now/Since/Until calls of f outside the
// allowed functions (calls in package-level declarations included).
func wallClockReads(f *ast.File) []wallRead {
	var out []wallRead
	for _, d := range f.Decls {
		fn := "package level"
		if fd, ok := d.(*ast.FuncDecl); ok {
			fn = funcName(fd)
		}
		if wallClockAllowed[fn] {
			continue
		}
		ast.Inspect(d, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "time" {
				switch sel.Sel.Name {
				case "Now", "Since", "Until":
					out = append(out, wallRead{sel.Pos(), fn})
				}
			}
			return true
		})
	}
	return out
}

func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	recv := fd.Recv.List[0].Type
	if st, ok := recv.(*ast.StarExpr); ok {
		if id, ok := st.X.(*ast.Ident); ok {
			return "(*" + id.Name + ")." + fd.Name.Name
		}
	}
	if id, ok := recv.(*ast.Ident); ok {
		return id.Name + "." + fd.Name.Name
	}
	return fd.Name.Name
}
