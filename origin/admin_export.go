package origin

import (
	"encoding/json"
	"net/http"

	"github.com/shortstock/shortstock/origin/store"
)

// exportPage is how many links one store read of an export fetches.
const exportPage = 1000

// exportLinks is GET /v1/links:export?tag=: every live link (of the tag)
// as NDJSON, in code order, streamed page by page through the store's
// index: memory stays one page however many links there are. The status
// is sent with the first page; a storage failure after it ends the
// stream early (logged), so a client checks that the export ended with
// the line count it expected, or re-runs it.
func (s *Server) exportLinks(w http.ResponseWriter, r *http.Request) {
	tag := r.URL.Query().Get("tag")
	if tag != "" && !store.ValidTag(tag) {
		s.writeError(w, r, badRequest("invalid_tags", "tag must match [A-Za-z0-9_-]{1,32}"))
		return
	}
	lister, ok := s.store.(store.LinkLister)
	if !ok {
		s.writeError(w, r, &apiError{http.StatusNotImplemented, "not_implemented", "this storage backend cannot list links"})
		return
	}
	ctx := r.Context()
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	after, started, n := "", false, 0
	for {
		page, err := lister.ListLinks(ctx, store.LinkQuery{Tag: tag, After: after, Limit: exportPage})
		if err != nil {
			if !started {
				s.writeError(w, r, err)
				return
			}
			s.log.Error("origin: export ended early", "links", n, "err", err)
			return
		}
		if !started {
			h := w.Header()
			h.Set("Content-Type", "application/x-ndjson")
			h.Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		for _, l := range page.Links {
			if err := enc.Encode(s.viewOf(l)); err != nil {
				return // the client went away
			}
			after = l.Code
			n++
		}
		if flusher != nil {
			flusher.Flush()
		}
		if !page.More || len(page.Links) == 0 {
			return
		}
	}
}
