package embedded_test

import (
	"context"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/embedded"
)

// t0 is the tests' reservation time: whole seconds, far from the real
// clock.
var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// open opens a store and closes it when the test ends.
func open(t testing.TB, cfg embedded.Config) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(cfg)
	if err != nil {
		t.Fatalf("Open(%s): %v", cfg.Dir, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// contextBackground is for the crash child, which has no test.
func contextBackground() context.Context { return context.Background() }
