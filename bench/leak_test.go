package bench

import (
	"testing"

	"github.com/shortstock/shortstock/internal/testutil"
)

// TestMain fails the run if a test leaves a goroutine behind: everything a
// component starts is stopped by its Close or Shutdown.
func TestMain(m *testing.M) {
	testutil.VerifyNoLeaks(m, nil)
}
