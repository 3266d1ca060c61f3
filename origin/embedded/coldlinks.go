package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// The cold tier's hooks (store.ColdLinks). Each partition bucket gets, on
// first use, an "act" sub-bucket: code -> u64 activity (unix ns) | u64 the
// version that activity was recorded for, and a key "evictions" (u64): the
// partition's eviction counter. An evicted link leaves nothing behind.
var (
	bucketAct    = []byte("act")
	keyEvictions = []byte("evictions")
)

var _ store.ColdLinks = (*Store)(nil)

func encodeAct(t time.Time, version uint64) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(t.UnixNano()))
	return binary.BigEndian.AppendUint64(b, version)
}

func decodeAct(v []byte) (time.Time, uint64, bool) {
	if len(v) != 16 {
		return time.Time{}, 0, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v[:8]))).UTC(), binary.BigEndian.Uint64(v[8:]), true
}

// touch records now as code's activity at version (write transactions).
func touch(root *bolt.Bucket, code string, now time.Time, version uint64) error {
	act, err := root.CreateBucketIfNotExists(bucketAct)
	if err != nil {
		return err
	}
	return act.Put([]byte(code), encodeAct(now, version))
}

func evictionsOf(root *bolt.Bucket) uint64 {
	if v := root.Get(keyEvictions); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

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
	var out []store.ColdCandidate
	type stamp struct {
		code    string
		version uint64
	}
	var stamps []stamp
	next := ""
	err := s.view(ctx, "cold candidates", func(tx *bolt.Tx) error {
		out, stamps, next = nil, nil, ""
		root := tx.Bucket(partitionName(p))
		if root == nil {
			return fmt.Errorf("%w: partition bucket %s missing", errCorrupt, partitionName(p))
		}
		links := root.Bucket(bucketLinks)
		act := root.Bucket(bucketAct)
		c := links.Cursor()
		var k, v []byte
		if after == "" {
			k, v = c.First()
		} else {
			k, v = c.Seek([]byte(after))
			if k != nil && string(k) == after {
				k, v = c.Next()
			}
		}
		// Bound the work of one call even when few links qualify.
		last := ""
		for scanned := 0; k != nil && len(out) < limit && scanned < 50*limit; k, v = c.Next() {
			scanned++
			last = string(k)
			r, err := decodeLink(v)
			if err != nil {
				return fmt.Errorf("link %q: %w", k, err)
			}
			if !r.live || r.x.MaxVisits != nil {
				continue
			}
			var at time.Time
			var seen uint64
			ok := false
			if act != nil {
				at, seen, ok = decodeAct(act.Get(k))
			}
			if !ok || seen != r.version {
				stamps = append(stamps, stamp{string(k), r.version})
				continue
			}
			if !at.Before(before) {
				continue
			}
			out = append(out, store.ColdCandidate{Link: r.link(string(k)), Active: at})
		}
		if k != nil {
			next = last // stopped early: go on after the last scanned
		}
		return nil
	})
	if err != nil || len(stamps) == 0 {
		return out, next, err
	}
	err = s.write(ctx, "cold candidates", func(tx *bolt.Tx) error {
		root := tx.Bucket(partitionName(p))
		links := root.Bucket(bucketLinks)
		for _, st := range stamps {
			// Stamp only the version seen: a write since then is newer.
			r, err := getLink(links, st.code)
			if err != nil {
				return err
			}
			if r == nil || r.version != st.version {
				continue
			}
			if err := touch(root, st.code, now, st.version); err != nil {
				return err
			}
		}
		return nil
	})
	return out, next, err
}

// EvictLink removes c.Link from the hot tier if it is still at c's version
// and activity.
func (s *Store) EvictLink(ctx context.Context, c store.ColdCandidate) error {
	ok, err := s.EvictLinks(ctx, []store.ColdCandidate{c})
	if err != nil {
		return err
	}
	if !ok[0] {
		return fmt.Errorf("embedded: evict link %q: %w", c.Link.Code, store.ErrVersionMismatch)
	}
	return nil
}

// EvictLinks evicts each candidate still at its version and activity, in
// one transaction.
func (s *Store) EvictLinks(ctx context.Context, cs []store.ColdCandidate) ([]bool, error) {
	for _, c := range cs {
		if !keys.ValidCode(c.Link.Code) {
			return nil, fmt.Errorf("embedded: evict link: %w: %q", store.ErrInvalid, c.Link.Code)
		}
	}
	out := make([]bool, len(cs))
	err := s.write(ctx, "evict links", func(tx *bolt.Tx) error {
		clear(out)
		parts := map[int]*part{}
		for i, c := range cs {
			code := c.Link.Code
			p := s.space.Partition(keys.KindLink, code)
			pt := parts[p]
			if pt == nil {
				var err error
				if pt, err = partOf(tx, p); err != nil {
					return err
				}
				parts[p] = pt
			}
			r, err := getLink(pt.links, code)
			if err != nil {
				return err
			}
			var at time.Time
			var seen uint64
			ok := false
			act := pt.root.Bucket(bucketAct)
			if act != nil {
				at, seen, ok = decodeAct(act.Get([]byte(code)))
			}
			if r == nil || !r.live || r.version != c.Link.Version || !ok || seen != r.version || !at.Equal(c.Active) {
				continue
			}
			if err := pt.setTags(code, r.x.Tags, nil); err != nil {
				return err
			}
			if err := pt.links.Delete([]byte(code)); err != nil {
				return err
			}
			if err := act.Delete([]byte(code)); err != nil {
				return err
			}
			if err := pt.root.Put(keyEvictions, binary.BigEndian.AppendUint64(nil, evictionsOf(pt.root)+1)); err != nil {
				return err
			}
			out[i] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PromoteLink puts l back into the hot tier at its own version, if the hot
// tier has no record of its code.
func (s *Store) PromoteLink(ctx context.Context, l store.Link, now time.Time) error {
	if !keys.ValidCode(l.Code) || l.Version == 0 {
		return fmt.Errorf("embedded: promote link: %w: %q v%d", store.ErrInvalid, l.Code, l.Version)
	}
	if err := checkLinkFields(l.URL, l.Redirect); err != nil {
		return fmt.Errorf("embedded: promote link: %w", err)
	}
	p := s.space.Partition(keys.KindLink, l.Code)
	x := cloneExtras(l.LinkExtras)
	x.Tags = store.NormTags(x.Tags)
	var derr error
	err := s.write(ctx, "promote link", func(tx *bolt.Tx) error {
		derr = nil
		pt, err := partOf(tx, p)
		if err != nil {
			return err
		}
		if v := pt.links.Get([]byte(l.Code)); v != nil {
			derr = fmt.Errorf("embedded: promote link: %w: %s", store.ErrCodeTaken, l.Code)
			return nil
		}
		r := &linkRec{version: l.Version, live: true, url: l.URL, redirect: l.Redirect, createdAt: utc(l.CreatedAt), clicks: l.Clicks, x: x}
		if l.ExpiresAt != nil {
			t := utc(*l.ExpiresAt)
			r.expiresAt = &t
		}
		if err := pt.setTags(l.Code, nil, x.Tags); err != nil {
			return err
		}
		if err := pt.links.Put([]byte(l.Code), r.encode()); err != nil {
			return err
		}
		return touch(pt.root, l.Code, now, r.version)
	})
	if err != nil {
		return err
	}
	return derr
}

// Evictions is the partition's eviction counter.
func (s *Store) Evictions(ctx context.Context, p int) (uint64, error) {
	if err := s.checkPartition(p); err != nil {
		return 0, err
	}
	var n uint64
	err := s.view(ctx, "evictions", func(tx *bolt.Tx) error {
		if root := tx.Bucket(partitionName(p)); root != nil {
			n = evictionsOf(root)
		}
		return nil
	})
	return n, err
}

// CreateLinkCold is CreateLink guarded by the partition's eviction counter.
func (s *Store) CreateLinkCold(ctx context.Context, l store.NewLink, evictions uint64) (store.Link, error) {
	return s.createLink(ctx, l, &evictions)
}

// HotStats counts the live links and the bytes of the file in use (its
// size less its free pages: bbolt files do not shrink, freed pages are
// reused).
func (s *Store) HotStats(ctx context.Context) (store.HotStats, error) {
	var hs store.HotStats
	err := s.view(ctx, "hot stats", func(tx *bolt.Tx) error {
		hs = store.HotStats{}
		for p := 0; p < s.space.N(); p++ {
			links, err := subOf(tx, p, bucketLinks)
			if err != nil {
				return err
			}
			c := links.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if len(v) > 1 && v[1]&linkLive != 0 {
					hs.Links++
				}
			}
		}
		st := s.db.Stats()
		hs.Bytes = tx.Size() - int64(st.FreePageN+st.PendingPageN)*int64(s.db.Info().PageSize)
		return nil
	})
	return hs, err
}

var keyColdTier = []byte("coldtier")

// ColdTierID records id in the meta bucket unless one is recorded.
func (s *Store) ColdTierID(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("embedded: cold tier id: %w: empty", store.ErrInvalid)
	}
	var got string
	err := s.write(ctx, "cold tier id", func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("%w: meta bucket missing", errCorrupt)
		}
		if v := meta.Get(keyColdTier); v != nil {
			got = string(v)
			return nil
		}
		got = id
		return meta.Put(keyColdTier, []byte(id))
	})
	return got, err
}
