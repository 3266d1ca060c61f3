package embedded

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// LeaseVisits settles and grants visit leases of a link in one write (see
// store.VisitLeaser). Leases are bookkeeping: they change neither the
// link's version nor the change log.
func (s *Store) LeaseVisits(ctx context.Context, lr store.LeaseRequest) (store.Lease, error) {
	if !keys.ValidCode(lr.Code) {
		return store.Lease{}, fmt.Errorf("embedded: lease visits: %w: %q", store.ErrNotFound, lr.Code)
	}
	if !store.ValidLeaseRequest(lr) {
		return store.Lease{}, fmt.Errorf("embedded: lease visits: %w: malformed request", store.ErrInvalid)
	}
	p := s.space.Partition(keys.KindLink, lr.Code)
	var out store.Lease
	var derr error
	err := s.write(ctx, "lease visits", func(tx *bolt.Tx) error {
		out, derr = store.Lease{}, nil
		pt, err := partOf(tx, p)
		if err != nil {
			return err
		}
		r, err := getLink(pt.links, lr.Code)
		if err != nil {
			return err
		}
		if r == nil || !r.live {
			derr = fmt.Errorf("embedded: lease visits: %w: %q", store.ErrNotFound, lr.Code)
			return nil
		}
		if r.x.MaxVisits == nil {
			out.Unlimited = true
			return nil
		}
		out = settleAndGrant(&r.visits, *r.x.MaxVisits, lr)
		return pt.links.Put([]byte(lr.Code), r.encode())
	})
	if err != nil {
		return store.Lease{}, err
	}
	return out, derr
}

// settleAndGrant is the escrow step on a link's visit bookkeeping:
// settle the returned lease and every expired one, then grant a share of
// what is left.
func settleAndGrant(v *visitsRec, maxVisits int64, lr store.LeaseRequest) store.Lease {
	now := utc(lr.Now)
	var leased int64
	var replay *leaseRec
	kept := v.leases[:0]
	for _, l := range v.leases {
		switch {
		case lr.NewID != "" && l.id == lr.NewID && now.Before(l.expires):
			// A retried request whose answer was lost: the same lease.
			leased += l.n
			kept = append(kept, l)
			replay = &kept[len(kept)-1]
		case lr.NewID != "" && l.id == lr.NewID:
			v.used += l.n
		case lr.ReturnID != "" && l.id == lr.ReturnID:
			v.used += min(lr.Used, l.n)
		case !now.Before(l.expires):
			v.used += l.n // not back in time: counted as used
		default:
			leased += l.n
			kept = append(kept, l)
		}
	}
	v.leases = kept
	v.used = min(v.used, store.MaxVisitsLimit)
	avail := max(maxVisits-v.used-leased, 0)
	var out store.Lease
	if replay != nil {
		out.Granted, out.ExpiresAt, out.Available = replay.n, replay.expires, avail
		return out
	}
	if lr.NewID != "" && len(v.leases) < maxLeases {
		if g := store.ShareOf(avail, lr.Want, lr.Divide); g > 0 {
			exp := now.Add(lr.TTL)
			v.leases = append(v.leases, leaseRec{id: lr.NewID, n: g, expires: exp})
			out.Granted, out.ExpiresAt = g, exp
			avail -= g
		}
	}
	if len(v.leases) == 0 {
		v.leases = nil
	}
	out.Available = avail
	return out
}
