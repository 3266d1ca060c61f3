package embedded

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// CreateLinks creates every link in one transaction, or none (see
// store.BatchCreator). Every code is checked before anything is written.
func (s *Store) CreateLinks(ctx context.Context, ls []store.NewLink) ([]store.Link, error) {
	recs := make([]*linkRec, len(ls))
	seen := make(map[string]int, len(ls))
	for i, l := range ls {
		if !keys.ValidCode(l.Code) {
			return nil, &store.BatchError{Index: i, Err: fmt.Errorf("%w: code %q", store.ErrInvalid, l.Code)}
		}
		if err := checkLinkFields(l.URL, l.Redirect); err != nil {
			return nil, &store.BatchError{Index: i, Err: err}
		}
		if _, dup := seen[l.Code]; dup {
			return nil, &store.BatchError{Index: i, Err: fmt.Errorf("%w: %s appears twice", store.ErrCodeTaken, l.Code)}
		}
		seen[l.Code] = i
		x := cloneExtras(l.LinkExtras)
		x.Tags = store.NormTags(x.Tags)
		if x.ValidSince != nil {
			t := utc(*x.ValidSince)
			x.ValidSince = &t
		}
		if ok, why := store.ValidateExtras(x, l.ExpiresAt); !ok {
			return nil, &store.BatchError{Index: i, Err: fmt.Errorf("%w: %s", store.ErrInvalid, why)}
		}
		r := &linkRec{version: 1, live: true, url: l.URL, redirect: l.Redirect, createdAt: utc(l.CreatedAt), x: x}
		if l.ExpiresAt != nil {
			t := utc(*l.ExpiresAt)
			r.expiresAt = &t
		}
		recs[i] = r
	}
	var out []store.Link
	var derr error
	err := s.write(ctx, "create links", func(tx *bolt.Tx) error {
		out, derr = nil, nil
		parts := map[int]*part{}
		partFor := func(code string) (*part, error) {
			p := s.space.Partition(keys.KindLink, code)
			if pt := parts[p]; pt != nil {
				return pt, nil
			}
			pt, err := partOf(tx, p)
			parts[p] = pt
			return pt, err
		}
		versions := make([]uint64, len(ls))
		for i, l := range ls {
			pt, err := partFor(l.Code)
			if err != nil {
				return err
			}
			cur, err := getLink(pt.links, l.Code)
			if err != nil {
				return err
			}
			versions[i] = 1
			if cur != nil {
				if cur.live {
					derr = &store.BatchError{Index: i, Err: fmt.Errorf("%w: %s", store.ErrCodeTaken, l.Code)}
					return nil // nothing written yet
				}
				versions[i] = cur.version + 1
			}
		}
		out = make([]store.Link, 0, len(ls))
		for i, l := range ls {
			pt, _ := partFor(l.Code)
			r := *recs[i]
			r.version = versions[i]
			if err := pt.setTags(l.Code, nil, r.x.Tags); err != nil {
				return err
			}
			if err := s.putLink(pt, l.Code, &r); err != nil {
				return err
			}
			out = append(out, r.link(l.Code))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	return out, nil
}
