package origin

import (
	"context"
	"net/http"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/purgehook"
	"github.com/shortstock/shortstock/origin/store"
)

// expandTags adds to keyList the link keys of every live link carrying one
// of tags, read page by page through the tag index. It fails with
// too_many_links, before anything is logged, when the purge would reach
// more than maxPurgeKeys keys: a purge is one request's worth of log
// records, and a tag that big is better purged with "all".
func (s *Server) expandTags(ctx context.Context, keyList, tags []string) ([]string, error) {
	lister, ok := s.store.(store.LinkLister)
	if !ok {
		return nil, &apiError{http.StatusNotImplemented, "not_implemented", "this storage backend cannot list links by tag"}
	}
	seen := make(map[string]bool, len(keyList))
	for _, k := range keyList {
		seen[k] = true
	}
	for _, tag := range tags {
		after := ""
		for {
			page, err := lister.ListLinks(ctx, store.LinkQuery{Tag: tag, After: after, Limit: store.MaxListLimit})
			if err != nil {
				return nil, err
			}
			for _, l := range page.Links {
				k := keys.Key(keys.KindLink, l.Code)
				if seen[k] {
					continue
				}
				if len(keyList) == maxPurgeKeys {
					return nil, &apiError{http.StatusBadRequest, "too_many_links", "the purge reaches more than 1000 links; purge fewer tags at once, or everything with \"all\": true"}
				}
				seen[k] = true
				keyList = append(keyList, k)
			}
			if !page.More || len(page.Links) == 0 {
				break
			}
			after = page.Links[len(page.Links)-1].Code
		}
	}
	return keyList, nil
}

// hookTags hands a tag purge to the purge hooks as "tag:T" surrogate keys,
// gated on every change of the purge: a CDN keyed by the edges'
// Surrogate-Key (which names the link's tags) then drops the tagged
// answers in one purge per tag, including ones the origin did not list
// (a link untagged since is purged through its own write). The link
// keys' own records still reach the hooks through the tailer, as every
// change does; a purge done twice is harmless.
func (s *Server) hookTags(tags []string, kind change.Purge, logged []change.Change) {
	if s.hooks == nil || len(tags) == 0 {
		return
	}
	e := purgehook.Event{Soft: kind&change.PurgeSoft != 0, Parts: make([]purgehook.Part, 0, len(logged))}
	for _, c := range logged {
		e.Parts = append(e.Parts, purgehook.Part{P: c.Partition, Seq: c.Seq})
	}
	for _, t := range tags {
		e.Keys = append(e.Keys, "tag:"+t)
	}
	s.hooks.Enqueue(e)
}
