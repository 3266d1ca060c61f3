package archtest

import (
	"fmt"
	"os/exec"
	"strings"
)

// Load lists the module's packages with `go list` run in dir, code and test
// imports both. overlay, when not empty, is a `go list -overlay` file.
func Load(dir, overlay string) ([]Package, error) {
	args := []string{"list", "-e", "-f", "{{.ImportPath}}|{{.Dir}}|{{join .TestGoFiles \" \"}} {{join .XTestGoFiles \" \"}}|{{join .Imports \" \"}}|{{join .TestImports \" \"}} {{join .XTestImports \" \"}}"}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	cmd := exec.Command("go", append(args, "./...")...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go list: %v\n%s", err, out)
	}
	var pkgs []Package
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "|", 5)
		if len(parts) != 5 || !strings.HasPrefix(parts[0], Module) {
			return nil, fmt.Errorf("go list: unexpected line %q", line)
		}
		pkgs = append(pkgs, Package{
			Path:        strings.TrimPrefix(parts[0], Module),
			Dir:         parts[1],
			TestFiles:   strings.Fields(parts[2]),
			Imports:     ours(parts[3]),
			TestImports: ours(parts[4]),
		})
	}
	return pkgs, nil
}

func ours(list string) []string {
	var out []string
	for _, imp := range strings.Fields(list) {
		if strings.HasPrefix(imp, Module) {
			out = append(out, strings.TrimPrefix(imp, Module))
		}
	}
	return out
}
