package embedded_test

import (
	"context"
	"testing"

	"github.com/shortstock/shortstock/origin/embedded"
)

// TestChangeNotifyReachesEveryWatcher: each ChangeNotify caller (one
// origin per region may tail one store) gets its own signal after a
// committed write, and none before.
func TestChangeNotifyReachesEveryWatcher(t *testing.T) {
	s := open(t, embedded.DefaultConfig(t.TempDir()))
	a, b := s.ChangeNotify(), s.ChangeNotify()
	for name, ch := range map[string]<-chan struct{}{"first": a, "second": b} {
		select {
		case <-ch:
			t.Fatalf("%s watcher signalled before any write", name)
		default:
		}
	}
	if _, err := s.SetStock(context.Background(), "N-1", "w", 3); err != nil {
		t.Fatal(err)
	}
	// The signal is sent before the write returns: no waiting needed.
	for name, ch := range map[string]<-chan struct{}{"first": a, "second": b} {
		select {
		case <-ch:
		default:
			t.Fatalf("%s watcher not signalled after a committed write", name)
		}
	}
}
