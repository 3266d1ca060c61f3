package redisstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// ListLinks returns a page of live links in code order. The link scripts
// keep, per partition, a sorted set of the live codes ("codes") and one
// per tag ("tag:<t>"), all of score 0 so that ZRANGE BYLEX orders them
// by code; the sets carry the partition's hash tag, so each lives in its
// partition's slot. A page is one pipelined ZRANGE per partition (go-redis
// splits the pipeline by cluster node), a merge, and one pipelined HGETALL
// of the page's links: no KEYS, no SCAN. Reads go to the masters, which
// took the index writes.
func (s *Store) ListLinks(ctx context.Context, q store.LinkQuery) (store.LinkPage, error) {
	if q.Limit < 1 || q.Limit > store.MaxListLimit {
		return store.LinkPage{}, fmt.Errorf("%w: limit %d", store.ErrInvalid, q.Limit)
	}
	if q.Tag != "" && !store.ValidTag(q.Tag) {
		return store.LinkPage{}, fmt.Errorf("%w: tag %q", store.ErrInvalid, q.Tag)
	}
	if s.closed.Load() {
		return store.LinkPage{}, s.classify("list links", redis.ErrClosed)
	}
	start := "-"
	if q.After != "" {
		start = "(" + q.After
	}
	c := s.primary
	pipe := c.Pipeline()
	ranges := make([]*redis.StringSliceCmd, s.space.N())
	for p := range ranges {
		key := s.ks.codes(p)
		if q.Tag != "" {
			key = s.ks.tag(p, q.Tag)
		}
		ranges[p] = pipe.ZRangeArgs(ctx, redis.ZRangeArgs{Key: key, Start: start, Stop: "+", ByLex: true, Count: int64(q.Limit)})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return store.LinkPage{}, s.classify("list links", err)
	}
	var codes []string
	for _, r := range ranges {
		codes = append(codes, r.Val()...)
	}
	slices.Sort(codes)
	var page store.LinkPage
	if page.More = len(codes) >= q.Limit; len(codes) > q.Limit {
		codes = codes[:q.Limit]
	}
	if len(codes) == 0 {
		return page, nil
	}
	pipe = c.Pipeline()
	hashes := make([]*redis.MapStringStringCmd, len(codes))
	for i, code := range codes {
		hashes[i] = pipe.HGetAll(ctx, s.ks.link(s.space.Partition(keys.KindLink, code), code))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return store.LinkPage{}, s.classify("list links", err)
	}
	for i, code := range codes {
		l, live, err := linkFromHash(code, hashes[i].Val())
		if err != nil {
			return store.LinkPage{}, err
		}
		// Deleted between the two round trips: it did not exist for the
		// whole listing, so leaving it out is right.
		if live {
			page.Links = append(page.Links, l)
		}
	}
	return page, nil
}
