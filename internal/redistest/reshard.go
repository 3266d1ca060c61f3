package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// AddMaster starts one more cluster-enabled server with options so, adds it
// to the cluster as a master that owns no slots (redis-cli --cluster
// add-node), and waits until every node knows it. Rebalance then gives it
// its share.
func (c *Cluster) AddMaster(so ServerOptions) (*Server, error) {
	b, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	more := &Cluster{}
	if err := more.startNodes(b.Server, 1, so.withDefaults()); err != nil {
		more.Stop()
		return nil, err
	}
	s := more.Nodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, b.CLI, "--cluster", "add-node", s.Addr, c.Nodes[0].Addr).CombinedOutput()
	if err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("%w: redis-cli --cluster add-node: %v\n%s", ErrUnavailable, err, out)
	}
	c.Nodes = append(c.Nodes, s)
	c.Addrs = append(c.Addrs, s.Addr)
	deadline := time.Now().Add(20 * time.Second)
	for {
		known := 0
		for _, n := range c.Nodes {
			if nodes, err := Do(n.Addr, time.Second, "CLUSTER", "NODES"); err == nil && strings.Contains(nodes, s.Addr) {
				known++
			}
		}
		if known == len(c.Nodes) {
			return s, c.WaitReady(20 * time.Second)
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("%w: %s joined, but only %d of %d nodes know it", ErrUnavailable, s.Addr, known, len(c.Nodes))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Rebalance moves slots until every master owns about as many (redis-cli
// --cluster rebalance --cluster-use-empty-masters): live resharding, the
// keys of each slot moved with MIGRATE while clients keep running and
// follow ASK and MOVED. It returns redis-cli's output.
func (c *Cluster) Rebalance(ctx context.Context) (string, error) {
	b, err := FindBinaries()
	if err != nil {
		return "", err
	}
	out, err := exec.CommandContext(ctx, b.CLI, "--cluster", "rebalance", c.Nodes[0].Addr,
		"--cluster-use-empty-masters", "--cluster-yes").CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("redis-cli --cluster rebalance: %w\n%s", err, out)
	}
	return string(out), nil
}

// SlotsOf returns how many hash slots the node at addr serves: the slot
// ranges on the "myself" line of its CLUSTER NODES.
func SlotsOf(addr string) (int, error) {
	nodes, err := Do(addr, 2*time.Second, "CLUSTER", "NODES")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(nodes, "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.Contains(f[2], "myself") {
			continue
		}
		n := 0
		for _, r := range f[8:] {
			if strings.HasPrefix(r, "[") { // a slot being migrated
				continue
			}
			lo, hi, isRange := strings.Cut(r, "-")
			a, err := strconv.Atoi(lo)
			if err != nil {
				return 0, fmt.Errorf("slot %q: %w", r, err)
			}
			b := a
			if isRange {
				if b, err = strconv.Atoi(hi); err != nil {
					return 0, fmt.Errorf("slot %q: %w", r, err)
				}
			}
			n += b - a + 1
		}
		return n, nil
	}
	return 0, fmt.Errorf("no myself line in CLUSTER NODES of %s", addr)
}
