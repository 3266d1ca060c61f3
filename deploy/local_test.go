package deploy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLocalMultiProcessTopology runs deploy/local/run.sh check: a local
// Redis Cluster, two regions of origin + two edges as separate processes,
// a write, and a redirect read through every edge.
func TestLocalMultiProcessTopology(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server missing in CI: scripts/test installs it")
		}
		t.Skip("redis-server not installed")
	}
	base := freeRange(t, 500)
	state := t.TempDir()
	// Bounded: the script's own waits are bounded, and this is the backstop.
	// SIGTERM lets its EXIT trap stop what it started.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "local/run.sh", "check")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	cmd.Env = append(os.Environ(), "BASE_PORT="+strconv.Itoa(base), "STATE_DIR="+state)
	t.Cleanup(func() { killPidfiles(state) })
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "local check passed") {
		t.Fatalf("local/run.sh check: %v\n%s", err, out)
	}
}

// killPidfiles kills whatever the pid files in dir name: what a failed or
// interrupted run left behind must not outlive the test.
func killPidfiles(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.pid"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			continue
		}
		// Only ours: a pid from a stale file may name another process now.
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.Contains(string(cmdline), "redis-server") || strings.Contains(string(cmdline), "shortstock") {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// freeRange finds a base port whose next n ports are free on 127.0.0.1,
// below Linux's ephemeral range (32768 and up), so no outgoing connection
// takes one of them while the script runs.
func freeRange(t *testing.T, n int) int {
	for try := 0; try < 20; try++ {
		base := 20000 + rand.IntN(12)*1000
		free := true
		for p := base; p < base+n && free; p++ {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				free = false
				break
			}
			ln.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}
