package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/shortstock/shortstock/origin/embedded"
)

// runCompact rewrites a stopped origin's embedded store into a file of the
// pages in use (docs/tiers.md, "Giving the space back"): a bbolt file
// never shrinks by itself after the cold tier's mover evicts links.
func runCompact(_ context.Context, args []string) error {
	fs := newFlagSet("compact", "Rewrite a stopped origin's embedded store so its file holds only the pages in use (bbolt files never shrink by themselves).")
	dir := fs.String("data-dir", "", "the origin's --data-dir (required; the origin must be stopped)")
	wait := fs.Duration("lock-timeout", 2*time.Second, "how long to wait for the store's file lock")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *dir == "":
		return usageErr("compact", "--data-dir is required")
	case *wait <= 0 || *wait > time.Hour:
		return usageErr("compact", "--lock-timeout must be between 1ns and 1h")
	}
	cfg := embedded.DefaultConfig(*dir)
	cfg.LockTimeout = *wait
	start := time.Now()
	res, err := embedded.Compact(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "compacted %s: %.1f MB -> %.1f MB (-%.1f %%) in %v\n", res.Path,
		float64(res.Before)/1e6, float64(res.After)/1e6, 100*(1-float64(res.After)/float64(max(res.Before, 1))), time.Since(start).Round(time.Millisecond))
	return nil
}
