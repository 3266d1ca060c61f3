package embedded

import (
	"slices"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// A live link record with any extra (store.LinkExtras, or visit-limit
// bookkeeping) has linkHasExt set and, after its clicks, an extension:
// a bitset of the fields present, then each present field in bit order.
// Records written before the extras existed have no extension and read
// back as plain links.
const (
	extTitle = 1 << iota
	extTags
	extMaxVisits
	extValidSince
	extForwardQuery
	extIOS
	extAndroid
	extVisits
	extAll = extVisits<<1 - 1
)

// maxLeases bounds the open visit leases of one link (one per edge that
// redirects it at a time): a lease request past it is granted nothing.
const maxLeases = 1024

// leaseRec is one edge's open share of a link's visits.
type leaseRec struct {
	id      string
	n       int64
	expires time.Time
}

// visitsRec is the visit-limit bookkeeping of a link: visits settled as
// used and the shares leased to edges and not yet settled.
type visitsRec struct {
	used   int64
	leases []leaseRec
}

func (v *visitsRec) empty() bool { return v.used == 0 && len(v.leases) == 0 }

func extBits(x *store.LinkExtras, v *visitsRec) uint64 {
	var b uint64
	if x.Title != "" {
		b |= extTitle
	}
	if len(x.Tags) > 0 {
		b |= extTags
	}
	if x.MaxVisits != nil {
		b |= extMaxVisits
	}
	if x.ValidSince != nil {
		b |= extValidSince
	}
	if x.ForwardQuery {
		b |= extForwardQuery
	}
	if x.Targets != nil && x.Targets.IOS != "" {
		b |= extIOS
	}
	if x.Targets != nil && x.Targets.Android != "" {
		b |= extAndroid
	}
	if !v.empty() {
		b |= extVisits
	}
	return b
}

func (e *enc) linkExt(bits uint64, x *store.LinkExtras, v *visitsRec) {
	e.uvarint(bits)
	if bits&extTitle != 0 {
		e.str(x.Title)
	}
	if bits&extTags != 0 {
		e.uvarint(uint64(len(x.Tags)))
		for _, t := range x.Tags {
			e.str(t)
		}
	}
	if bits&extMaxVisits != 0 {
		e.uvarint(uint64(*x.MaxVisits))
	}
	if bits&extValidSince != 0 {
		e.time(*x.ValidSince)
	}
	if bits&extIOS != 0 {
		e.str(x.Targets.IOS)
	}
	if bits&extAndroid != 0 {
		e.str(x.Targets.Android)
	}
	if bits&extVisits != 0 {
		e.uvarint(uint64(v.used))
		e.uvarint(uint64(len(v.leases)))
		for _, l := range v.leases {
			e.str(l.id)
			e.uvarint(uint64(l.n))
			e.time(l.expires)
		}
	}
}

// linkExt reads an extension; it refuses what linkExt would not write
// (unknown bits, an empty extension, unsorted tags), so that decoding and
// encoding again gives the same bytes.
func (d *dec) linkExt(x *store.LinkExtras, v *visitsRec) {
	bits := d.uvarint("link ext")
	if bits == 0 || bits&^extAll != 0 {
		d.fail("link ext bits")
		return
	}
	if bits&extTitle != 0 {
		x.Title = d.str("link title", store.MaxTitleLen)
		if ok, _ := store.ValidTitle(x.Title); !ok || x.Title == "" {
			d.fail("link title")
		}
	}
	if bits&extTags != 0 {
		n := d.uvarint("link tags")
		if n == 0 || n > store.MaxTags {
			d.fail("link tags")
			return
		}
		for i := uint64(0); i < n && d.err == nil; i++ {
			t := d.str("link tag", store.MaxTagLen)
			if !store.ValidTag(t) || len(x.Tags) > 0 && x.Tags[len(x.Tags)-1] >= t {
				d.fail("link tag")
			}
			x.Tags = append(x.Tags, t)
		}
	}
	if bits&extMaxVisits != 0 {
		m := d.count("link max_visits")
		if m <= 0 || m > store.MaxVisitsLimit {
			d.fail("link max_visits")
		}
		x.MaxVisits = &m
	}
	if bits&extValidSince != 0 {
		t := d.time("link valid_since")
		x.ValidSince = &t
	}
	if bits&extForwardQuery != 0 {
		x.ForwardQuery = true
	}
	if bits&(extIOS|extAndroid) != 0 {
		x.Targets = &store.Targets{}
		if bits&extIOS != 0 {
			x.Targets.IOS = d.str("link ios", store.MaxURLLen)
			if x.Targets.IOS == "" {
				d.fail("link ios")
			}
		}
		if bits&extAndroid != 0 {
			x.Targets.Android = d.str("link android", store.MaxURLLen)
			if x.Targets.Android == "" {
				d.fail("link android")
			}
		}
	}
	if bits&extVisits != 0 {
		v.used = d.count("link visits used")
		n := d.uvarint("link leases")
		if n > maxLeases {
			d.fail("link leases")
			return
		}
		for i := uint64(0); i < n && d.err == nil; i++ {
			l := leaseRec{id: d.str("lease id", 64), n: d.count("lease n"), expires: d.time("lease expires")}
			if l.id == "" || l.n <= 0 || slices.ContainsFunc(v.leases, func(o leaseRec) bool { return o.id == l.id }) {
				d.fail("lease")
			}
			v.leases = append(v.leases, l)
		}
		if v.empty() {
			d.fail("link visits")
		}
	}
}

// cloneExtras copies x so that a returned Link shares nothing with a
// record.
func cloneExtras(x store.LinkExtras) store.LinkExtras {
	x.Tags = slices.Clone(x.Tags)
	if x.MaxVisits != nil {
		m := *x.MaxVisits
		x.MaxVisits = &m
	}
	if x.ValidSince != nil {
		t := *x.ValidSince
		x.ValidSince = &t
	}
	if x.Targets != nil {
		t := *x.Targets
		x.Targets = &t
	}
	return x
}
