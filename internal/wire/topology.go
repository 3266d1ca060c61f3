package wire

import "time"

// PathTopology is where another region's origin asks for this origin's
// view of its region (GET /v1/topology fans out to peer origins):
//
//	GET /internal/v1/topology   RegionView
const PathTopology = "/internal/v1/topology"

// RegionView is one region as its origin sees it: the origin's own state
// and every edge that has reported what it applied.
type RegionView struct {
	Name   string     `json:"name"`
	Origin OriginView `json:"origin"`
	Edges  []EdgeView `json:"edges"`
}

// OriginView is an origin's state.
type OriginView struct {
	// State is "up", or "storage_unreachable" when its storage does not
	// answer a ping (the peer's own view; an origin that does not answer
	// at all is "unreachable", set by the asker).
	State string `json:"state"`
	// Heads is the sum over partitions of the newest change seq this
	// origin has read from the change log: it grows by one per change.
	Heads uint64 `json:"heads"`
	// LastChange is the newest change it read from the log (null until
	// it has read one since it started).
	LastChange *ChangeRef `json:"last_change"`
}

// ChangeRef names a change: its receipt id (KEY@VERSION, or "purge" for
// a purge record) and when storage committed it.
type ChangeRef struct {
	ID          string    `json:"id"`
	CommittedAt time.Time `json:"committed_at"`
}

// EdgeView is one edge as its origin knows it from its applied reports.
type EdgeView struct {
	Edge string `json:"edge"`
	// State is "live" (reported within the origin's live window) or
	// "down".
	State        string    `json:"state"`
	LastReportAt time.Time `json:"last_report_at"`
	// LastAppliedAt is when a watermark of the edge last moved (null if
	// never since the origin started).
	LastAppliedAt *time.Time `json:"last_applied_at"`
	// Applied is the sum over partitions of the edge's watermarks.
	Applied uint64 `json:"applied"`
	// Lag is how many changes the origin has read that the edge has not
	// reported applied (sum over partitions; 0 = caught up).
	Lag uint64 `json:"lag"`
}
