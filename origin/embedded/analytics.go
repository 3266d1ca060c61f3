package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// Click analytics live in two top-level buckets, created on first use:
//
//	anHours    big-endian unix hour start -> bucket: code -> hourRec (JSON)
//	anBatches  batch ID -> big-endian unix seconds it was applied
//
// Hours come first so that retention drops whole buckets, and the most
// clicked links of an hour are one bucket scan. The embedded store serves
// the small scale, where a scan over every link of a period is cheap.
var (
	bucketAnHours   = []byte("anHours")
	bucketAnBatches = []byte("anBatches")
)

// hourRec is HourStats without its hour (the bucket key says it).
type hourRec struct {
	Clicks    int64            `json:"c,omitempty"`
	Bots      int64            `json:"b,omitempty"`
	Sampled   int64            `json:"s,omitempty"`
	Referrers map[string]int64 `json:"r,omitempty"`
	Devices   map[string]int64 `json:"d,omitempty"`
	Browsers  map[string]int64 `json:"w,omitempty"`
	Countries map[string]int64 `json:"g,omitempty"`
}

func (r hourRec) stats(h time.Time) store.HourStats {
	return store.HourStats{Hour: h, Clicks: r.Clicks, Bots: r.Bots, Sampled: r.Sampled,
		Referrers: r.Referrers, Devices: r.Devices, Browsers: r.Browsers, Countries: r.Countries}
}

func recOf(s store.HourStats) hourRec {
	return hourRec{Clicks: s.Clicks, Bots: s.Bots, Sampled: s.Sampled,
		Referrers: s.Referrers, Devices: s.Devices, Browsers: s.Browsers, Countries: s.Countries}
}

func hourKey(h time.Time) []byte { return binary.BigEndian.AppendUint64(nil, uint64(h.Unix())) }

// ApplyClickBatch applies a click batch once per ID. Batches that arrive
// within ClickMergeDelay of each other share one transaction (see
// clickmerge.go); each is answered once that transaction is committed.
func (s *Store) ApplyClickBatch(ctx context.Context, b store.ClickBatch) (bool, error) {
	if b.ID == "" || len(b.ID) > store.MaxBatchIDLen {
		return false, fmt.Errorf("embedded: click batch ID %q: %w", b.ID, store.ErrInvalid)
	}
	if err := s.begin(ctx, "apply click batch"); err != nil {
		return false, err
	}
	if s.cfg.ClickMergeDelay < 0 {
		r := &clickReq{b: b}
		if err := s.applyClickBatches(ctx, []*clickReq{r}); err != nil {
			return false, err
		}
		return r.dup, nil
	}
	return s.clickMerge.apply(ctx, s, b)
}

// applyClickBatches applies reqs in one transaction, each batch once per
// ID (a batch already applied, or earlier in reqs, is marked dup): their
// counts summed per link, so a link clicked at several edges is written
// once, then their hours in order.
func (s *Store) applyClickBatches(ctx context.Context, reqs []*clickReq) error {
	now := time.Now()
	defer s.clickWrites.Add(1)
	return s.write(ctx, "apply click batch", func(tx *bolt.Tx) error {
		batches, err := tx.CreateBucketIfNotExists(bucketAnBatches)
		if err != nil {
			return err
		}
		counts := map[string]int64{} // bbolt may run fn again: built afresh
		applied := make([]*clickReq, 0, len(reqs))
		for _, r := range reqs {
			r.dup = batches.Get([]byte(r.b.ID)) != nil
			if r.dup {
				continue
			}
			if err := batches.Put([]byte(r.b.ID), binary.BigEndian.AppendUint64(nil, uint64(now.Unix()))); err != nil {
				return err
			}
			for code, n := range r.b.Counts {
				if n > 0 {
					counts[code] = min(counts[code]+min(n, maxClicks), maxClicks)
				}
			}
			applied = append(applied, r)
		}
		if err := s.addClicksTx(tx, counts); err != nil {
			return err
		}
		if len(applied) == 0 {
			return nil
		}
		hours, err := tx.CreateBucketIfNotExists(bucketAnHours)
		if err != nil {
			return err
		}
		for _, r := range applied {
			if err := addHoursTx(hours, r.b.Hours); err != nil {
				return err
			}
		}
		return nil
	})
}

// addHoursTx adds a batch's hours to the hours bucket.
func addHoursTx(hours *bolt.Bucket, chs []store.CodeHour) error {
	for _, ch := range chs {
		if !keys.ValidCode(ch.Code) {
			continue
		}
		hb, err := hours.CreateBucketIfNotExists(hourKey(store.HourOf(ch.Hour)))
		if err != nil {
			return err
		}
		var cur store.HourStats
		if v := hb.Get([]byte(ch.Code)); v != nil {
			var r hourRec
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("%w: analytics hour of %q: %v", errCorrupt, ch.Code, err)
			}
			cur = r.stats(time.Time{})
		}
		cur.Add(ch.HourStats)
		v, err := json.Marshal(recOf(cur))
		if err != nil {
			return err
		}
		if err := hb.Put([]byte(ch.Code), v); err != nil {
			return err
		}
	}
	return nil
}

// addClicksTx is AddClicks inside a transaction.
func (s *Store) addClicksTx(tx *bolt.Tx, counts map[string]int64) error {
	for code, n := range counts {
		if n <= 0 || !keys.ValidCode(code) {
			continue
		}
		// Only the links bucket: partOf opens all eleven of a partition,
		// and a batch's codes fall in a different partition nearly every
		// time (a click batch was ~11 % of all the bytes a 3 x 10 bench
		// allocated, most of it opening buckets it never touched).
		links, err := subOf(tx, s.space.Partition(keys.KindLink, code), bucketLinks)
		if err != nil {
			return err
		}
		r, err := getLink(links, code)
		if err != nil {
			return err
		}
		if r == nil || !r.live {
			continue
		}
		r.clicks = min(r.clicks+min(n, maxClicks), maxClicks)
		if err := links.Put([]byte(code), r.encode()); err != nil {
			return err
		}
	}
	return nil
}

// LinkSeries returns code's non-empty hours in [from, to).
func (s *Store) LinkSeries(ctx context.Context, code string, from, to time.Time) ([]store.HourStats, error) {
	var out []store.HourStats
	err := s.view(ctx, "link series", func(tx *bolt.Tx) error {
		out = nil
		return eachHour(tx, from, to, func(h time.Time, hb *bolt.Bucket) error {
			v := hb.Get([]byte(code))
			if v == nil {
				return nil
			}
			var r hourRec
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("%w: analytics hour of %q: %v", errCorrupt, code, err)
			}
			out = append(out, r.stats(h))
			return nil
		})
	})
	return out, err
}

// TopLinks sums human clicks per code over the hours in [from, to).
func (s *Store) TopLinks(ctx context.Context, from, to time.Time, limit int) ([]store.LinkCount, error) {
	sum := map[string]int64{}
	err := s.view(ctx, "top links", func(tx *bolt.Tx) error {
		clear(sum)
		return eachHour(tx, from, to, func(_ time.Time, hb *bolt.Bucket) error {
			return hb.ForEach(func(k, v []byte) error {
				var r hourRec
				if err := json.Unmarshal(v, &r); err != nil {
					return fmt.Errorf("%w: analytics hour of %q: %v", errCorrupt, k, err)
				}
				if r.Clicks > 0 {
					sum[string(k)] += r.Clicks
				}
				return nil
			})
		})
	})
	if err != nil {
		return nil, err
	}
	return store.TopOf(sum, limit), nil
}

// eachHour calls fn for every hour bucket in [from, to), in order.
func eachHour(tx *bolt.Tx, from, to time.Time, fn func(time.Time, *bolt.Bucket) error) error {
	hours := tx.Bucket(bucketAnHours)
	if hours == nil {
		return nil
	}
	end := hourKey(store.HourOf(to))
	if !store.HourOf(to).Equal(to) {
		end = hourKey(store.HourOf(to).Add(time.Hour))
	}
	c := hours.Cursor()
	for k, _ := c.Seek(hourKey(store.HourOf(from))); k != nil && bytes.Compare(k, end) < 0; k, _ = c.Next() {
		hb := hours.Bucket(k)
		if hb == nil || len(k) != 8 {
			continue
		}
		if err := fn(time.Unix(int64(binary.BigEndian.Uint64(k)), 0).UTC(), hb); err != nil {
			return err
		}
	}
	return nil
}

// PruneAnalytics drops hour buckets before cutoff and batch markers older
// than store.BatchMarkerTTL.
func (s *Store) PruneAnalytics(ctx context.Context, cutoff time.Time) error {
	markerCutoff := uint64(time.Now().Add(-store.BatchMarkerTTL).Unix())
	return s.write(ctx, "prune analytics", func(tx *bolt.Tx) error {
		if hours := tx.Bucket(bucketAnHours); hours != nil {
			var old [][]byte
			stop := hourKey(store.HourOf(cutoff))
			c := hours.Cursor()
			for k, _ := c.First(); k != nil && bytes.Compare(k, stop) < 0; k, _ = c.Next() {
				old = append(old, slices.Clone(k))
			}
			for _, k := range old {
				if err := hours.DeleteBucket(k); err != nil {
					return err
				}
			}
		}
		if batches := tx.Bucket(bucketAnBatches); batches != nil {
			var old [][]byte
			err := batches.ForEach(func(k, v []byte) error {
				if len(v) != 8 || binary.BigEndian.Uint64(v) < markerCutoff {
					old = append(old, slices.Clone(k))
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range old {
				if err := batches.Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
