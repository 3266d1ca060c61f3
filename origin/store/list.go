package store

import "context"

// LinkQuery asks for a page of live links in code order.
type LinkQuery struct {
	// Tag, when set, lists only links with that tag.
	Tag string
	// After lists codes strictly after it ("" = from the first).
	After string
	// Limit is the most links to return (1..MaxListLimit).
	Limit int
}

// MaxListLimit bounds LinkQuery.Limit.
const MaxListLimit = 1000

// LinkPage is a page of links in code order.
type LinkPage struct {
	Links []Link
	// More is true when codes after the page's last may exist; the next
	// page is After = the last link's code.
	More bool
}

// LinkLister lists links through an index ordered by code (per partition,
// and per partition and tag), never by scanning the keyspace. Paging by
// code is stable under concurrent writes: a link that exists for the
// whole listing is on exactly one page, since its place in the order
// never moves; links created or deleted meanwhile may or may not appear.
// Both backends implement it (and pass origin/storetest).
type LinkLister interface {
	ListLinks(ctx context.Context, q LinkQuery) (LinkPage, error)
}
