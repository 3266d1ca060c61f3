package store

import (
	"context"
	"time"
)

// Visit limits (max_visits) are enforced by escrow: the store keeps, per
// link, the visits settled as used and the shares leased to edges. An
// edge redirects only within a share it holds, so the edges together
// never redirect more than max_visits times: a share is granted only out
// of max_visits - used - leased. A lease comes back with how much of it
// was used; one that is not back by its expiry is settled as fully used
// (the store cannot know, and counting it used errs on the safe side).

// LeaseRequest settles a lease and/or asks for a new one, atomically.
type LeaseRequest struct {
	Code string
	// ReturnID, when set, settles that lease: Used of it were used, the
	// rest go back. An unknown ID (already settled) is ignored.
	ReturnID string
	Used     int64
	// NewID, when set, asks for a new lease of up to Want visits, and at
	// most ceil(available / Divide) (Divide >= 1), so that one edge does
	// not take every remaining visit while others wait.
	NewID  string
	Want   int64
	Divide int64
	Now    time.Time
	TTL    time.Duration
}

// Lease is the answer to a LeaseRequest.
type Lease struct {
	// Unlimited: the link has no max_visits (any more).
	Unlimited bool
	// Granted visits under NewID (0: none left to lease now).
	Granted   int64
	ExpiresAt time.Time
	// Available is what is left to lease after this grant.
	Available int64
}

// MaxLeaseTTL bounds LeaseRequest.TTL.
const MaxLeaseTTL = 5 * time.Minute

// VisitLeaser is implemented by stores that enforce max_visits (both
// backends; origin/storetest checks them). ErrNotFound for an unknown or
// deleted link; ErrInvalid for a malformed request.
type VisitLeaser interface {
	LeaseVisits(ctx context.Context, r LeaseRequest) (Lease, error)
}

// ValidLeaseRequest checks a request's shape.
func ValidLeaseRequest(r LeaseRequest) bool {
	okID := func(id string) bool { return id == "" || len(id) <= 64 && ValidIdempotencyKey(id) }
	switch {
	case !okID(r.ReturnID) || !okID(r.NewID):
		return false
	case r.NewID != "" && r.NewID == r.ReturnID:
		return false
	case r.Used < 0 || r.Used > MaxVisitsLimit || r.Want < 0 || r.Want > MaxVisitsLimit:
		return false
	case r.Divide < 1 || r.Divide > 1<<20:
		return false
	case r.NewID != "" && (r.TTL <= 0 || r.TTL > MaxLeaseTTL):
		return false
	}
	return true
}

// ShareOf is what a lease request may be granted out of available.
func ShareOf(available, want, divide int64) int64 {
	if available <= 0 || want <= 0 {
		return 0
	}
	share := (available + divide - 1) / divide
	return min(want, share, available)
}
