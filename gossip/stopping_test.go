package gossip

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/testutil"
)

// TestCleanStopLogsNoError: closing gossiping nodes logs no error.
// memberlist closes its transport before it stops gossiping, so without
// stoppingTransport a gossip tick in between logs "use of closed network
// connection". Nodes gossip every millisecond so that window is hit.
func TestCleanStopLogsNoError(t *testing.T) {
	var logs testutil.LockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	for round := 0; round < 5; round++ {
		nodes := startCluster(t, 4, func(i int, c *Config) {
			c.Logger = log
			c.GossipInterval = time.Millisecond
			c.LeaveTimeout = 50 * time.Millisecond
		})
		for _, n := range nodes {
			_ = n.Publish(linkChange("stop-"+n.Name(), uint64(round+1)))
		}
		for _, n := range nodes {
			if err := n.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "closed network connection") {
			t.Errorf("a clean stop logged: %s", line)
		}
	}
}
