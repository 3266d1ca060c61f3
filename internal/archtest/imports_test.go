package archtest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// root is the module's directory (this package sits two floors below it).
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestImportsPointDown(t *testing.T) {
	pkgs, err := Load(root(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 20 {
		t.Fatalf("only %d packages listed: is the module path right?", len(pkgs))
	}
	for _, must := range []string{"bench", "topology", "internal/redistest", "faults", "origin/store"} {
		found := false
		for _, p := range pkgs {
			found = found || p.Path == must
		}
		if !found {
			t.Errorf("%s was not checked", must)
		}
	}
	for _, line := range Check(pkgs) {
		t.Error(line)
	}
}

// TestBackendsLinkNoHTTP: the storage backends compile neither net/http
// nor Prometheus; they depend on the storage contract only.
func TestBackendsLinkNoHTTP(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./origin/embedded", "./origin/redisstore")
	cmd.Dir = root(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("only %d deps listed", len(deps))
	}
	for _, d := range deps {
		if d == "net/http" || strings.HasPrefix(d, "github.com/prometheus/client_golang") {
			t.Errorf("a backend links %s", d)
		}
	}
}

// TestPlantedViolationsFail is the test of the test: scratch files added
// through a `go list -overlay` (the tree itself is not touched) must each
// make Check fail, in package code and in test code.
func TestPlantedViolationsFail(t *testing.T) {
	dir := root(t)
	for _, tc := range []struct {
		name, file, src, want string
	}{
		{"backend imports the HTTP server", "origin/embedded/planted/planted.go",
			"package planted\nimport _ \"" + Module + "origin\"\n",
			"origin/embedded/planted imports origin"},
		{"leaf imports a server", "internal/planted/planted.go",
			"package planted\nimport _ \"" + Module + "gossip\"\n",
			"internal/planted imports gossip"},
		{"gossip test imports the edge", "gossip/zz_planted_test.go",
			"package gossip_test\nimport _ \"" + Module + "edge\"\n",
			"gossip (tests) import edge"},
		{"contract imports a backend", "origin/store/planted/planted.go",
			"package planted\nimport _ \"" + Module + "origin/embedded\"\n",
			"origin/store/planted imports origin/embedded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			src := filepath.Join(tmp, "planted.go")
			if err := os.WriteFile(src, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			ov, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(dir, tc.file): src}})
			ovFile := filepath.Join(tmp, "overlay.json")
			if err := os.WriteFile(ovFile, ov, 0o644); err != nil {
				t.Fatal(err)
			}
			pkgs, err := Load(dir, ovFile)
			if err != nil {
				t.Fatal(err)
			}
			bad := Check(pkgs)
			for _, line := range bad {
				if strings.HasPrefix(line, tc.want+":") {
					return
				}
			}
			t.Fatalf("planted %s, but the checker said only %q", tc.file, bad)
		})
	}
}

func TestUncoveredPackageFails(t *testing.T) {
	bad := Check([]Package{{Path: "newthing"}})
	if len(bad) != 1 || !strings.Contains(bad[0], "no rule covers") {
		t.Fatalf("a package without a rule passed: %q", bad)
	}
}
