package origin

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// POST /v1/purge: drop (hard) or mark stale (soft) cached answers at every
// edge, by surrogate key ("link:CODE", "sku:SKU") or all of them. Each key
// becomes a purge record in its partition's change log (store.Purger), so
// a purge travels exactly like a write: gossip to the region's edges,
// catch-up from the log for an edge that missed it, replication to other
// regions; and its receipt (GET /v1/changes/{id}) comes from the same
// watermarks. It answers 202 with the purge's change id.
//
// A purge by surrogate tag ("tags":["T"]) is expanded here, at the origin,
// into the link keys of the links carrying T, read through the tag index
// (store.LinkLister): the edges then purge keys as they always do, with
// no tag bookkeeping in their caches and no change to the hit path. The
// expansion is bounded: all keys of one purge, given and expanded, are at
// most maxPurgeKeys, and a purge whose tags reach more answers 400
// too_many_links before anything is logged. The purge hooks get the tags
// themselves too ("tag:T" surrogate keys), so a CDN in front purges them
// in one go (see tagpurge.go).

// maxPurgeKeys bounds one purge request, keys given plus keys expanded
// from tags.
const maxPurgeKeys = 1000

// maxPurgeTags bounds the tags of one purge request.
const maxPurgeTags = 16

type purgeRequest struct {
	Keys []string `json:"keys"`
	Tags []string `json:"tags"`
	All  bool     `json:"all"`
	Soft bool     `json:"soft"`
}

// purgeKey maps a surrogate key to a canonical key.
func purgeKey(sk string) (string, bool) {
	switch {
	case strings.HasPrefix(sk, "link:"):
		code := sk[len("link:"):]
		return keys.Key(keys.KindLink, code), keys.ValidCode(code)
	case strings.HasPrefix(sk, "sku:"):
		sku := sk[len("sku:"):]
		return keys.Key(keys.KindStock, sku), keys.ValidSKU(sku)
	}
	return "", false
}

// decodePurge checks a purge request and returns the canonical keys to
// purge (change.PurgeAllKey alone for all), the tags to expand (checked,
// without duplicates) and the purge kind.
func decodePurge(body []byte) ([]string, []string, change.Purge, *apiError) {
	var req purgeRequest
	if ae := decodeStrict(body, &req); ae != nil {
		return nil, nil, 0, ae
	}
	kind := change.PurgeHard
	if req.Soft {
		kind = change.PurgeSoft
	}
	switch {
	case req.All && (len(req.Keys) > 0 || len(req.Tags) > 0):
		return nil, nil, 0, badRequest("invalid_purge", "give keys and/or tags, or all, not both")
	case req.All:
		return []string{change.PurgeAllKey}, nil, kind | change.PurgeAll, nil
	case len(req.Keys) == 0 && len(req.Tags) == 0:
		return nil, nil, 0, badRequest("invalid_purge", `give "keys" (link:CODE, sku:SKU), "tags" or "all": true`)
	case len(req.Keys) > maxPurgeKeys:
		return nil, nil, 0, badRequest("invalid_purge", "at most 1000 keys per purge")
	case len(req.Tags) > maxPurgeTags:
		return nil, nil, 0, badRequest("invalid_purge", "at most 16 tags per purge")
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(req.Keys))
	for _, sk := range req.Keys {
		k, ok := purgeKey(sk)
		if !ok {
			return nil, nil, 0, badRequest("invalid_key", "a purge key is link:CODE or sku:SKU, got "+quoteShort(sk))
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	tags := make([]string, 0, len(req.Tags))
	for _, t := range req.Tags {
		if !store.ValidTag(t) {
			return nil, nil, 0, badRequest("invalid_tag", "a tag matches [A-Za-z0-9_-]{1,32}, got "+quoteShort(t))
		}
		if !seen["tag:"+t] {
			seen["tag:"+t] = true
			tags = append(tags, t)
		}
	}
	return out, tags, kind, nil
}

func (s *Server) purge(w http.ResponseWriter, r *http.Request) {
	pg, ok := s.store.(store.Purger)
	if !ok {
		s.writeError(w, r, &apiError{http.StatusNotImplemented, "not_implemented", "this storage backend cannot log purges"})
		return
	}
	body, ae := s.readBody(w, r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	keyList, tags, kind, ae := decodePurge(body)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	if len(tags) > 0 {
		var err error
		if keyList, err = s.expandTags(ctx, keyList, tags); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	logged := make([]change.Change, 0, len(keyList))
	for _, k := range keyList {
		c, err := pg.AppendPurge(ctx, k, kind)
		if err != nil {
			// The ones logged already stand (a purge is idempotent in
			// effect); the client retries the whole request.
			s.writeError(w, r, err)
			return
		}
		logged = append(logged, c)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := "purge-" + hex.EncodeToString(b[:])
	s.receipts.group(id, logged)
	s.hookTags(tags, kind, logged)
	s.metrics.purges.WithLabelValues(purgeLabel(kind)).Inc()
	w.Header().Set(HeaderChangeID, id)
	writeJSON(w, http.StatusAccepted, map[string]string{"change_id": id})
}

func purgeLabel(p change.Purge) string {
	switch {
	case p&change.PurgeAll != 0 && p&change.PurgeSoft != 0:
		return "all_soft"
	case p&change.PurgeAll != 0:
		return "all_hard"
	case p&change.PurgeSoft != 0:
		return "soft"
	}
	return "hard"
}
