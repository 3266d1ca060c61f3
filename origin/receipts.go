package origin

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin/purgehook"
	"github.com/shortstock/shortstock/origin/store"
)

// Receipts: when has a write landed on every edge? Every write answers
// X-Change-Id: KEY@VERSION (e.g. "l:abc1234@3"), naming the change record
// the write appended to its partition's log. The tailer, which reads every
// change to publish it, indexes KEY@VERSION -> (partition, seq). Edges
// report their per-partition watermarks (every change up to seq applied;
// wire.Applied), so "edge E applied change C" is "E's watermark of C's
// partition >= C's seq", whichever path (gossip, catch-up) brought it.
// GET /v1/changes/{id} answers per edge from those reports.
//
// Each edge reports to the first of its origins that answers; other
// regions' edges come from their origins (receipts_peers.go).

const (
	// HeaderChangeID is the response header of every write.
	HeaderChangeID = "X-Change-Id"
	// maxIndexed bounds the change index (~25 MB; 20 minutes at 200
	// writes/s); older changes are forgotten (their receipts look like
	// changes not read yet).
	maxIndexed = 1 << 18
	// advancesKept is how many watermark advances per edge and partition
	// are kept to tell when a change was applied.
	advancesKept = 8
	// edgeForgetAfter drops an edge that has not reported for this long.
	edgeForgetAfter = 10 * time.Minute
)

// changeID names the change a write of key made at version.
func changeID(key string, version uint64) string {
	return key + "@" + strconv.FormatUint(version, 10)
}

// setChangeID adds X-Change-Id to a write's answer.
func setChangeID(w http.ResponseWriter, kind keys.Kind, id string, version uint64) {
	if version > 0 {
		w.Header().Set(HeaderChangeID, changeID(keys.Key(kind, id), version))
	}
}

// parseChangeID splits and checks a change id.
func parseChangeID(id string) (key string, version uint64, ok bool) {
	i := strings.LastIndexByte(id, '@')
	if i < 0 {
		return "", 0, false
	}
	num := id[i+1:]
	v, err := strconv.ParseUint(num, 10, 64)
	if err != nil || v == 0 || num[0] == '0' {
		return "", 0, false
	}
	key = id[:i]
	k, kid, ok := keys.Split(key)
	if !ok || (k == keys.KindLink && !keys.ValidCode(kid)) || (k == keys.KindStock && !keys.ValidSKU(kid)) {
		return "", 0, false
	}
	return key, v, true
}

type indexed struct {
	partition int
	seq       uint64
	atMs      int64
}

type advance struct {
	seq uint64
	at  int64 // unix ns, when the origin received the report
}

type edgeReport struct {
	region, edge string
	last         []uint64 // per partition
	// advances[p] is a ring of the latest watermark moves of p, oldest
	// first once full.
	advances [][advancesKept]advance
	nextAdv  []uint8
	seen     int64 // unix ns of the last report
}

// receipts holds the change index and the edges' reports.
type receipts struct {
	space keys.Space
	mu    sync.Mutex
	index map[string]indexed
	order []string // FIFO of index keys, for eviction
	head  int
	edges map[string]*edgeReport // by region + "/" + edge
	// groups are purges: id -> the changes they logged (FIFO-bounded).
	groups     map[string][]indexed
	groupOrder []string
	// liveWindow: an edge silent for longer is down ("unknown").
	liveWindow time.Duration
	// last is the newest change the tailer read (GET /v1/topology).
	last *wire.ChangeRef
}

func newReceipts(sp keys.Space, liveWindow time.Duration) *receipts {
	return &receipts{space: sp, index: map[string]indexed{}, edges: map[string]*edgeReport{}, groups: map[string][]indexed{}, liveWindow: liveWindow}
}

// maxGroups bounds the purges remembered for receipts.
const maxGroups = 1 << 16

// group records the changes a purge logged under its id.
func (r *receipts) group(id string, cs []change.Change) {
	g := make([]indexed, len(cs))
	for i, c := range cs {
		g[i] = indexed{partition: c.Partition, seq: c.Seq, atMs: c.AtUnixMs}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.groupOrder) >= maxGroups {
		delete(r.groups, r.groupOrder[0])
		r.groupOrder = r.groupOrder[1:]
	}
	r.groups[id] = g
	r.groupOrder = append(r.groupOrder, id)
}

// isPurgeID reports whether id has the shape POST /v1/purge gives.
func isPurgeID(id string) bool {
	h, ok := strings.CutPrefix(id, "purge-")
	if !ok || len(h) != 16 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// indexChange records a change the tailer read. Purges are known by the
// id POST /v1/purge gave them (group), not by key and version.
func (r *receipts) indexChange(c change.Change) {
	id := "purge"
	if c.Purge == 0 {
		id = changeID(c.Key, c.Version)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = &wire.ChangeRef{ID: id, CommittedAt: time.UnixMilli(c.AtUnixMs).UTC()}
	if c.Purge != 0 {
		return
	}
	if _, dup := r.index[id]; dup {
		return
	}
	if len(r.order) < maxIndexed {
		r.order = append(r.order, id)
	} else {
		delete(r.index, r.order[r.head])
		r.order[r.head] = id
		r.head = (r.head + 1) % maxIndexed
	}
	r.index[id] = indexed{partition: c.Partition, seq: c.Seq, atMs: c.AtUnixMs}
}

// report takes an edge's watermarks, received at now.
func (r *receipts) report(a wire.Applied, now time.Time) {
	at := now.UnixNano()
	r.mu.Lock()
	defer r.mu.Unlock()
	k := a.Region + "/" + a.Edge
	e := r.edges[k]
	if e == nil {
		n := r.space.N()
		e = &edgeReport{region: a.Region, edge: a.Edge, last: make([]uint64, n), advances: make([][advancesKept]advance, n), nextAdv: make([]uint8, n)}
		r.edges[k] = e
	}
	e.seen = at
	for _, u := range a.Partitions {
		if !r.space.Valid(u.P) || u.Seq <= e.last[u.P] {
			continue
		}
		e.last[u.P] = u.Seq
		i := e.nextAdv[u.P]
		e.advances[u.P][i%advancesKept] = advance{seq: u.Seq, at: at}
		e.nextAdv[u.P] = (i + 1) % advancesKept
	}
	for k, o := range r.edges {
		if at-o.seen > int64(edgeForgetAfter) {
			delete(r.edges, k)
		}
	}
}

// appliedAt returns when e applied seq of partition p: the time of the
// earliest kept watermark move that reached it (an upper bound).
func (e *edgeReport) appliedAt(p int, seq uint64) int64 {
	best := int64(0)
	for _, a := range e.advances[p] {
		if a.at != 0 && a.seq >= seq && (best == 0 || a.at < best) {
			best = a.at
		}
	}
	return best
}

// Receipt is the answer of GET /v1/changes/{id}.
type Receipt struct {
	ID string `json:"id"`
	// Complete: every live edge has applied the change.
	Complete bool `json:"complete"`
	// Pending names the live edges that have not (region/edge).
	Pending []string `json:"pending"`
	// CommittedAt is when storage applied the write (null until this
	// origin has read it from the change log).
	CommittedAt *time.Time    `json:"committed_at"`
	Edges       []EdgeReceipt `json:"edges"`
}

// EdgeReceipt is one edge's part of a Receipt.
type EdgeReceipt struct {
	Region string `json:"region"`
	Edge   string `json:"edge"`
	// AppliedAt is when the edge had applied the change (as the origin
	// learnt it; null if not yet, or unknown).
	AppliedAt *time.Time `json:"applied_at"`
	// State is "applied", "pending" (live, not yet) or "unknown" (the
	// edge has not reported within the live window: down or cut off).
	State string `json:"state"`
}

// lookup returns the change-log places of change id (one for a write,
// one per key for a purge); false if this origin does not know it (not
// read from the log yet, never made, or forgotten).
func (r *receipts) lookup(id string) ([]indexed, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if g, ok := r.groups[id]; ok {
		return g, true
	}
	if c, ok := r.index[id]; ok {
		return []indexed{c}, true
	}
	return nil, false
}

// states is the receipt of the changes at parts (all of them) from this
// origin's edges; no parts is a change not known (not read from the log
// yet, never made, or forgotten: applied nowhere, no committed_at). A
// purge is applied by an edge once every change it logged is. known with
// no parts is a purge that logged nothing (tags no link carries): there
// was nothing to apply, so every edge has.
func (r *receipts) states(parts []indexed, known bool, now time.Time) Receipt {
	r.mu.Lock()
	defer r.mu.Unlock()
	known = known || len(parts) > 0
	rc := Receipt{Complete: known, Pending: []string{}, Edges: []EdgeReceipt{}}
	if len(parts) > 0 {
		var at int64
		for _, c := range parts {
			at = max(at, c.atMs)
		}
		if at > 0 {
			committed := time.UnixMilli(at).UTC()
			rc.CommittedAt = &committed
		}
	}
	for _, e := range r.edges {
		er := EdgeReceipt{Region: e.region, Edge: e.edge}
		applied, appliedAt := known, int64(0)
		for _, c := range parts {
			if e.last[c.partition] < c.seq {
				applied = false
				break
			}
			appliedAt = max(appliedAt, e.appliedAt(c.partition, c.seq))
		}
		live := now.UnixNano()-e.seen <= int64(r.liveWindow)
		switch {
		case applied:
			er.State = "applied"
			if appliedAt != 0 {
				t := time.Unix(0, appliedAt).UTC()
				er.AppliedAt = &t
			}
		case live:
			er.State = "pending"
			rc.Complete = false
			rc.Pending = append(rc.Pending, e.region+"/"+e.edge)
		default:
			er.State = "unknown"
		}
		rc.Edges = append(rc.Edges, er)
	}
	sortReceipt(&rc)
	return rc
}

func sortReceipt(rc *Receipt) {
	sort.Slice(rc.Edges, func(i, j int) bool {
		if rc.Edges[i].Region != rc.Edges[j].Region {
			return rc.Edges[i].Region < rc.Edges[j].Region
		}
		return rc.Edges[i].Edge < rc.Edges[j].Edge
	})
	sort.Strings(rc.Pending)
}

// internalApplied takes an edge's report.
func (s *Server) internalApplied(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, wire.MaxAppliedBytes)
	var a wire.Applied
	if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
		var mbe *http.MaxBytesError
		if asMaxBytes(err, &mbe) {
			s.writeError(w, r, &apiError{http.StatusRequestEntityTooLarge, "body_too_large", "report too large"})
			return
		}
		s.writeError(w, r, badRequest("invalid_json", "applied report is not valid JSON"))
		return
	}
	if a.Edge == "" || len(a.Edge) > 256 || len(a.Region) > 64 {
		s.writeError(w, r, badRequest("invalid_report", "edge name missing or too long"))
		return
	}
	s.receipts.report(a, s.cfg.Clock.Now())
	w.WriteHeader(http.StatusNoContent)
}

// getChange answers GET /v1/changes/{id}.
func (s *Server) getChange(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, _, ok := parseChangeID(id); !ok && !isPurgeID(id) {
		s.writeError(w, r, badRequest("invalid_change_id", "a change id is KEY@VERSION or purge-HEX, as X-Change-Id or POST /v1/purge gave it"))
		return
	}
	parts, ok := s.receipts.lookup(id)
	if !ok && isPurgeID(id) {
		parts, ok = s.resolveFromPeers(r.Context(), id)
	}
	rc := s.receipts.states(parts, ok, s.cfg.Clock.Now())
	rc.ID = id
	if ok {
		s.addPeers(r.Context(), &rc, parts)
	}
	writeJSON(w, http.StatusOK, rc)
}

// allApplied reports whether every live edge has applied every part (the
// purge hooks' gate: a CDN purged before the edges caught up would refetch
// the old answer from one of them).
func (r *receipts) allApplied(parts []purgehook.Part, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.edges {
		if now.UnixNano()-e.seen > int64(r.liveWindow) {
			continue
		}
		for _, p := range parts {
			if r.space.Valid(p.P) && e.last[p.P] < p.Seq {
				return false
			}
		}
	}
	return true
}

// hookChange hands a change the tailer read to the purge hooks: a write
// purges its key's surrogate key downstream, a purge passes through.
func (s *Server) hookChange(c change.Change) {
	if s.hooks == nil {
		return
	}
	e := purgehook.Event{Parts: []purgehook.Part{{P: c.Partition, Seq: c.Seq}}, Soft: c.Purge&change.PurgeSoft != 0, All: c.Purge&change.PurgeAll != 0}
	if !e.All {
		k, id, ok := keys.Split(c.Key)
		if !ok {
			return
		}
		if k == keys.KindLink {
			e.Keys = []string{"link:" + id}
		} else {
			e.Keys = []string{"sku:" + id}
		}
	}
	s.hooks.Enqueue(e)
}

// setStockChangeID names, for a reservation write (hold, commit, release),
// a change at least as new as it: the store does not return the SKU's new
// version from those, so it is read back (from the primary when reads may
// lag). A newer version from a concurrent write is as good: it is later in
// the same partition's log, so an edge that applied it applied ours. On a
// failed read the header is left out; the write stands.
func (s *Server) setStockChangeID(ctx context.Context, w http.ResponseWriter, sku string) {
	get := s.store.GetStock
	if pr, ok := s.store.(store.PrimaryReader); ok {
		get = pr.GetStockPrimary
	}
	if v, err := get(ctx, sku); err == nil {
		setChangeID(w, keys.KindStock, sku, v.Version)
	}
}
