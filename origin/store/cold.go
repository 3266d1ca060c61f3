package store

import (
	"context"
	"errors"
	"time"
)

// ErrEvictionsMoved: CreateLinkCold when the partition's eviction counter
// is no longer the one the caller checked the cold tier under (a link of
// the partition moved to the cold tier meanwhile): check again and retry.
var ErrEvictionsMoved = errors.New("evictions moved")

// ColdCandidate is a live link the hot tier has seen no activity on since
// Active, as ColdCandidates lists it.
type ColdCandidate struct {
	Link   Link
	Active time.Time
}

// HotStats is the size of the hot tier, for GET /v1/tiers.
type HotStats struct {
	Links int64 // live links held hot
	Bytes int64 // bbolt file size, or Redis used_memory
}

// ColdLinks is implemented by a Store whose links can move to a cold tier
// (origin/coldtier) and back. The hot tier keeps no stub of an evicted
// link: a link is hot (a record: live or tombstone), or cold (no hot
// record, Version 0 on GetLink), or nowhere. Each partition counts its
// evictions, so a create can tell whether a link of its partition went
// cold while it checked the cold tier.
//
// Activity: a link's last activity is the later of its last click
// (AddClicks records it) and the time ColdCandidates first saw its current
// version (a write gives a new version, so a written link counts as active
// from the next scan). Links that have a visit limit (MaxVisits) stay hot.
type ColdLinks interface {
	// ColdCandidates lists, in code order after the code after, up to
	// limit live links of a partition with no activity since before, with
	// their full Link (clicks included) and version, and the cursor to
	// pass as after next time ("" when the partition is done). One call
	// does bounded work, so it may return fewer than limit and a cursor.
	// It records now as the activity of every link whose current version
	// it had not seen.
	ColdCandidates(ctx context.Context, partition int, after string, before, now time.Time, limit int) (c []ColdCandidate, next string, err error)
	// EvictLink removes c's link from the hot tier in one atomic step that
	// fails with ErrVersionMismatch if the link's version or activity is
	// no longer c's (the link was written or clicked meanwhile, or is
	// gone), and bumps the partition's eviction counter. It appends no
	// change: the link did not change, it only moved.
	EvictLink(ctx context.Context, c ColdCandidate) error
	// EvictLinks is EvictLink for many links (one transaction, or
	// pipelined scripts), each still conditional on its own: evicted[i]
	// says whether cs[i] moved. err is a storage failure (some may have
	// moved).
	EvictLinks(ctx context.Context, cs []ColdCandidate) (evicted []bool, err error)
	// PromoteLink puts a link read from the cold tier back into the hot
	// tier at its own version, clicks and extras, with now as its
	// activity, only if the hot tier has no record of the code (else
	// ErrCodeTaken: read the hot record instead). It appends no change.
	PromoteLink(ctx context.Context, l Link, now time.Time) error
	// Evictions is the partition's eviction counter.
	Evictions(ctx context.Context, partition int) (uint64, error)
	// CreateLinkCold is CreateLink that fails with ErrEvictionsMoved,
	// changing nothing, when the partition's eviction counter is not
	// evictions.
	CreateLinkCold(ctx context.Context, l NewLink, evictions uint64) (Link, error)
	// HotStats reports the hot tier's size.
	HotStats(ctx context.Context) (HotStats, error)
	// ColdTierID records id as the identity of the store's cold tier if
	// none is recorded yet, and returns the recorded one: every origin of
	// a hot store must use the same cold store.
	ColdTierID(ctx context.Context, id string) (string, error)
}

// TierStats is what GET /v1/tiers reports.
type TierStats struct {
	Hot struct {
		Links int64 `json:"links"`
		Bytes int64 `json:"bytes"`
	} `json:"hot"`
	Cold struct {
		Links    int64 `json:"links"`
		Bytes    int64 `json:"bytes"`
		Segments int64 `json:"segments"`
	} `json:"cold"`
	// LastRun is when the mover's last pass ended (nil: none yet).
	LastRun *time.Time `json:"last_run"`
	// Mover describes the last pass.
	Mover MoverRun `json:"mover"`
}

// MoverRun is the outcome of a mover pass.
type MoverRun struct {
	Running bool `json:"running"`
	// Evicted links moved cold; Kept were listed but written or clicked
	// meanwhile (their eviction refused); Error is why the pass stopped
	// early ("" if it did not).
	Evicted int64  `json:"evicted"`
	Kept    int64  `json:"kept"`
	Error   string `json:"error,omitempty"`
}
