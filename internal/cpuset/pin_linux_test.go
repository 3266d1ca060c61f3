package cpuset

import (
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// affinity returns the CPUs thread tid may run on.
func affinity(t *testing.T, tid int) []int {
	t.Helper()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(tid, &set); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil // the thread has exited
		}
		t.Fatal(err)
	}
	var out []int
	for c := 0; c <= MaxCPU; c++ {
		if set.IsSet(c) {
			out = append(out, c)
		}
	}
	return out
}

// TestPinCoversEveryThread pins the process to one CPU and checks every
// thread, those the runtime had and those it starts afterwards; then it
// gives the process back all it had.
func TestPinCoversEveryThread(t *testing.T) {
	allowed, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Pin(allowed); err != nil {
			t.Errorf("restoring the affinity: %v", err)
		}
	})
	one := allowed[len(allowed)-1:]
	if err := Pin(one); err != nil {
		t.Fatal(err)
	}
	// Threads the runtime starts now: goroutines locked to their own
	// threads, held until the check is done.
	var ready, hold sync.WaitGroup
	hold.Add(1)
	for range 4 {
		ready.Add(1)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			ready.Done()
			hold.Wait()
		}()
	}
	ready.Wait()
	tids, err := threads()
	if err != nil {
		t.Fatal(err)
	}
	if len(tids) < 5 {
		t.Fatalf("only %d threads: the locked goroutines should have their own", len(tids))
	}
	for _, tid := range tids {
		if got := affinity(t, tid); got != nil && !slices.Equal(got, one) {
			t.Errorf("thread %d may run on %v, want %v", tid, got, one)
		}
	}
	hold.Done()
}

func TestPinRefusesCPUsNotAllowed(t *testing.T) {
	allowed, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(allowed, MaxCPU) {
		t.Skip("this machine may use every CPU number")
	}
	before := affinity(t, 0)
	for _, cpus := range [][]int{{MaxCPU}, nil, {allowed[0], MaxCPU}} {
		if err := Pin(cpus); !errors.Is(err, ErrBadList) {
			t.Errorf("Pin(%v) = %v, want ErrBadList", cpus, err)
		}
	}
	if after := affinity(t, 0); !slices.Equal(before, after) {
		t.Errorf("a refused Pin changed the affinity: %v, was %v", after, before)
	}
}
