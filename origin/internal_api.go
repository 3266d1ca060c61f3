package origin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin/store"
)

// maxChangesPage bounds one page of the change log an edge may ask for.
const maxChangesPage = 10000

func setCacheHeaders(w http.ResponseWriter, version uint64, ttl time.Duration) {
	h := w.Header()
	h.Set(wire.HeaderVersion, strconv.FormatUint(version, 10))
	h.Set(wire.HeaderTTL, strconv.FormatInt(ttl.Milliseconds(), 10))
}

// minVersion reads the optional ?min_version= of a fetch: the version the
// edge already knows of (from an invalidation). A read that comes back
// older is repeated on the primary (see PrimaryReader).
func (s *Server) minVersion(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	q := r.URL.Query().Get(wire.QueryMinVersion)
	if q == "" {
		return 0, true
	}
	v, err := strconv.ParseUint(q, 10, 64)
	if err != nil {
		s.writeError(w, r, badRequest("invalid_min_version", "min_version must be an unsigned integer"))
		return 0, false
	}
	return v, true
}

func (s *Server) internalLink(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	if !keys.ValidCode(code) {
		s.writeError(w, r, badRequest("invalid_code", "malformed code"))
		return
	}
	minVersion, ok := s.minVersion(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	l, err := s.fetchLink(ctx, code, minVersion)
	a, err := s.linkAnswer(l, err, s.cfg.Clock.Now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setCacheHeaders(w, a.version, a.ttl)
	writeJSON(w, a.status, a.body)
}

// fetchAnswer is what a fetch endpoint answers an edge: the status, the
// X-Version and X-TTL-Ms headers and the JSON body. The endpoints and
// the pushed values (pushvalues.go) render it with the same functions.
type fetchAnswer struct {
	status  int
	version uint64
	ttl     time.Duration
	body    any
}

// linkAnswer renders the answer to a link read (l, err) at now; an error
// that is not a 404 is returned for the caller to report.
func (s *Server) linkAnswer(l store.Link, err error, now time.Time) (fetchAnswer, error) {
	if errors.Is(err, store.ErrNotFound) || err == nil && l.Expired(now) {
		return fetchAnswer{http.StatusNotFound, l.Version, s.cfg.NegativeCacheTTL, wire.Missing{Error: "not_found", Version: l.Version}}, nil
	}
	if err == nil && l.ValidSince != nil && now.Before(*l.ValidSince) {
		// Not valid yet: a 404 like a missing link, which the edge may
		// keep until valid_since and not a moment longer.
		since := *l.ValidSince
		return fetchAnswer{http.StatusNotFound, l.Version, min(s.cfg.NegativeCacheTTL, since.Sub(now)),
			wire.Missing{Error: "not_found", Version: l.Version, ValidSince: &since}}, nil
	}
	if err != nil {
		return fetchAnswer{}, err
	}
	ttl := s.cfg.LinkCacheTTL
	if l.ExpiresAt != nil {
		// Never let an edge serve a link past its expiry.
		ttl = min(ttl, l.ExpiresAt.Sub(now))
	}
	rec := wire.LinkRecord{Code: l.Code, URL: l.URL, Redirect: l.Redirect, ExpiresAt: l.ExpiresAt, Version: l.Version,
		MaxVisits: l.MaxVisits, ForwardQuery: l.ForwardQuery, Tags: l.Tags}
	if l.Targets != nil {
		rec.IOS, rec.Android = l.Targets.IOS, l.Targets.Android
	}
	return fetchAnswer{http.StatusOK, l.Version, ttl, rec}, nil
}

func (s *Server) internalStock(w http.ResponseWriter, r *http.Request) {
	sku := r.PathValue("sku")
	if !keys.ValidSKU(sku) {
		s.writeError(w, r, badRequest("invalid_sku", "malformed sku"))
		return
	}
	minVersion, ok := s.minVersion(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	v, err := s.fetchStock(ctx, sku, minVersion)
	a, err := s.stockAnswer(v, err)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setCacheHeaders(w, a.version, a.ttl)
	writeJSON(w, a.status, a.body)
}

// stockAnswer is linkAnswer for stock views.
func (s *Server) stockAnswer(v store.StockView, err error) (fetchAnswer, error) {
	if errors.Is(err, store.ErrNotFound) {
		return fetchAnswer{http.StatusNotFound, v.Version, s.cfg.NegativeCacheTTL, wire.Missing{Error: "not_found", Version: v.Version}}, nil
	}
	if err != nil {
		return fetchAnswer{}, err
	}
	return fetchAnswer{http.StatusOK, v.Version, s.cfg.StockCacheTTL, v}, nil
}

func (s *Server) internalClicks(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, wire.MaxClickBatchBytes)
	var batch wire.ClickBatch
	if err := json.NewDecoder(r.Body).Decode(&batch); err != nil {
		var mbe *http.MaxBytesError
		if asMaxBytes(err, &mbe) {
			s.writeError(w, r, &apiError{http.StatusRequestEntityTooLarge, "body_too_large", "click batch too large"})
			return
		}
		s.writeError(w, r, badRequest("invalid_json", "click batch is not valid JSON"))
		return
	}
	counts := make(map[string]int64, len(batch.Counts))
	var total int64
	for code, n := range batch.Counts {
		// Drop what cannot be a click count rather than fail the batch: one
		// bad entry must not lose every other edge count.
		if keys.ValidCode(code) && n > 0 && n <= MaxQuantity {
			counts[code] = n
			total += n
		}
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	s.promoteClicked(ctx, counts)
	if done, err := s.applyClickBatch(ctx, &batch, counts); done {
		// Analytics (analytics_ingest.go): the batch is applied once per ID.
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	} else if len(counts) > 0 {
		if err := s.store.AddClicks(ctx, counts); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	s.metrics.clicksRecorded.Add(float64(total))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) internalChanges(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := strconv.Atoi(q.Get("partition"))
	if err != nil || !s.space.Valid(p) {
		s.writeError(w, r, badRequest("invalid_partition", "partition must be 0.."+strconv.Itoa(s.space.N()-1)))
		return
	}
	after, err := strconv.ParseUint(q.Get("after"), 10, 64)
	if err != nil {
		s.writeError(w, r, badRequest("invalid_after", "after must be a seq number"))
		return
	}
	limit := 1000
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > maxChangesPage {
			s.writeError(w, r, badRequest("invalid_limit", "limit must be 1.."+strconv.Itoa(maxChangesPage)))
			return
		}
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	page, err := s.store.Changes(ctx, p, after, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) internalHeads(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.opContext(r)
	defer cancel()
	heads, err := s.store.Heads(ctx)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.Heads{Heads: heads, Partitions: s.space.N()})
}
