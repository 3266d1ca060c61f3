package main

import (
	"errors"
	"flag"
	"os"
	"runtime"

	"github.com/shortstock/shortstock/internal/cpuset"
)

// cpuFlag is --cpu: pin the whole process to some CPUs, so that a load
// generator and the servers it measures do not share a core (`shortstock
// demo --cpu 0` beside `shortstock bench --topology-file ... --cpu 1`).
type cpuFlag struct {
	list string
	cpus []int // after apply; nil when not pinned
}

func (c *cpuFlag) register(fs *flag.FlagSet) {
	fs.StringVar(&c.list, "cpu", "", "pin this process to these CPUs, a list as taskset -c takes (1, 0,2, 0-3); GOMAXPROCS follows unless set (default: not pinned)")
}

// apply pins the process when --cpu was given, and sizes GOMAXPROCS to
// the CPUs unless the GOMAXPROCS environment variable is set.
func (c *cpuFlag) apply(cmd string) error {
	if c.list == "" {
		return nil
	}
	cpus, err := cpuset.Parse(c.list)
	if err == nil {
		err = cpuset.Pin(cpus)
	}
	switch {
	case errors.Is(err, cpuset.ErrBadList), errors.Is(err, cpuset.ErrUnsupported):
		return usageErr(cmd, "invalid --cpu %q: %v", c.list, err)
	case err != nil:
		return err
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(len(cpus))
	}
	c.cpus = cpus
	return nil
}
