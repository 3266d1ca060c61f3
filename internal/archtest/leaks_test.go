package archtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryTestMainChecksLeaks: every package with tests fails its run
// when a goroutine outlives them.
func TestEveryTestMainChecksLeaks(t *testing.T) {
	pkgs, err := Load(root(t), "")
	if err != nil {
		t.Fatal(err)
	}
	bad, err := CheckLeaks(pkgs)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bad {
		t.Error(line)
	}
}

// TestMissingLeakCheckFails is the test of the test: a package whose tests
// have no TestMain, or one that does not check, is reported; one that
// does passes.
func TestMissingLeakCheckFails(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		ok        bool
	}{
		{"no TestMain", "package p\nimport \"testing\"\nfunc TestX(t *testing.T) {}\n", false},
		{"TestMain without goleak", "package p\nimport (\"os\"; \"testing\")\nfunc TestMain(m *testing.M) { os.Exit(m.Run()) }\n", false},
		{"goleak", "package p\nimport (\"testing\"; \"go.uber.org/goleak\")\nfunc TestMain(m *testing.M) { goleak.VerifyTestMain(m) }\n", true},
		{"testutil", "package p\nimport (\"testing\"; \"x/internal/testutil\")\nfunc TestMain(m *testing.M) { testutil.VerifyNoLeaks(m, nil) }\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "p_test.go"), []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			bad, err := CheckLeaks([]Package{{Path: "planted", Dir: dir, TestFiles: []string{"p_test.go"}}})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(bad) == 0; got != tc.ok {
				t.Fatalf("checker said %q, want ok=%v", bad, tc.ok)
			}
			if !tc.ok && !strings.HasPrefix(bad[0], "planted: ") {
				t.Fatalf("line %q does not name the package", bad[0])
			}
		})
	}
}
