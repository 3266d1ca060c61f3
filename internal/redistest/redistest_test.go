package redistest

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/testutil"
)

var env *Env

func TestMain(m *testing.M) {
	start := time.Now()
	env = Start(Options{Standalone: true, Cluster: true})
	if err := env.Err(); err == nil {
		println("redistest: standalone + 6-node cluster up in", time.Since(start).Round(time.Millisecond).String())
	}
	testutil.VerifyNoLeaks(m, func() {
		if err := env.Stop(); err != nil {
			println("redistest: stop:", err.Error())
		}
	})
}

func TestStandaloneAnswers(t *testing.T) {
	addr := env.Standalone(t)
	if _, err := Do(addr, time.Second, "SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	got, err := Do(addr, time.Second, "GET", "k")
	if err != nil || got != "v" {
		t.Fatalf("GET k = %q, %v", got, err)
	}
	cfg, err := Do(addr, time.Second, "CONFIG", "GET", "appendfsync")
	if err != nil || !strings.HasSuffix(cfg, "always") {
		t.Fatalf("appendfsync = %q, %v; want always", cfg, err)
	}
}

func TestRestartKeepsAcknowledgedWrites(t *testing.T) {
	s := env.Server(t)
	if _, err := Do(s.Addr, time.Second, "SET", "survivor", "yes"); err != nil {
		t.Fatal(err)
	}
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := Do(s.Addr, 200*time.Millisecond, "PING"); err == nil {
		t.Fatal("PING answered after Kill")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	got, err := Do(s.Addr, time.Second, "GET", "survivor")
	if err != nil || got != "yes" {
		t.Fatalf("after restart GET survivor = %q, %v", got, err)
	}
}

func TestPauseResume(t *testing.T) {
	s := env.Server(t)
	if err := s.Pause(); err != nil {
		t.Fatal(err)
	}
	_, err := Do(s.Addr, 200*time.Millisecond, "PING")
	if rerr := s.Resume(); rerr != nil {
		t.Fatal(rerr)
	}
	if err == nil {
		t.Fatal("PING answered while paused")
	}
	if _, err := Do(s.Addr, time.Second, "PING"); err != nil {
		t.Fatalf("PING after resume: %v", err)
	}
}

func TestClusterFormed(t *testing.T) {
	c := env.ClusterProcs(t)
	if len(c.Nodes) != 6 {
		t.Fatalf("%d nodes, want 6", len(c.Nodes))
	}
	masters, err := c.Masters()
	if err != nil {
		t.Fatal(err)
	}
	if len(masters) != 3 {
		t.Fatalf("%d masters, want 3", len(masters))
	}
	for _, s := range c.Nodes {
		info, err := Do(s.Addr, time.Second, "CLUSTER", "INFO")
		if err != nil || !strings.Contains(info, "cluster_state:ok") {
			t.Fatalf("%s: %q %v", s.Addr, info, err)
		}
	}
}

func TestStopRemovesDir(t *testing.T) {
	if _, err := FindBinaries(); err != nil {
		env.Standalone(t) // skip or fail the usual way
	}
	s, err := StartServer(ServerOptions{AppendFsync: "everysec"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Fatalf("dir %s still there: %v", s.Dir, err)
	}
	if s.Running() {
		t.Fatal("still running after Stop")
	}
}
