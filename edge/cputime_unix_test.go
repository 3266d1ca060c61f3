//go:build unix

package edge

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used (user + system). On a
// shared machine a benchmark round's hits per CPU second do not fall when
// other processes take the cores; its hits per wall second do.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
