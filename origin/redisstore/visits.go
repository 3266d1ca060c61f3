package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// maxLeases bounds the open visit leases of one link (one per edge that
// redirects it at a time): past it a request is granted nothing.
const maxLeases = 1024

// LeaseVisits settles and grants visit leases of a link in one script
// (see store.VisitLeaser and lua/visit_lease.lua). Lease expiries are in
// whole milliseconds.
func (s *Store) LeaseVisits(ctx context.Context, lr store.LeaseRequest) (store.Lease, error) {
	if !keys.ValidCode(lr.Code) {
		return store.Lease{}, fmt.Errorf("%w: link %q", store.ErrNotFound, lr.Code)
	}
	if !store.ValidLeaseRequest(lr) {
		return store.Lease{}, fmt.Errorf("%w: malformed lease request", store.ErrInvalid)
	}
	p := s.space.Partition(keys.KindLink, lr.Code)
	v, err := s.run(ctx, scriptVisitLease, []string{s.ks.link(p, lr.Code)},
		lr.Now.UnixMilli(), lr.ReturnID, lr.Used, lr.NewID, lr.Want, lr.Divide, lr.TTL.Milliseconds(), maxLeases)
	if err != nil {
		return store.Lease{}, err
	}
	tag, rest, err := replyOf(v)
	if err != nil {
		return store.Lease{}, err
	}
	switch tag {
	case "nf":
		return store.Lease{}, fmt.Errorf("%w: link %q", store.ErrNotFound, lr.Code)
	case "unlimited":
		return store.Lease{Unlimited: true}, nil
	case "ok":
	default:
		return store.Lease{}, fmt.Errorf("%w: lease visits: tag %q", errBadReply, tag)
	}
	var out store.Lease
	g, err1 := at(rest, 0)
	e, err2 := at(rest, 1)
	a, err3 := at(rest, 2)
	if err1 != nil || err2 != nil || err3 != nil {
		return store.Lease{}, errBadReplyf("lease visits: %v", rest)
	}
	if out.Granted, err = toInt(g); err != nil {
		return store.Lease{}, err
	}
	if out.Available, err = toInt(a); err != nil {
		return store.Lease{}, err
	}
	es, _ := e.(string)
	ms, err := strconv.ParseInt(es, 10, 64)
	if err != nil {
		return store.Lease{}, errBadReplyf("lease expiry %v", e)
	}
	if out.Granted > 0 {
		out.ExpiresAt = time.UnixMilli(ms).UTC()
	}
	return out, nil
}
