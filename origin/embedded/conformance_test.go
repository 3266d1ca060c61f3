package embedded_test

import (
	"testing"

	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
	"github.com/shortstock/shortstock/origin/storetest"
)

// TestConformance runs the Store conformance suite on a real bbolt file
// in a fresh directory per subtest, with the default config: fsync on.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, embedded.DefaultConfig(t.TempDir()))
	})
}
