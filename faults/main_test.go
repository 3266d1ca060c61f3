package faults

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/shortstock/shortstock/internal/redistest"
	"github.com/shortstock/shortstock/internal/testutil"
)

var longFlag = flag.Bool("faults.long", false, "run the fault suite at full size (10k reservation ops, 30 s outage); also SHORTSTOCK_FAULTS_LONG=1")

// long reports whether the suite runs at the sizes of the issue rather than
// the fast defaults that keep `go test ./...` short.
func long() bool { return *longFlag || os.Getenv("SHORTSTOCK_FAULTS_LONG") == "1" }

// pick returns fast or, in long mode, full.
func pick[T any](fast, full T) T {
	if long() {
		return full
	}
	return fast
}

var (
	// binary is the shortstock command built with -race for this run.
	binary string
	// redisEnv provides the standalone redis-server the reservation test
	// kills and restarts (appendfsync always, so acknowledged writes
	// survive a SIGKILL).
	redisEnv *redistest.Env
)

// TestMain builds the real binary once, like cmd/shortstock's tests, and
// starts Redis; the tests then drive both as an operator would, through
// flags, signals and HTTP.
func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "shortstock-faults-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "shortstock")
	build := exec.Command("go", "build", "-race", "-o", binary, "github.com/shortstock/shortstock/cmd/shortstock")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	redisEnv = redistest.Start(redistest.Options{Standalone: true, Server: redistest.ServerOptions{AppendFsync: "always"}})
	// The binary runs in its own process; goleak checks what the tests
	// themselves start (clients, watchers of the child's output).
	testutil.VerifyNoLeaks(m, func() {
		noRedirect.CloseIdleConnections()
		if err := redisEnv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "redis stop:", err)
		}
		os.RemoveAll(dir)
	})
}
