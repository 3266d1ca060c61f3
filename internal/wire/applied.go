package wire

import "time"

// PathApplied is where an edge reports how far it has applied the change
// log (purge receipts, GET /v1/changes/{id} at the origin):
//
//	POST /internal/v1/applied   Applied -> 204
const PathApplied = "/internal/v1/applied"

// Applied is one edge's report of the changes it has applied: for each
// partition listed, every change up to Seq (the edge's contiguous
// watermark). An edge lists the partitions that moved since its last
// report, and all of them now and then (Full), so a restarted origin
// learns everything again.
type Applied struct {
	Region     string        `json:"region"`
	Edge       string        `json:"edge"`
	Full       bool          `json:"full,omitempty"`
	Partitions []AppliedUpTo `json:"partitions"`
}

// AppliedUpTo says partition P is applied up to Seq.
type AppliedUpTo struct {
	P   int    `json:"p"`
	Seq uint64 `json:"seq"`
}

// MaxAppliedBytes caps an Applied body (a full report of every partition
// is ~30 KiB).
const MaxAppliedBytes = 256 << 10

// PathReceipt is where another region's origin asks which of this
// origin's edges have applied given changes (GET /v1/changes/{id} fans
// out to peer origins):
//
//	GET /internal/v1/receipt?parts=P.SEQ,P.SEQ   []EdgeState
const PathReceipt = "/internal/v1/receipt"

// EdgeState is one edge's state for a set of changes: "applied" (with
// AppliedAt), "pending" or "unknown".
type EdgeState struct {
	Region    string     `json:"region"`
	Edge      string     `json:"edge"`
	AppliedAt *time.Time `json:"applied_at"`
	State     string     `json:"state"`
}

// PathChangeParts resolves a change id at the origin that made it (a
// purge id is known only there): GET /internal/v1/change-parts?id=ID ->
// ChangeParts, 404 if unknown.
const PathChangeParts = "/internal/v1/change-parts"

// ChangeParts are the change-log places of one change id.
type ChangeParts struct {
	Parts []ChangePart `json:"parts"`
}

// ChangePart is one change record: partition, seq, commit time (unix ms).
type ChangePart struct {
	P    int    `json:"p"`
	Seq  uint64 `json:"seq"`
	AtMs int64  `json:"at_ms"`
}
