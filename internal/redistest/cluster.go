package redistest

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// ClusterOptions configures a test Redis Cluster.
type ClusterOptions struct {
	// Masters is the number of masters. Default 3 (the smallest cluster
	// redis-cli creates).
	Masters int
	// ReplicasPerMaster is the number of replicas of each master. Default 1.
	// Set -1 for none.
	ReplicasPerMaster int
	// Server configures every node.
	Server ServerOptions
	// ReadyTimeout bounds the wait for "cluster_state:ok" on every node,
	// and then for every replica's link. Default 60s: under a parallel
	// race-detector run one replica once took longer than 20s to link.
	ReadyTimeout time.Duration
}

func (o ClusterOptions) withDefaults() ClusterOptions {
	if o.Masters <= 0 {
		o.Masters = 3
	}
	switch {
	case o.ReplicasPerMaster == 0:
		o.ReplicasPerMaster = 1
	case o.ReplicasPerMaster < 0:
		o.ReplicasPerMaster = 0
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 60 * time.Second
	}
	o.Server = o.Server.withDefaults()
	return o
}

// Cluster is a Redis Cluster of servers this package started.
type Cluster struct {
	// Nodes are all nodes; redis-cli makes the first Masters of them
	// masters and the rest their replicas.
	Nodes []*Server
	// Addrs are the addresses of all nodes, usable as client seeds.
	Addrs []string
}

// StartCluster starts Masters*(1+ReplicasPerMaster) cluster-enabled
// servers on free loopback ports (client and bus ports chosen explicitly),
// joins them with `redis-cli --cluster create`, and waits until every node
// reports cluster_state:ok with all 16384 slots served.
func StartCluster(opts ClusterOptions) (*Cluster, error) {
	b, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	n := opts.Masters * (1 + opts.ReplicasPerMaster)
	c := &Cluster{}
	if err := c.startNodes(b.Server, n, opts.Server); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.create(b.CLI, opts.ReplicasPerMaster); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.WaitReady(opts.ReadyTimeout); err != nil {
		c.Stop()
		return nil, err
	}
	// WaitReady cannot tell a node that is still to become a replica from a
	// master: redis-cli's CLUSTER REPLICATE takes effect asynchronously, so
	// on a loaded machine a node can still say role:master then. Wait until
	// every replica redis-cli assigned is linked, or an origin started now
	// sees a master without replicas (and its durable writes cannot be
	// confirmed until the replica connects).
	if err := c.waitLinkedReplicas(opts.Masters*opts.ReplicasPerMaster, opts.ReadyTimeout); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// waitLinkedReplicas waits until want nodes report role:slave with
// master_link_status:up.
func (c *Cluster) waitLinkedReplicas(want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	linked := 0
	for time.Now().Before(deadline) {
		linked = 0
		for _, s := range c.Nodes {
			repl, err := Do(s.Addr, time.Second, "INFO", "replication")
			if err == nil && strings.Contains(repl, "role:slave") && strings.Contains(repl, "master_link_status:up") {
				linked++
			}
		}
		if linked >= want {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%w: %d of %d replicas linked after %v", ErrUnavailable, linked, want, timeout)
}

// startNodes starts the nodes in parallel: each one fsyncs and opens its
// AOF, and serially that adds up.
func (c *Cluster) startNodes(bin string, n int, so ServerOptions) error {
	c.Nodes = make([]*Server, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range startAttempts {
				ports, err := freePorts(2)
				if err != nil {
					errs[i] = err
					return
				}
				o := so
				o.clusterPort = ports[1]
				s, err := startOnPort(bin, ports[0], o)
				if err == nil {
					c.Nodes[i], errs[i] = s, nil
					return
				}
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	// Keep the started ones in order so Stop can clean them up on error.
	nodes := c.Nodes[:0]
	for _, s := range c.Nodes {
		if s != nil {
			nodes = append(nodes, s)
			c.Addrs = append(c.Addrs, s.Addr)
		}
	}
	c.Nodes = nodes
	return errors.Join(errs...)
}

func (c *Cluster) create(cli string, replicas int) error {
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", fmt.Sprint(replicas), "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: redis-cli --cluster create: %v\n%s", ErrUnavailable, err, out)
	}
	return nil
}

// WaitReady waits until every running node reports cluster_state:ok and
// all slots ok, and every replica has finished its first sync, so tests
// never start against a half-formed cluster.
func (c *Cluster) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var why string
	for time.Now().Before(deadline) {
		why = c.notReady()
		if why == "" {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%w: cluster not ready after %v: %s", ErrUnavailable, timeout, why)
}

// notReady returns why the cluster is not ready yet, or "".
func (c *Cluster) notReady() string {
	for _, s := range c.Nodes {
		if !s.Running() {
			continue
		}
		info, err := Do(s.Addr, time.Second, "CLUSTER", "INFO")
		if err != nil {
			return s.Addr + ": " + err.Error()
		}
		if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
			return s.Addr + ": cluster_state not ok yet"
		}
		repl, err := Do(s.Addr, time.Second, "INFO", "replication")
		if err != nil {
			return s.Addr + ": " + err.Error()
		}
		if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
			return s.Addr + ": replica link not up yet"
		}
	}
	return ""
}

// Masters returns the addresses of the nodes that currently are masters.
func (c *Cluster) Masters() ([]string, error) {
	var out []string
	for _, s := range c.Nodes {
		if !s.Running() {
			continue
		}
		repl, err := Do(s.Addr, time.Second, "INFO", "replication")
		if err != nil {
			return nil, err
		}
		if strings.Contains(repl, "role:master") {
			out = append(out, s.Addr)
		}
	}
	return out, nil
}

// Stop kills every node and removes their directories.
func (c *Cluster) Stop() error {
	var errs []error
	for _, s := range c.Nodes {
		errs = append(errs, s.Stop())
	}
	return errors.Join(errs...)
}

// StartClusterNodes starts n cluster-enabled servers that own no slots and
// know no peers, for tests that lay out slots themselves (CLUSTER
// ADDSLOTSRANGE, then CLUSTER MEET, then WaitReady).
func StartClusterNodes(n int, so ServerOptions) (*Cluster, error) {
	b, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	c := &Cluster{}
	if err := c.startNodes(b.Server, n, so.withDefaults()); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// Meet introduces every node to the first one (CLUSTER MEET with the
// explicit bus port), so nodes from StartClusterNodes form one cluster.
func (c *Cluster) Meet() error {
	b, err := FindBinaries()
	if err != nil {
		return err
	}
	if len(c.Nodes) == 0 {
		return errors.New("redistest: no nodes")
	}
	host, port, _ := strings.Cut(c.Nodes[0].Addr, ":")
	for _, s := range c.Nodes[1:] {
		h, p, _ := strings.Cut(s.Addr, ":")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(ctx, b.CLI, "-h", host, "-p", port, "CLUSTER", "MEET", h, p, fmt.Sprint(s.opts.clusterPort)).CombinedOutput()
		cancel()
		if err != nil || !strings.Contains(string(out), "OK") {
			return fmt.Errorf("redistest: CLUSTER MEET %s: %v %s", s.Addr, err, out)
		}
	}
	return nil
}
