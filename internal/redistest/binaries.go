package redistest

import (
	"errors"
	"fmt"
	"os/exec"
)

// ErrUnavailable wraps every reason Redis cannot be provided to tests
// (binaries missing, a server that does not start), so callers can tell
// "no Redis here" from a failing test.
var ErrUnavailable = errors.New("redistest: redis unavailable")

// Binaries are the Redis executables tests run.
type Binaries struct {
	Server string // redis-server
	CLI    string // redis-cli
}

// FindBinaries looks redis-server and redis-cli up in PATH.
func FindBinaries() (Binaries, error) {
	var b Binaries
	var err error
	if b.Server, err = exec.LookPath("redis-server"); err != nil {
		return b, fmt.Errorf("%w: redis-server not found in PATH (install it, e.g. apt-get install -y redis-server): %v", ErrUnavailable, err)
	}
	if b.CLI, err = exec.LookPath("redis-cli"); err != nil {
		return b, fmt.Errorf("%w: redis-cli not found in PATH (install it, e.g. apt-get install -y redis-tools): %v", ErrUnavailable, err)
	}
	return b, nil
}
