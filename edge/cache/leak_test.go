package cache

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: every
// one a component starts is stopped and awaited by its Close or Shutdown.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
