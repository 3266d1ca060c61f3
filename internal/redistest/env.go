package redistest

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables that point tests at running servers instead of
// starting their own.
const (
	EnvStandalone = "SHORTSTOCK_TEST_REDIS"         // one address
	EnvCluster    = "SHORTSTOCK_TEST_REDIS_CLUSTER" // comma-separated seeds
)

// Options says what Start provides.
type Options struct {
	// Standalone starts (or takes from SHORTSTOCK_TEST_REDIS) a standalone
	// server.
	Standalone bool
	// Cluster starts (or takes from SHORTSTOCK_TEST_REDIS_CLUSTER) a
	// cluster.
	Cluster bool
	// Server configures the standalone server.
	Server ServerOptions
	// ClusterOptions configures the cluster.
	ClusterOptions ClusterOptions
}

// Env is the Redis a test binary runs against. Build it once in TestMain
// with Start and Stop it after m.Run.
type Env struct {
	standalone    string
	cluster       []string
	server        *Server  // nil when external or unavailable
	clusterProcs  *Cluster // nil when external or unavailable
	standaloneErr error
	clusterErr    error
}

// InCI reports whether the run is a CI run (CI=true), where missing Redis
// fails tests instead of skipping them.
func InCI() bool { return os.Getenv("CI") == "true" }

// Start provides what opts asks for. It never fails outright: a missing
// binary or a server that does not come up is recorded, and each test that
// asks for it then skips (or, in CI, fails) with the reason. In CI the
// reason is also printed at once, so the log shows it even if no test runs.
func Start(opts Options) *Env {
	e := &Env{}
	var wg sync.WaitGroup
	if opts.Standalone {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.standalone, e.server, e.standaloneErr = provideStandalone(opts.Server)
		}()
	}
	if opts.Cluster {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.cluster, e.clusterProcs, e.clusterErr = provideCluster(opts.ClusterOptions)
		}()
	}
	wg.Wait()
	if InCI() {
		for _, err := range []error{e.standaloneErr, e.clusterErr} {
			if err != nil {
				fmt.Fprintf(os.Stderr, "redistest: CI=true and Redis is unavailable: %v\n", err)
			}
		}
	}
	return e
}

func provideStandalone(o ServerOptions) (string, *Server, error) {
	if addr := strings.TrimSpace(os.Getenv(EnvStandalone)); addr != "" {
		if err := ping(addr); err != nil {
			return "", nil, fmt.Errorf("%w: %s=%s: %v", ErrUnavailable, EnvStandalone, addr, err)
		}
		return addr, nil, nil
	}
	s, err := StartServer(o)
	if err != nil {
		return "", nil, err
	}
	return s.Addr, s, nil
}

func provideCluster(o ClusterOptions) ([]string, *Cluster, error) {
	if v := strings.TrimSpace(os.Getenv(EnvCluster)); v != "" {
		var addrs []string
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) == 0 {
			return nil, nil, fmt.Errorf("%w: %s has no address", ErrUnavailable, EnvCluster)
		}
		if err := ping(addrs[0]); err != nil {
			return nil, nil, fmt.Errorf("%w: %s=%s: %v", ErrUnavailable, EnvCluster, v, err)
		}
		return addrs, nil, nil
	}
	c, err := StartCluster(o)
	if err != nil {
		return nil, nil, err
	}
	return c.Addrs, c, nil
}

func ping(addr string) error {
	reply, err := Do(addr, 2*time.Second, "PING")
	if err != nil {
		return err
	}
	if reply != "PONG" {
		return fmt.Errorf("PING answered %q", reply)
	}
	return nil
}

// unavailable skips t, or fails it in CI.
func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		err = errors.New("not requested in redistest.Options")
	}
	if InCI() {
		t.Fatalf("%s is required in CI (CI=true) but unavailable: %v", what, err)
	}
	t.Skipf("skipping: %s unavailable: %v (set %s/%s to use running servers)", what, err, EnvStandalone, EnvCluster)
}

// Standalone returns the standalone server's address, or skips t (fails
// it in CI) when there is none.
func (e *Env) Standalone(t testing.TB) string {
	t.Helper()
	if e == nil || e.standalone == "" {
		unavailable(t, "standalone Redis", e.errStandalone())
	}
	return e.standalone
}

// Cluster returns the cluster's seed addresses, or skips t (fails it in
// CI) when there is none.
func (e *Env) Cluster(t testing.TB) []string {
	t.Helper()
	if e == nil || len(e.cluster) == 0 {
		unavailable(t, "Redis Cluster", e.errCluster())
	}
	return append([]string(nil), e.cluster...)
}

// Server returns the standalone server process for tests that kill, pause
// or restart it. It skips t when the server is external (nothing to
// control), and skips or fails like Standalone when there is none.
func (e *Env) Server(t testing.TB) *Server {
	t.Helper()
	e.Standalone(t)
	if e.server == nil {
		t.Skipf("skipping: the standalone Redis comes from %s, so this test cannot kill or restart it", EnvStandalone)
	}
	return e.server
}

// ClusterProcs returns the cluster's processes, skipping t when the
// cluster is external.
func (e *Env) ClusterProcs(t testing.TB) *Cluster {
	t.Helper()
	e.Cluster(t)
	if e.clusterProcs == nil {
		t.Skipf("skipping: the Redis Cluster comes from %s, so this test cannot control its nodes", EnvCluster)
	}
	return e.clusterProcs
}

func (e *Env) errStandalone() error {
	if e == nil {
		return nil
	}
	return e.standaloneErr
}

func (e *Env) errCluster() error {
	if e == nil {
		return nil
	}
	return e.clusterErr
}

// Err returns every reason something requested is unavailable, or nil.
func (e *Env) Err() error { return errors.Join(e.standaloneErr, e.clusterErr) }

// Stop stops the servers Start started (never external ones) and removes
// their directories.
func (e *Env) Stop() error {
	var errs []error
	if e.server != nil {
		errs = append(errs, e.server.Stop())
	}
	if e.clusterProcs != nil {
		errs = append(errs, e.clusterProcs.Stop())
	}
	return errors.Join(errs...)
}
