package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// The cold tier's hooks (store.ColdLinks). A link hash gains "at" (its
// last activity, unix ms) and "av" (the version "at" is for); each
// partition has "<part>evictions", its eviction counter. An evicted link
// leaves no key behind.

var (
	scriptColdScan    = loadScript("cold_scan")
	scriptColdEvict   = loadScript("cold_evict")
	scriptColdPromote = loadScript("cold_promote")
	scriptColdCreate  = loadFenced("cold_create")
)

var _ store.ColdLinks = (*Store)(nil)

func (k *keyspace) evictions(p int) string { return k.part[p] + "evictions" }

func (s *Store) checkPartition(p int) error {
	if p < 0 || p >= s.space.N() {
		return fmt.Errorf("%w: partition %d", store.ErrInvalid, p)
	}
	return nil
}

// ColdCandidates lists the partition's live links idle since before.
func (s *Store) ColdCandidates(ctx context.Context, p int, after string, before, now time.Time, limit int) ([]store.ColdCandidate, string, error) {
	if err := s.checkPartition(p); err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		limit = 1000
	}
	v, err := s.run(ctx, scriptColdScan, []string{s.ks.codes(p)},
		after, limit, millis(before), millis(now), 20*limit)
	if err != nil {
		return nil, "", err
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != 2 {
		return nil, "", fmt.Errorf("%w: cold scan: %T %v", errBadReply, v, v)
	}
	next, err := toString(arr[0])
	if err != nil {
		return nil, "", err
	}
	pairs, ok := arr[1].([]any)
	if !ok || len(pairs)%2 != 0 {
		return nil, "", fmt.Errorf("%w: cold scan pairs: %T", errBadReply, arr[1])
	}
	out := make([]store.ColdCandidate, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		code, err := toString(pairs[i])
		if err != nil {
			return nil, "", err
		}
		h, err := toHash(pairs[i+1])
		if err != nil {
			return nil, "", err
		}
		l, live, err := linkFromHash(code, h)
		if err != nil {
			return nil, "", err
		}
		at, err := toInt(h["at"])
		if err != nil || !live {
			return nil, "", fmt.Errorf("%w: cold scan: link %q at %q", errBadReply, code, h["at"])
		}
		out = append(out, store.ColdCandidate{Link: l, Active: time.UnixMilli(at).UTC()})
	}
	return out, next, nil
}

// EvictLink removes c.Link from the hot tier if it is still at c's version
// and activity (one script).
func (s *Store) EvictLink(ctx context.Context, c store.ColdCandidate) error {
	ok, err := s.EvictLinks(ctx, []store.ColdCandidate{c})
	if err != nil {
		return err
	}
	if !ok[0] {
		return fmt.Errorf("redisstore: evict link %q: %w", c.Link.Code, store.ErrVersionMismatch)
	}
	return nil
}

// EvictLinks runs the eviction script for each candidate, pipelined.
func (s *Store) EvictLinks(ctx context.Context, cs []store.ColdCandidate) ([]bool, error) {
	calls := make([]*batchCall, len(cs))
	for i, c := range cs {
		code := c.Link.Code
		if !keys.ValidCode(code) {
			return nil, fmt.Errorf("%w: evict link %q", store.ErrInvalid, code)
		}
		p := s.space.Partition(keys.KindLink, code)
		calls[i] = &batchCall{keys: []string{s.ks.link(p, code), s.ks.evictions(p)},
			args: []any{strconv.FormatUint(c.Link.Version, 10), millis(c.Active), code}}
	}
	err := s.runBatch(ctx, scriptColdEvict, calls)
	out := make([]bool, len(cs))
	for i, c := range calls {
		if c.err != nil {
			continue
		}
		if n, err := toInt(c.val); err == nil && n == 1 {
			out[i] = true
		}
	}
	return out, err
}

// PromoteLink puts l back at its own version if the hot tier has no
// record of its code (one script).
func (s *Store) PromoteLink(ctx context.Context, l store.Link, now time.Time) error {
	if !keys.ValidCode(l.Code) || l.Version == 0 {
		return fmt.Errorf("%w: promote link %q v%d", store.ErrInvalid, l.Code, l.Version)
	}
	if ok, why := store.ValidateURL(l.URL); !ok {
		return fmt.Errorf("%w: %s", store.ErrInvalid, why)
	}
	p := s.space.Partition(keys.KindLink, l.Code)
	x := normExtras(l.LinkExtras)
	exp := ""
	if l.ExpiresAt != nil {
		exp = encodeTime(*l.ExpiresAt)
	}
	args := []any{l.Code, strconv.FormatUint(l.Version, 10), l.URL, l.Redirect, exp,
		encodeTime(l.CreatedAt), l.Clicks, strings.Join(x.Tags, ","), millis(now)}
	args = appendExtraFields(args, x)
	v, err := s.run(ctx, scriptColdPromote, []string{s.ks.link(p, l.Code), s.ks.codes(p)}, args...)
	if err != nil {
		return err
	}
	if n, err := toInt(v); err != nil {
		return err
	} else if n != 1 {
		return fmt.Errorf("%w: promote %s", store.ErrCodeTaken, l.Code)
	}
	return nil
}

// Evictions is the partition's eviction counter.
func (s *Store) Evictions(ctx context.Context, p int) (uint64, error) {
	if err := s.checkPartition(p); err != nil {
		return 0, err
	}
	if s.closed.Load() {
		return 0, s.classify("evictions", redis.ErrClosed)
	}
	n, err := s.primary.Get(ctx, s.ks.evictions(p)).Uint64()
	if err == redis.Nil {
		return 0, nil
	}
	if err != nil {
		return 0, s.classify("evictions", err)
	}
	return n, nil
}

// CreateLinkCold is CreateLink guarded by the partition's eviction counter.
func (s *Store) CreateLinkCold(ctx context.Context, l store.NewLink, evictions uint64) (store.Link, error) {
	return s.createLink(ctx, l, &evictions)
}

// HotStats counts the live links (the partitions' listing indexes) and
// reports used_memory, summed over the masters of a cluster.
func (s *Store) HotStats(ctx context.Context) (store.HotStats, error) {
	if s.closed.Load() {
		return store.HotStats{}, s.classify("hot stats", redis.ErrClosed)
	}
	var hs store.HotStats
	pipe := s.primary.Pipeline()
	cmds := make([]*redis.IntCmd, s.space.N())
	for p := range cmds {
		cmds[p] = pipe.ZCard(ctx, s.ks.codes(p))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return hs, s.classify("hot stats", err)
	}
	for _, c := range cmds {
		hs.Links += c.Val()
	}
	mem := func(c *redis.Client) error {
		info, err := c.Info(ctx, "memory").Result()
		if err != nil {
			return err
		}
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				hs.Bytes += n
			}
		}
		return nil
	}
	var err error
	switch c := s.primary.(type) {
	case *redis.ClusterClient:
		var mu = make(chan struct{}, 1)
		err = c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			mu <- struct{}{}
			defer func() { <-mu }()
			return mem(n)
		})
	case *redis.Client:
		err = mem(c)
	}
	if err != nil {
		return hs, s.classify("hot stats", err)
	}
	return hs, nil
}

func init() {
	allScripts = append(allScripts, scriptColdScan, scriptColdEvict, scriptColdPromote, scriptColdCreate)
}

// ColdTierID records id in the meta hash ("coldtier") unless one is.
func (s *Store) ColdTierID(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("%w: empty cold tier id", store.ErrInvalid)
	}
	if s.closed.Load() {
		return "", s.classify("cold tier id", redis.ErrClosed)
	}
	if err := s.rw.HSetNX(ctx, s.ks.meta(), "coldtier", id).Err(); err != nil {
		return "", s.classify("cold tier id", err)
	}
	got, err := s.rw.HGet(ctx, s.ks.meta(), "coldtier").Result()
	if err != nil {
		return "", s.classify("cold tier id", err)
	}
	return got, nil
}
