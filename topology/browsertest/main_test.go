package browsertest

import (
	"testing"

	"github.com/shortstock/shortstock/internal/testutil"
)

// TestMain checks that the topology's nodes and the browser's goroutines
// are all gone after the tests: Shutdown and the browser context's cancel
// must stop everything they started.
func TestMain(m *testing.M) {
	testutil.VerifyNoLeaks(m, nil)
}
