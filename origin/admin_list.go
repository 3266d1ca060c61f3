package origin

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// Listing: GET /v1/links?tag=&q=&cursor=&limit=. Pages are in code order
// through the store's index (store.LinkLister), and the cursor is the
// last code the page examined, so a link that exists for the whole
// listing is on exactly one page whatever is written meanwhile.

const (
	defaultListLimit = 50
	// listScanBudget bounds how many links one page examines for q; a
	// page may then hold fewer than limit links and still have a next.
	listScanBudget = 5000
	cursorPrefix   = "c1."
)

// encodeCursor makes the opaque cursor of a position (a code).
func encodeCursor(code string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + code))
}

// decodeCursor reads a cursor; ok is false for anything encodeCursor
// did not make.
func decodeCursor(c string) (string, bool) {
	if len(c) > 200 {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", false
	}
	code, found := strings.CutPrefix(string(b), cursorPrefix)
	if !found || !keys.ValidCode(code) {
		return "", false
	}
	return code, true
}

// linkListView is the body of GET /v1/links.
type linkListView struct {
	Links []linkView `json:"links"`
	Next  *string    `json:"next"`
}

// listQuery is a validated listing request.
type listQuery struct {
	tag, q, after string
	limit         int
}

func parseListQuery(r *http.Request) (listQuery, *apiError) {
	v := r.URL.Query()
	lq := listQuery{tag: v.Get("tag"), q: v.Get("q"), limit: defaultListLimit}
	if lq.tag != "" && !store.ValidTag(lq.tag) {
		return lq, badRequest("invalid_tags", "tag must match [A-Za-z0-9_-]{1,32}")
	}
	if len(lq.q) > 256 {
		return lq, badRequest("invalid_query", "q is longer than 256 bytes")
	}
	if c := v.Get("cursor"); c != "" {
		code, ok := decodeCursor(c)
		if !ok {
			return lq, badRequest("invalid_cursor", "cursor is not one this API returned")
		}
		lq.after = code
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > store.MaxListLimit {
			return lq, badRequest("invalid_limit", "limit must be 1.."+strconv.Itoa(store.MaxListLimit))
		}
		lq.limit = n
	}
	return lq, nil
}

// matches is the q filter: a case-insensitive substring of the code, the
// URL or the title.
func matches(l *store.Link, q string) bool {
	if q == "" {
		return true
	}
	q = strings.ToLower(q)
	return strings.Contains(strings.ToLower(l.Code), q) || strings.Contains(strings.ToLower(l.URL), q) ||
		strings.Contains(strings.ToLower(l.Title), q)
}

func (s *Server) listLinks(w http.ResponseWriter, r *http.Request) {
	lq, ae := parseListQuery(r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	lister, ok := s.store.(store.LinkLister)
	if !ok {
		s.writeError(w, r, &apiError{http.StatusNotImplemented, "not_implemented", "this storage backend cannot list links"})
		return
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	out := linkListView{Links: []linkView{}}
	after, scanned, more := lq.after, 0, true
	for more && len(out.Links) < lq.limit && scanned < listScanBudget {
		page, err := lister.ListLinks(ctx, store.LinkQuery{Tag: lq.tag, After: after, Limit: lq.limit})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		more = page.More
		for i := range page.Links {
			l := &page.Links[i]
			after = l.Code
			scanned++
			if matches(l, lq.q) {
				out.Links = append(out.Links, s.viewOf(*l))
				if len(out.Links) == lq.limit {
					// Stopped inside the page: what follows it is unseen.
					more = more || i < len(page.Links)-1
					break
				}
			}
		}
	}
	if more && after != lq.after {
		next := encodeCursor(after)
		out.Next = &next
	}
	writeJSON(w, http.StatusOK, out)
}
