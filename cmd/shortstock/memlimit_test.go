package main

import (
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"testing"
)

func TestEdgeMemoryLimitFromCacheBudget(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	t.Setenv("GOMEMLIMIT", "")
	debug.SetMemoryLimit(math.MaxInt64)
	got := applyEdgeMemoryLimit(256<<20, log)
	want := int64(256<<20 + 16<<20 + 24<<20)
	if got != want {
		t.Fatalf("limit for a 256 MiB cache = %d, want %d", got, want)
	}
	if cur := debug.SetMemoryLimit(-1); cur != want {
		t.Fatalf("runtime memory limit = %d, want %d", cur, want)
	}
}

func TestEdgeMemoryLimitLeavesGOMEMLIMITAlone(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(1 << 30)
	if got := applyEdgeMemoryLimit(256<<20, log); got != 0 {
		t.Fatalf("set a limit of %d although GOMEMLIMIT is set", got)
	}
	if cur := debug.SetMemoryLimit(-1); cur != 1<<30 {
		t.Fatalf("runtime memory limit = %d, want GOMEMLIMIT's %d", cur, 1<<30)
	}
}
