package bench

import (
	"fmt"
	"os"
	"runtime/pprof"
	"syscall"
	"time"
)

// processCPU returns this process's user + system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startCPUProfile starts a CPU profile into path (nothing when empty) and
// returns what stops it.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%w: cpu profile: %w", ErrConfig, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: cpu profile: %w", ErrConfig, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
