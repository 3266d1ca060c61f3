package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// The promise of an acknowledged write (see docs/redis.md, "Durability")
// holds only on Redis nodes that persist every write and never evict. New
// reads each node's settings with CONFIG GET and checks them:
//
//   - appendonly yes: without the AOF a restart loses every write since
//     the last snapshot;
//   - appendfsync always, or everysec when writes wait for a replica
//     (WaitReplicas): everysec loses up to a second of writes when the
//     machine (not only the process) dies, which a replica then still
//     holds; "no" leaves it to the kernel;
//   - maxmemory-policy noeviction: any other policy may evict stock,
//     reservations or idempotency records (which carry TTLs) when memory
//     runs out, silently undoing acknowledged writes.
//
// Replicas are checked too: they become masters in a failover.

// nodeSettings is what checkServers learns of one node.
type nodeSettings struct {
	addr     string
	master   bool
	replicas int // connected replicas, for a master
	values   map[string]string
	err      error // CONFIG GET or INFO failed
}

// checkServers reads every node's settings, decides how many replicas
// writes wait for, and refuses (or warns about) unsafe settings.
func (s *Store) checkServers(ctx context.Context) error {
	nodes, err := s.readSettings(ctx)
	if err != nil {
		return s.classify("reading server settings", err)
	}
	withReplicas := false
	for _, n := range nodes {
		if n.master && n.replicas > 0 {
			withReplicas = true
		}
	}
	switch {
	case s.cfg.WaitDisabled:
		s.wait = 0
	case s.cfg.WaitReplicas > 0:
		s.wait = s.cfg.WaitReplicas
	case withReplicas:
		s.wait = 1
	}
	var problems []string
	for _, n := range nodes {
		problems = append(problems, n.problems(s.wait)...)
	}
	for _, n := range nodes {
		if n.master && s.wait > n.replicas && n.err == nil {
			s.log.Warn("redisstore: a master has fewer connected replicas than writes wait for; its stock and reservation writes will answer outcome_unknown until enough replicas are connected",
				"node", n.addr, "replicas", n.replicas, "wait", s.wait)
		}
	}
	s.log.Info("redisstore: stock and reservation writes wait for replicas", "wait", s.wait, "timeout", s.cfg.WaitTimeout)
	if len(problems) == 0 {
		return nil
	}
	msg := strings.Join(problems, "; ")
	if s.cfg.UnsafeConfig == UnsafeWarn {
		s.log.Warn("redisstore: Redis settings cannot keep acknowledged writes (started anyway: unsafe config is set to warn)", "problems", msg)
		return nil
	}
	return fmt.Errorf("%w: %s (fix the settings, or accept the risk with UnsafeConfig %q / --redis-unsafe-config=warn)", ErrUnsafeServerConfig, msg, UnsafeWarn)
}

// problems lists what in n's settings breaks the promise.
func (n *nodeSettings) problems(wait int) []string {
	if n.err != nil {
		return []string{fmt.Sprintf("%s: cannot read its settings (%v); managed Redis services often forbid CONFIG: check appendonly yes, appendfsync always (or everysec with replicas), maxmemory-policy noeviction yourself", n.addr, n.err)}
	}
	var out []string
	if v := n.values["appendonly"]; v != "yes" {
		out = append(out, fmt.Sprintf("%s: appendonly is %q, not yes: a restart loses writes since the last snapshot", n.addr, v))
	}
	switch v := n.values["appendfsync"]; {
	case v == "always":
	case v == "everysec" && wait > 0:
	case v == "everysec":
		out = append(out, fmt.Sprintf("%s: appendfsync everysec without replicas to wait for: a machine crash loses up to a second of acknowledged writes (use always)", n.addr))
	default:
		out = append(out, fmt.Sprintf("%s: appendfsync is %q: acknowledged writes may be lost in a machine crash (use always)", n.addr, v))
	}
	if v := n.values["maxmemory-policy"]; v != "noeviction" {
		out = append(out, fmt.Sprintf("%s: maxmemory-policy is %q, not noeviction: Redis may evict stock, reservations or idempotency records", n.addr, v))
	}
	return out
}

// settingNames are read one CONFIG GET each (Redis before 7 takes one).
var settingNames = []string{"appendonly", "appendfsync", "maxmemory-policy"}

// readSettings reads every node's settings: a cluster's masters and
// replicas, or the standalone server and its read replica. A node that
// cannot be reached fails New; one that refuses CONFIG is reported.
func (s *Store) readSettings(ctx context.Context) ([]*nodeSettings, error) {
	var (
		mu  sync.Mutex
		out []*nodeSettings
	)
	read := func(master bool) func(context.Context, *redis.Client) error {
		return func(ctx context.Context, c *redis.Client) error {
			n, err := readNode(ctx, c, master)
			if err != nil {
				return err
			}
			mu.Lock()
			out = append(out, n)
			mu.Unlock()
			return nil
		}
	}
	if cc, ok := s.rw.(*redis.ClusterClient); ok {
		if err := cc.ForEachMaster(ctx, read(true)); err != nil {
			return nil, err
		}
		if err := cc.ForEachSlave(ctx, read(false)); err != nil {
			return nil, err
		}
		return out, nil
	}
	if err := read(true)(ctx, s.rw.(*redis.Client)); err != nil {
		return nil, err
	}
	if s.ro != s.rw {
		if err := read(false)(ctx, s.ro.(*redis.Client)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func readNode(ctx context.Context, c *redis.Client, master bool) (*nodeSettings, error) {
	n := &nodeSettings{addr: c.Options().Addr, master: master, values: map[string]string{}}
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return nil, err
	}
	if m := field(info, "connected_slaves"); m != "" {
		n.replicas, _ = strconv.Atoi(m)
	}
	if !master || field(info, "role") != "master" {
		n.replicas = 0
	}
	for _, name := range settingNames {
		kv, err := c.ConfigGet(ctx, name).Result()
		if err != nil {
			var reply redis.Error
			if !errors.As(err, &reply) {
				return nil, err // unreachable: fails New like a failed ping
			}
			n.err = err
			return n, nil
		}
		n.values[name] = kv[name]
	}
	return n, nil
}

// field returns the value of "name:value" in an INFO reply.
func field(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}
