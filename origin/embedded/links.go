package embedded

import (
	"context"
	"fmt"
	"maps"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// getLink reads a link record from a links bucket; nil when the code was
// never used.
func getLink(links *bolt.Bucket, code string) (*linkRec, error) {
	v := links.Get([]byte(code))
	if v == nil {
		return nil, nil
	}
	r, err := decodeLink(v)
	if err != nil {
		return nil, fmt.Errorf("link %q: %w", code, err)
	}
	return &r, nil
}

// putLink stores r and appends its change.
func (s *Store) putLink(pt *part, code string, r *linkRec) error {
	if err := pt.links.Put([]byte(code), r.encode()); err != nil {
		return err
	}
	return s.appendChange(pt, keys.Key(keys.KindLink, code), r.version)
}

// setTags updates the tags index of code from old to new tags.
func (pt *part) setTags(code string, old, new []string) error {
	for _, t := range old {
		if !slices.Contains(new, t) {
			if err := pt.tags.Delete(tagKey(t, code)); err != nil {
				return err
			}
		}
	}
	for _, t := range new {
		if !slices.Contains(old, t) {
			if err := pt.tags.Put(tagKey(t, code), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkLinkFields(url string, redirect int) error {
	if ok, why := store.ValidateURL(url); !ok {
		return fmt.Errorf("%w: %s", store.ErrInvalid, why)
	}
	if !store.ValidRedirect(redirect) {
		return fmt.Errorf("%w: redirect status %d", store.ErrInvalid, redirect)
	}
	return nil
}

// CreateLink stores a new link at version (tombstone version + 1).
func (s *Store) CreateLink(ctx context.Context, l store.NewLink) (store.Link, error) {
	return s.createLink(ctx, l, nil)
}

// createLink is CreateLink and, with evictions set, CreateLinkCold: the
// create is refused (ErrEvictionsMoved) if the partition's eviction counter
// is no longer *evictions, checked in the create's own transaction.
func (s *Store) createLink(ctx context.Context, l store.NewLink, evictions *uint64) (store.Link, error) {
	if !keys.ValidCode(l.Code) {
		return store.Link{}, fmt.Errorf("embedded: create link: %w: code %q", store.ErrInvalid, l.Code)
	}
	if err := checkLinkFields(l.URL, l.Redirect); err != nil {
		return store.Link{}, fmt.Errorf("embedded: create link: %w", err)
	}
	x := cloneExtras(l.LinkExtras)
	x.Tags = store.NormTags(x.Tags)
	if x.ValidSince != nil {
		t := utc(*x.ValidSince)
		x.ValidSince = &t
	}
	if ok, why := store.ValidateExtras(x, l.ExpiresAt); !ok {
		return store.Link{}, fmt.Errorf("embedded: create link: %w: %s", store.ErrInvalid, why)
	}
	p := s.space.Partition(keys.KindLink, l.Code)
	var out store.Link
	var derr error
	err := s.write(ctx, "create link", func(tx *bolt.Tx) error {
		out, derr = store.Link{}, nil
		pt, err := partOf(tx, p)
		if err != nil {
			return err
		}
		if evictions != nil && evictionsOf(pt.root) != *evictions {
			derr = fmt.Errorf("embedded: create link %q: %w", l.Code, store.ErrEvictionsMoved)
			return nil
		}
		cur, err := getLink(pt.links, l.Code)
		if err != nil {
			return err
		}
		r := &linkRec{version: 1, live: true, url: l.URL, redirect: l.Redirect, createdAt: utc(l.CreatedAt), x: x}
		if cur != nil {
			if cur.live {
				derr = fmt.Errorf("embedded: create link: %w: %s", store.ErrCodeTaken, l.Code)
				return nil
			}
			r.version = cur.version + 1
		}
		if l.ExpiresAt != nil {
			t := utc(*l.ExpiresAt)
			r.expiresAt = &t
		}
		if err := pt.setTags(l.Code, nil, x.Tags); err != nil {
			return err
		}
		if err := s.putLink(pt, l.Code, r); err != nil {
			return err
		}
		out = r.link(l.Code)
		return nil
	})
	if err != nil {
		return store.Link{}, err
	}
	return out, derr
}

// GetLink returns the link, expired or not, with its clicks; for an
// unknown or deleted code ErrNotFound with Code and Version set.
func (s *Store) GetLink(ctx context.Context, code string) (store.Link, error) {
	out := store.Link{Code: code}
	if !keys.ValidCode(code) {
		return out, fmt.Errorf("embedded: get link: %w: %q", store.ErrNotFound, code)
	}
	live := false
	err := s.view(ctx, "get link", func(tx *bolt.Tx) error {
		links, err := subOf(tx, s.space.Partition(keys.KindLink, code), bucketLinks)
		if err != nil {
			return err
		}
		r, err := getLink(links, code)
		if err != nil || r == nil {
			return err
		}
		out, live = r.link(code), r.live
		return nil
	})
	if err != nil {
		return store.Link{Code: code}, err
	}
	if !live {
		return out, fmt.Errorf("embedded: get link: %w: %q", store.ErrNotFound, code)
	}
	return out, nil
}

// UpdateLink applies lp and bumps the version.
func (s *Store) UpdateLink(ctx context.Context, code string, lp store.LinkPatch) (store.Link, error) {
	if !keys.ValidCode(code) {
		return store.Link{Code: code}, fmt.Errorf("embedded: update link: %w: %q", store.ErrNotFound, code)
	}
	if lp.URL != nil {
		if ok, why := store.ValidateURL(*lp.URL); !ok {
			return store.Link{}, fmt.Errorf("embedded: update link: %w: %s", store.ErrInvalid, why)
		}
	}
	if lp.Redirect != nil && !store.ValidRedirect(*lp.Redirect) {
		return store.Link{}, fmt.Errorf("embedded: update link: %w: redirect status %d", store.ErrInvalid, *lp.Redirect)
	}
	if lp.ValidSince != nil {
		t := utc(*lp.ValidSince)
		lp.ValidSince = &t
	}
	p := s.space.Partition(keys.KindLink, code)
	var out store.Link
	var derr error
	err := s.write(ctx, "update link", func(tx *bolt.Tx) error {
		out, derr = store.Link{}, nil
		pt, err := partWith(tx, p, subLinks|subLog|subTags) // getLink, setTags, putLink
		if err != nil {
			return err
		}
		r, err := getLink(pt.links, code)
		if err != nil {
			return err
		}
		if r == nil || !r.live {
			out = store.Link{Code: code}
			if r != nil {
				out.Version = r.version
			}
			derr = fmt.Errorf("embedded: update link: %w: %q", store.ErrNotFound, code)
			return nil
		}
		if lp.URL != nil {
			r.url = *lp.URL
		}
		if lp.Redirect != nil {
			r.redirect = *lp.Redirect
		}
		switch {
		case lp.ClearExpiry:
			r.expiresAt = nil
		case lp.ExpiresAt != nil:
			t := utc(*lp.ExpiresAt)
			r.expiresAt = &t
		}
		oldTags := r.x.Tags
		lp.ApplyExtras(&r.x)
		if ok, why := store.ValidateExtras(r.x, r.expiresAt); !ok {
			// Nothing is written: the transaction commits no change.
			out = store.Link{}
			derr = fmt.Errorf("embedded: update link: %w: %s", store.ErrInvalid, why)
			return nil
		}
		if r.x.MaxVisits == nil {
			r.visits = visitsRec{}
		}
		if err := pt.setTags(code, oldTags, r.x.Tags); err != nil {
			return err
		}
		r.version++
		if err := s.putLink(pt, code, r); err != nil {
			return err
		}
		out = r.link(code)
		return nil
	})
	if err != nil {
		return store.Link{}, err
	}
	return out, derr
}

// DeleteLink leaves a tombstone at version + 1 and returns that version.
// For an unknown or deleted code it returns ErrNotFound and the current
// version (0 or the tombstone's).
func (s *Store) DeleteLink(ctx context.Context, code string) (uint64, error) {
	if !keys.ValidCode(code) {
		return 0, fmt.Errorf("embedded: delete link: %w: %q", store.ErrNotFound, code)
	}
	p := s.space.Partition(keys.KindLink, code)
	var version uint64
	var derr error
	err := s.write(ctx, "delete link", func(tx *bolt.Tx) error {
		version, derr = 0, nil
		pt, err := partOf(tx, p)
		if err != nil {
			return err
		}
		r, err := getLink(pt.links, code)
		if err != nil {
			return err
		}
		if r == nil || !r.live {
			if r != nil {
				version = r.version
			}
			derr = fmt.Errorf("embedded: delete link: %w: %q", store.ErrNotFound, code)
			return nil
		}
		if err := pt.setTags(code, r.x.Tags, nil); err != nil {
			return err
		}
		tomb := &linkRec{version: r.version + 1}
		if err := s.putLink(pt, code, tomb); err != nil {
			return err
		}
		version = tomb.version
		return nil
	})
	if err != nil {
		return 0, err
	}
	return version, derr
}

// maxClicks caps a link's click count (the record format's limit); a
// count that would pass it stays there instead of wrapping.
const maxClicks = 1 << 62

// AddClicks adds click counts to links in one write. Unknown, deleted or
// malformed codes and non-positive counts are ignored. Clicks change
// neither the version nor the change log: redirects do not depend on them.
func (s *Store) AddClicks(ctx context.Context, counts map[string]int64) error {
	type add struct {
		code string
		n    int64
	}
	byPart := make(map[int][]add)
	some := false
	for code, n := range counts {
		if n <= 0 || !keys.ValidCode(code) {
			continue
		}
		p := s.space.Partition(keys.KindLink, code)
		byPart[p] = append(byPart[p], add{code, n})
		some = true
	}
	if !some {
		return s.begin(ctx, "add clicks")
	}
	now := s.cfg.Clock.Now()
	return s.write(ctx, "add clicks", func(tx *bolt.Tx) error {
		for _, p := range slices.Sorted(maps.Keys(byPart)) {
			adds := byPart[p]
			pt, err := partOf(tx, p)
			if err != nil {
				return err
			}
			for _, a := range adds {
				r, err := getLink(pt.links, a.code)
				if err != nil {
					return err
				}
				if r == nil || !r.live {
					continue
				}
				if a.n > maxClicks-r.clicks {
					r.clicks = maxClicks
				} else {
					r.clicks += a.n
				}
				if err := pt.links.Put([]byte(a.code), r.encode()); err != nil {
					return err
				}
				// The click is the link's activity (cold tier, coldlinks.go).
				if err := touch(pt.root, a.code, now, r.version); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
