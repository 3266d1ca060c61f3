package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Nodes started together agree on one secret; the file is the owner's
// alone; a file others can read, or one too short, is refused.
func TestSecretFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cfg", "shortstock", "cluster-secret")
	var wg sync.WaitGroup
	got := make([]string, 8)
	created := make([]bool, 8)
	errs := make([]error, 8)
	for i := range got {
		wg.Go(func() { got[i], created[i], errs[i] = loadOrCreateSecretFile(path) })
	}
	wg.Wait()
	n := 0
	for i := range got {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
		if got[i] != got[0] || len(got[i]) != 64 {
			t.Fatalf("node %d read %q, node 0 %q: want one 64-character secret", i, got[i], got[0])
		}
		if created[i] {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d nodes say they created the file, want 1", n)
	}
	for _, p := range []string{path, filepath.Dir(path)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s: mode %04o, want nothing for group and others", p, perm)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".cluster-secret-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadOrCreateSecretFile(path); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Errorf("a world-readable secret file: %v, want refused", err)
	}
	short := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(short, []byte("too-short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readSecretFile(short); err == nil || !strings.Contains(err.Error(), "at least 32 bytes") {
		t.Errorf("a short secret in a file: %v, want refused", err)
	}
}

// Which secret a node uses: the per-user file only for a node on loopback
// alone given nothing; never an unauthenticated mode but
// --internal-insecure.
func TestInternalAuthSources(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	explicit := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(explicit, []byte(strings.Repeat("s", 40)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		g       gossipFlags
		local   bool
		wantErr string
		check   func(internalAuth) bool
	}{
		{"nothing, loopback", gossipFlags{}, true, "", func(a internalAuth) bool {
			return a.send != "" && !a.insecure && strings.HasSuffix(a.file, "shortstock/cluster-secret")
		}},
		{"nothing, off loopback", gossipFlags{}, false, "no --cluster-secret", nil},
		{"insecure", gossipFlags{internalInsecure: true}, false, "", func(a internalAuth) bool { return a.insecure && a.send == "" }},
		{"file", gossipFlags{clusterSecretFile: explicit}, false, "", func(a internalAuth) bool { return a.send != "" && a.file == explicit }},
		{"missing file", gossipFlags{clusterSecretFile: explicit + ".none"}, true, "--cluster-secret-file", nil},
		{"secret and file", gossipFlags{clusterSecrets: listFlag{strings.Repeat("x", 40)}, clusterSecretFile: explicit}, true, "contradicts", nil},
		{"secret and insecure", gossipFlags{clusterSecrets: listFlag{strings.Repeat("x", 40)}, internalInsecure: true}, true, "contradicts", nil},
	} {
		a, err := c.g.internalAuth("origin", c.local)
		switch {
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.wantErr)
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.check != nil && !c.check(a):
			t.Errorf("%s: %+v", c.name, a)
		}
	}
}
