package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/shortstock/shortstock/"

// forbidden maps a package prefix to the prefixes it must never import.
var forbidden = map[string][]string{
	"edge":            {"origin", "gossip", "cmd", "bench", "topology"},
	"gossip":          {"edge", "origin", "cmd", "bench", "topology"},
	"origin":          {"edge", "gossip", "cmd", "bench", "topology"},
	"internal/keys":   {"edge", "origin", "gossip", "cmd", "bench", "topology"},
	"internal/change": {"edge", "origin", "gossip", "cmd", "bench", "topology"},
	"internal/wire":   {"edge", "origin", "gossip", "cmd", "bench", "topology"},
	"internal/clock":  {"edge", "origin", "gossip", "cmd", "bench", "topology"},
}

func TestImportsPointDownstream(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", mod+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], mod)
		for prefix, bans := range forbidden {
			if !under(pkg, prefix) {
				continue
			}
			checked++
			for _, imp := range fields[1:] {
				if !strings.HasPrefix(imp, mod) {
					continue
				}
				dep := strings.TrimPrefix(imp, mod)
				for _, ban := range bans {
					if under(dep, ban) {
						t.Errorf("%s imports %s: data flows the other way (see internal/archtest)", pkg, dep)
					}
				}
			}
		}
	}
	if checked < 4 {
		t.Fatalf("only %d packages checked: is the module path right?", checked)
	}
}

func under(pkg, prefix string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }
