package testutil

import (
	"net/http"
	"testing"

	"go.uber.org/goleak"
)

// VerifyNoLeaks is the TestMain of a package whose code or tests start
// goroutines: it runs the tests, then cleanup (what TestMain itself started,
// such as Redis servers; nil for none), and then fails the run if any
// goroutine is still alive: every goroutine a component starts must be
// stopped and awaited by its Close or Shutdown. opts add ignores for a
// package's own third-party goroutines; ProcessWide are always ignored.
func VerifyNoLeaks(m *testing.M, cleanup func(), opts ...goleak.Option) {
	goleak.VerifyTestMain(runThen{m, cleanup}, append(ProcessWide(), opts...)...)
}

// ProcessWide are goroutines third-party packages start for the whole
// process, which no Close can stop.
func ProcessWide() []goleak.Option {
	return []goleak.Option{
		// fasthttp's Date header updater is a package-level goroutine that
		// runs forever once any fasthttp server has started.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		// fasthttp's worker-pool cleaner sleeps up to MaxIdleWorkerDuration
		// before it sees Shutdown's stop flag, and Shutdown does not wait
		// for it: it ends on its own, later.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		// fasthttp's client cleaners: they exit by themselves once the
		// client has no connections left, but only after a time.Sleep of
		// up to 10 s that nothing can interrupt; closing the client's idle
		// connections is all an owner can do.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*Client).mCleaner"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
		// The default TCP dialer's DNS cache cleaner runs for the process.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
		// memberlist's Shutdown does not wait for a probe in flight: the
		// probe blocks on its ack channel until the probe timer fires
		// (ProbeInterval at most) and then returns by itself.
		goleak.IgnoreTopFunction("github.com/hashicorp/memberlist.(*Memberlist).probeNode"),
	}
}

// runThen runs the tests, then cleanup, before goleak looks.
type runThen struct {
	m       *testing.M
	cleanup func()
}

func (r runThen) Run() int {
	defer func() {
		if r.cleanup != nil {
			r.cleanup()
		}
		// Keep-alive connections of the process-wide default client (its
		// read and write loops) belong to no component; tests that use it
		// leave them idle, not leaked.
		http.DefaultClient.CloseIdleConnections()
	}()
	return r.m.Run()
}
