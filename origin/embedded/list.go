package embedded

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// ListLinks returns a page of live links in code order, from one read
// transaction: each partition's links bucket (ordered by code) or its
// tags index is read from After on, up to Limit codes each, and the
// partitions' runs are merged.
func (s *Store) ListLinks(ctx context.Context, q store.LinkQuery) (store.LinkPage, error) {
	if q.Limit < 1 || q.Limit > store.MaxListLimit {
		return store.LinkPage{}, fmt.Errorf("embedded: list links: %w: limit %d", store.ErrInvalid, q.Limit)
	}
	if q.Tag != "" && !store.ValidTag(q.Tag) {
		return store.LinkPage{}, fmt.Errorf("embedded: list links: %w: tag %q", store.ErrInvalid, q.Tag)
	}
	var page store.LinkPage
	err := s.view(ctx, "list links", func(tx *bolt.Tx) error {
		page = store.LinkPage{}
		var codes []string
		for p := 0; p < s.space.N(); p++ {
			pt, err := partOf(tx, p)
			if err != nil {
				return err
			}
			if q.Tag == "" {
				codes = appendLiveCodes(codes, pt.links, q.After, q.Limit)
			} else {
				codes = appendTagCodes(codes, pt.tags, q.Tag, q.After, q.Limit)
			}
		}
		slices.Sort(codes)
		// With Limit codes or more there may be more (a partition that
		// gave Limit may have others after them).
		if page.More = len(codes) >= q.Limit; len(codes) > q.Limit {
			codes = codes[:q.Limit]
		}
		for _, code := range codes {
			links, err := subOf(tx, s.space.Partition(keys.KindLink, code), bucketLinks)
			if err != nil {
				return err
			}
			r, err := getLink(links, code)
			if err != nil {
				return err
			}
			if r == nil || !r.live {
				return fmt.Errorf("%w: index names %q, which is not a live link", errCorrupt, code)
			}
			page.Links = append(page.Links, r.link(code))
		}
		return nil
	})
	return page, err
}

// appendLiveCodes appends up to limit live codes after `after` from a
// links bucket. A record's second byte holds its flags; tombstones (no
// live flag) are skipped without decoding.
func appendLiveCodes(dst []string, links *bolt.Bucket, after string, limit int) []string {
	c := links.Cursor()
	k, v := c.Seek([]byte(after))
	if k != nil && string(k) == after {
		k, v = c.Next()
	}
	for n := 0; k != nil && n < limit; k, v = c.Next() {
		if len(v) > 1 && v[1]&linkLive != 0 {
			dst = append(dst, string(k))
			n++
		}
	}
	return dst
}

// appendTagCodes appends up to limit codes after `after` from the tags
// index of tag.
func appendTagCodes(dst []string, tags *bolt.Bucket, tag, after string, limit int) []string {
	prefix := tagKey(tag, "")
	c := tags.Cursor()
	k, _ := c.Seek(tagKey(tag, after))
	if after != "" && k != nil && bytes.HasPrefix(k, prefix) && string(k[len(prefix):]) == after {
		k, _ = c.Next()
	}
	for n := 0; k != nil && bytes.HasPrefix(k, prefix) && n < limit; k, _ = c.Next() {
		dst = append(dst, string(k[len(prefix):]))
		n++
	}
	return dst
}
