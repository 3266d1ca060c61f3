package redisstore_test

import (
	"testing"

	"github.com/shortstock/shortstock/origin/store"
	"github.com/shortstock/shortstock/origin/storetest"
)

// TestColdConformance runs the cold-tier hook checks (store.ColdLinks)
// against a standalone Redis and the 3-master cluster.
func TestColdConformance(t *testing.T) {
	t.Run("standalone", func(t *testing.T) {
		storetest.RunCold(t, func(t *testing.T) store.Store { return openStandalone(t) })
	})
	t.Run("cluster", func(t *testing.T) {
		storetest.RunCold(t, func(t *testing.T) store.Store { return openCluster(t) })
	})
}
