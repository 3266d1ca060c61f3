package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/slots"
)

// runSlots prints the redis-cli commands that give N empty cluster masters
// an even share of shortstock's partitions (see docs/redis.md).
func runSlots(_ context.Context, args []string) error {
	fs := newFlagSet("slots", "Print CLUSTER ADDSLOTSRANGE commands that spread shortstock's partitions evenly over N Redis Cluster masters.")
	nodes := fs.String("nodes", "", "comma-separated host:port of the empty masters, one per shard (required)")
	parts := fs.Int("partitions", keys.DefaultPartitions, "the store's partition count (power of two, 1..16384)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *nodes == "" {
		return usageErr("slots", "--nodes is required")
	}
	if err := keys.ValidPartitions(*parts); err != nil {
		return usageErr("slots", "invalid --partitions: %v", err)
	}
	addrs := strings.Split(*nodes, ",")
	return printSlotPlan(os.Stdout, *parts, addrs)
}

func printSlotPlan(w io.Writer, partitions int, addrs []string) error {
	for _, a := range addrs {
		if host, port, ok := strings.Cut(a, ":"); !ok || host == "" || port == "" {
			return usageErr("slots", "bad node address %q (want host:port)", a)
		}
	}
	plan, err := slots.Plan(partitions, len(addrs))
	if err != nil {
		return usageErr("slots", "%v", err)
	}
	for i, sh := range plan {
		host, port, _ := strings.Cut(addrs[i], ":")
		fmt.Fprintf(w, "# shard %d: %d partitions, %d slots\nredis-cli -h %s -p %s CLUSTER ADDSLOTSRANGE", i, len(sh.Partitions), len(sh.Slots), host, port)
		for _, r := range slots.Ranges(sh.Slots) {
			fmt.Fprintf(w, " %d %d", r[0], r[1])
		}
		fmt.Fprintln(w)
	}
	return nil
}
