package wire

// Click analytics ride on ClickBatch:
//
//   - Batch is the batch ID, unique per edge process and flush
//     ("<edge instance>-<seq>"). An edge resends a batch the origin did not
//     acknowledge byte for byte under the same ID, and the origin applies
//     an ID once, so a retried batch is counted once.
//   - Counts are then human clicks (bots left out), for the link's
//     counter; Hours carry the hourly series increments of the codes the
//     edge classified. A code in Counts without Hours (an edge without
//     analytics, or clicks it could not classify) is recorded as that many
//     unclassified clicks in the hour of At.
//
// A batch without Batch is applied as before (at least once, counts only).

// ClickHour is one link's clicks in one hour, as an edge classified them.
type ClickHour struct {
	Code string `json:"code"`
	// Hour is the hour's start, unix seconds (UTC).
	Hour   int64 `json:"hour"`
	Clicks int64 `json:"clicks"`
	Bots   int64 `json:"bots,omitempty"`
	// Sampled is how many of Clicks+Bots were classified one by one; the
	// rest were estimated from those when the classifier fell behind.
	Sampled   int64            `json:"sampled"`
	Referrers map[string]int64 `json:"referrers,omitempty"`
	Devices   map[string]int64 `json:"devices,omitempty"`
	Browsers  map[string]int64 `json:"browsers,omitempty"`
	Countries map[string]int64 `json:"countries,omitempty"`
}

// Analytics limits the origin enforces on a batch (an edge stays within).
const (
	// MaxBreakdownKeys bounds one hour's keys per breakdown; an edge folds
	// the rest into "other".
	MaxBreakdownKeys = 64
	// MaxDimensionLen bounds a referrer host, browser or country name.
	MaxDimensionLen = 100
)
