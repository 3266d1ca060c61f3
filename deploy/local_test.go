package deploy

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
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
	cmd := exec.Command("bash", "local/run.sh", "check")
	cmd.Env = append(os.Environ(), "BASE_PORT="+strconv.Itoa(base), "STATE_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "local check passed") {
		t.Fatalf("local/run.sh check: %v\n%s", err, out)
	}
}

// freeRange finds a base port whose next n ports look free on 127.0.0.1.
func freeRange(t *testing.T, n int) int {
	for try := 0; try < 20; try++ {
		base := 20000 + rand.IntN(30)*1000
		free := true
		for p := base; p < base+n && free; p += 7 {
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
