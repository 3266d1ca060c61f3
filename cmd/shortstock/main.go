// Command shortstock runs the shortstock origin, edge, demo and benchmark.
// It is the only place that wires the packages together: it turns flags and
// environment variables into each package's Config, starts the pieces in
// order, and stops them in reverse on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"origin", "run a regional origin: admin API, internal API for edges, storage, change-log tailer", runOrigin},
		{"edge", "run an edge node: public redirect and stock API from a local cache, gossip member", runEdge},
		{"demo", "run a whole local topology in one process (regions x origin + edges), embedded storage by default", runDemo},
		{"ledger", "verify or rebuild the stock views from the movement ledger (verify|rebuild, origin flags)", runLedger},
		{"bench", "the benchmark harness: open-loop load, scale profiles, a report a person can read", runBench},
		{"compact", "give a stopped origin's embedded store file back the space of deleted and cold links", runCompact},
		{"slots", "print redis-cli commands that spread the partitions evenly over N cluster masters", runSlots},
		{"version", "print version and build info", runVersion},
	}
}

func usage() {
	fmt.Println("usage: shortstock COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Printf("  %-8s %s\n", c.name, c.summary)
	}
	fmt.Println("  help     print this help\n\nRun 'shortstock COMMAND -h' for a command's flags.")
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err := c.run(ctx, args[1:])
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintln(os.Stderr, trimUsage(err))
			return 2
		case errors.Is(err, errPartitions):
			fmt.Fprintf(os.Stderr, "shortstock %s: %s\n", c.name, strings.TrimPrefix(err.Error(), errPartitions.Error()+": "))
			return 2
		default:
			fmt.Fprintf(os.Stderr, "shortstock %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(os.Stderr, "shortstock: unknown command %q (run 'shortstock help')\n", args[0])
	return 2
}

// trimUsage drops the sentinel's own text so the user sees one clean line.
func trimUsage(err error) string {
	s := err.Error()
	const p = "usage error: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
