package wire

// PathVisits is where an edge leases a share of a link's remaining visits
// (max_visits) and returns its previous share:
//
//	POST /internal/v1/visits/{code}   VisitLeaseRequest -> 200 VisitLease | 404 Missing
//
// A request is idempotent: repeating it (same ids) after a lost answer
// gets the same lease, so an edge retries with the very same body.
const PathVisits = "/internal/v1/visits/"

// VisitLeaseRequest returns lease ReturnID (Used of it were used) and
// asks for lease ID of up to Want visits. Either may be empty.
type VisitLeaseRequest struct {
	Edge     string `json:"edge,omitempty"`
	ReturnID string `json:"return_id,omitempty"`
	Used     int64  `json:"used,omitempty"`
	ID       string `json:"id,omitempty"`
	Want     int64  `json:"want,omitempty"`
}

// VisitLease is the origin's answer: Granted visits under the request's
// ID, usable for TTLMs from when the request was sent (the edge stops a
// little earlier). Unlimited: the link has no max_visits any more.
type VisitLease struct {
	Unlimited bool  `json:"unlimited,omitempty"`
	Granted   int64 `json:"granted"`
	TTLMs     int64 `json:"ttl_ms"`
	Available int64 `json:"available"`
}

// MaxVisitLeaseBytes caps a VisitLeaseRequest body.
const MaxVisitLeaseBytes = 4 << 10
