package redisstore_test

import (
	"testing"

	"github.com/shortstock/shortstock/origin/store"
	"github.com/shortstock/shortstock/origin/storetest"
)

// TestConformance runs the store.Store conformance suite against a
// standalone Redis and against the 3-master cluster; every subtest gets a
// fresh keyspace (its own KeyPrefix).
func TestConformance(t *testing.T) {
	t.Run("standalone", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return openStandalone(t) })
	})
	t.Run("cluster", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return openCluster(t) })
	})
}
