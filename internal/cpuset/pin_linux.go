package cpuset

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// initial is what the process might use when it started: the CPUs Pin
// accepts, so that a pinned process can be given them all back.
var initial, initialErr = allowedNow()

// Allowed returns the CPUs this process might run on when it started
// (its affinity then, as taskset or a cgroup left it).
func Allowed() ([]int, error) {
	return slices.Clone(initial), initialErr
}

func allowedNow() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("cpuset: sched_getaffinity: %w", err)
	}
	var out []int
	for c := 0; c <= MaxCPU; c++ {
		if set.IsSet(c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Pin restricts every thread of the process to cpus, which must all be
// CPUs it might run on when it started (Allowed); ErrBadList otherwise. Linux affinity
// is per thread and a new thread inherits its creator's, so once every
// existing thread is pinned, the Go runtime's later threads are too; the
// thread list is walked until a walk finds none it had not pinned.
func Pin(cpus []int) error {
	allowed, err := Allowed()
	if err != nil {
		return err
	}
	ok := map[int]bool{}
	for _, c := range allowed {
		ok[c] = true
	}
	var set unix.CPUSet
	for _, c := range cpus {
		if !ok[c] {
			return fmt.Errorf("%w: CPU %d is not one this process may use (%s)", ErrBadList, c, Format(allowed))
		}
		set.Set(c)
	}
	if len(cpus) == 0 {
		return fmt.Errorf("%w: no CPU", ErrBadList)
	}
	pinned := map[int]bool{}
	for {
		tids, err := threads()
		if err != nil {
			return err
		}
		fresh := false
		for _, tid := range tids {
			if pinned[tid] {
				continue
			}
			fresh = true
			if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("cpuset: sched_setaffinity(%d): %w", tid, err)
			}
			pinned[tid] = true
		}
		if !fresh {
			return nil
		}
	}
}

// threads lists the process's thread IDs.
func threads() ([]int, error) {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("cpuset: %w", err)
	}
	tids := make([]int, 0, len(ents))
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}
