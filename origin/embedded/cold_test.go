package embedded_test

import (
	"testing"

	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
	"github.com/shortstock/shortstock/origin/storetest"
)

// TestColdConformance runs the cold-tier hook checks (store.ColdLinks).
func TestColdConformance(t *testing.T) {
	storetest.RunCold(t, func(t *testing.T) store.Store {
		return open(t, embedded.DefaultConfig(t.TempDir()))
	})
}
