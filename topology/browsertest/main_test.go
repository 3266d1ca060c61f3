package browsertest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that the topology's nodes and the browser's goroutines
// are all gone after the tests: Shutdown and the browser context's cancel
// must stop everything they started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// fasthttp's Date header updater runs forever once any server has
		// started; its worker-pool cleaner ends on its own after Shutdown.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		// The edges' fasthttp client to their origin: the default dialer's
		// address-cache cleaner is package-level and runs forever; a host
		// client's idle-connection cleaner ends on its own once idle.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
	)
}
