package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin/embedded"
)

// An origin started with another partition count than its store's exits 2
// with one line naming both counts; the store is left as it was.
func TestOriginRefusesPartitionMismatch(t *testing.T) {
	dir := t.TempDir()
	cfg := embedded.DefaultConfig(dir)
	cfg.NoSync, cfg.Partitions = true, 1024
	s, err := embedded.Open(cfg) // a new store of 1024 partitions
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	code, _, stderr := runCLI(t, nil, "origin", "--admin-key", "0123456789abcdef", "--listen", "127.0.0.1:0",
		"--data-dir", dir, "--partitions", "64")
	want := "shortstock origin: store has 1024 partitions, --partitions says 64"
	if code != 2 || lastLine(stderr) != want {
		t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, want)
	}
	// The env variable is read the same way.
	code, _, stderr = runCLI(t, []string{"SHORTSTOCK_PARTITIONS=2048"}, "origin", "--admin-key", "0123456789abcdef",
		"--listen", "127.0.0.1:0", "--data-dir", dir)
	if code != 2 || !strings.Contains(stderr, "store has 1024 partitions, --partitions says 2048") {
		t.Fatalf("env: exit %d, stderr %q", code, stderr)
	}
	for _, bad := range []string{"0", "1000", "32768"} {
		code, _, stderr = runCLI(t, nil, "origin", "--admin-key", "0123456789abcdef", "--data-dir", dir, "--partitions", bad)
		if code != 2 || !strings.Contains(stderr, "invalid --partitions") {
			t.Fatalf("--partitions %s: exit %d, stderr %q", bad, code, stderr)
		}
	}
}

// An edge whose origin reports another partition count exits 2 with one
// line naming both counts.
func TestEdgeRefusesOriginOfAnotherCount(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != wire.PathHeads {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(wire.Heads{Heads: make([]uint64, 64), Partitions: 64})
	}))
	defer origin.Close()
	code, _, stderr := runCLI(t, []string{"XDG_CONFIG_HOME=" + t.TempDir()}, "edge", "--origin", origin.URL, "--listen", "127.0.0.1:0", "--internal-insecure", "--partitions", "1024")
	want := "shortstock edge: origin has 64 partitions, --partitions says 1024"
	if code != 2 || lastLine(stderr) != want {
		t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, want)
	}
	if code, _, stderr = runCLI(t, nil, "edge", "--origin", origin.URL, "--partitions", "6"); code != 2 || !strings.Contains(stderr, "invalid --partitions") {
		t.Fatalf("--partitions 6: exit %d, stderr %q", code, stderr)
	}
}

// lastLine is the last line of a process's stderr (logs come before it).
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
