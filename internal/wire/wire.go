// Package wire is the origin's internal API for edges: its paths, JSON shapes
// and the cluster token that authenticates it. Both sides import this leaf so
// they cannot drift apart, and neither imports the other.
//
// Endpoints (all need "Authorization: Bearer <cluster token>"):
//
//	GET  /internal/v1/links/{code}  200 LinkRecord | 404 Missing
//	GET  /internal/v1/stock/{sku}   200 stock view JSON (as the admin API) | 404 Missing
//	                                (X-Version and X-TTL-Ms headers on both;
//	                                ?min_version=V: read the primary if the
//	                                replica read is older than V)
//	POST /internal/v1/clicks        ClickBatch -> 204
//	POST /internal/v1/visits/{code} VisitLeaseRequest -> VisitLease (max_visits shares)
//	GET  /internal/v1/changes?partition=P&after=S&limit=N   change.Page
//	GET  /internal/v1/heads         Heads
//	POST /internal/v1/applied       Applied -> 204 (change receipts)
package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// Paths of the internal API.
const (
	PathLinks   = "/internal/v1/links/"
	PathStock   = "/internal/v1/stock/"
	PathClicks  = "/internal/v1/clicks"
	PathChanges = "/internal/v1/changes"
	PathHeads   = "/internal/v1/heads"
)

// QueryMinVersion is the fetch endpoints' optional query parameter: the
// newest version of the key the edge has seen (from an invalidation).
const QueryMinVersion = "min_version"

// Response headers of the fetch endpoints.
const (
	// HeaderVersion carries the key's version, also on a 404.
	HeaderVersion = "X-Version"
	// HeaderTTL is how long (ms) an edge may cache the answer before it
	// must revalidate; for links it never runs past expires_at.
	HeaderTTL = "X-TTL-Ms"
)

// LinkRecord is what an edge needs to answer a redirect.
type LinkRecord struct {
	Code      string     `json:"code"`
	URL       string     `json:"url"`
	Redirect  int        `json:"redirect"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Version   uint64     `json:"version"`
	// MaxVisits is the link's visit limit, if it has one (origins that
	// know visit limits send it; the edge then bounds how long the
	// redirect may be cached downstream).
	MaxVisits *int64 `json:"max_visits,omitempty"`
	// ForwardQuery: the edge appends the request's query string to the
	// target (and to a device target).
	ForwardQuery bool `json:"forward_query,omitempty"`
	// IOS and Android are device targets the edge picks by User-Agent.
	IOS     string `json:"ios,omitempty"`
	Android string `json:"android,omitempty"`
	// Tags are the link's tags: the edge names them in its Surrogate-Key
	// ("tag:T"), so a CDN in front can purge by tag.
	Tags []string `json:"tags,omitempty"`
}

// Missing is the body of a 404 from the fetch endpoints: the key's version
// (0 if it never existed, else its tombstone's) so an edge can cache the
// 404 and still have a later create supersede it.
type Missing struct {
	Error   string `json:"error"`
	Version uint64 `json:"version"`
	// ValidSince is set for a link that exists but does not redirect yet:
	// the edge must not serve its 404 past that instant.
	ValidSince *time.Time `json:"valid_since,omitempty"`
}

// ClickBatch carries click counts an edge gathered since its last flush.
type ClickBatch struct {
	Edge   string           `json:"edge,omitempty"`
	Counts map[string]int64 `json:"counts"`
	// Batch and Hours: see analytics.go.
	Batch string      `json:"batch,omitempty"`
	At    int64       `json:"at,omitempty"` // unix seconds of the flush
	Hours []ClickHour `json:"hours,omitempty"`
}

// MaxClickBatchBytes caps a click batch body.
const MaxClickBatchBytes = 4 << 20

// Heads is the newest change seq of every partition.
type Heads struct {
	Heads []uint64 `json:"heads"`
	// Partitions is the store's partition count (len(Heads)); an edge
	// configured for another count refuses the origin.
	Partitions int `json:"partitions"`
}

// ClusterToken derives the internal API token from a shared secret (an
// explicit --cluster-secret, or the gossip key), so edges and origins of a
// deployment agree without another secret to distribute. HMAC keeps the
// secret itself off the wire.
func ClusterToken(secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("shortstock internal api v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
