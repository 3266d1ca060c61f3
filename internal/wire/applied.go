package wire

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
