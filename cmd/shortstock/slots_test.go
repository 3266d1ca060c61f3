package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/redistest"
	"github.com/shortstock/shortstock/internal/slots"
)

// TestSlotPlanOnRealCluster runs the printed redis-cli commands against
// empty cluster nodes and checks that the cluster forms with all slots and
// that every partition's keys are served by the node the plan gave it.
func TestSlotPlanOnRealCluster(t *testing.T) {
	c, err := redistest.StartClusterNodes(3, redistest.ServerOptions{AppendFsync: "no"})
	if err != nil {
		if redistest.InCI() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	t.Cleanup(func() { c.Stop() })
	b, err := redistest.FindBinaries()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printSlotPlan(&out, keys.DefaultPartitions, c.Addrs); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "redis-cli" {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := exec.CommandContext(ctx, b.CLI, f[1:]...).CombinedOutput()
		cancel()
		if err != nil || !strings.Contains(string(res), "OK") {
			t.Fatalf("%s: %v %s", line, err, res)
		}
	}
	if err := c.Meet(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	plan, err := slots.Plan(keys.DefaultPartitions, len(c.Addrs))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, sh := range plan {
		cl := redis.NewClient(&redis.Options{Addr: c.Addrs[i]})
		for _, p := range sh.Partitions {
			key := "ss:{p" + strconv.Itoa(p) + "}:seq"
			if got, err := cl.ClusterKeySlot(ctx, key).Result(); err != nil || int(got) != slots.Partition(p) {
				t.Fatalf("CLUSTER KEYSLOT %s = %d (%v), want %d", key, got, err, slots.Partition(p))
			}
			if err := cl.Get(ctx, key).Err(); !errors.Is(err, redis.Nil) {
				t.Fatalf("partition %d: node %s (shard %d) does not serve it: %v", p, c.Addrs[i], i, err)
			}
		}
		cl.Close()
	}
}

func TestSlotsBadFlags(t *testing.T) {
	for _, args := range [][]string{{}, {"--nodes", "a:1,b"}, {"--nodes", strings.Repeat("h:1,", keys.DefaultPartitions) + "h:1"}} {
		if err := runSlots(context.Background(), args); !errors.Is(err, errUsage) {
			t.Errorf("slots %v: %v, want a usage error", args, err)
		}
	}
}
