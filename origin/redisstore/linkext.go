package redisstore

import (
	"strconv"
	"strings"

	"github.com/shortstock/shortstock/origin/store"
)

// A link's extras live in its hash next to the plain fields:
//
//	tg   tags, sorted, comma-joined      ti   title
//	mv   max_visits                      vs   valid_since (encodeTime)
//	fq   "1" when forward_query          ios, and   device targets
//
// A field that is unset is absent, so links stored before the extras
// existed read back as plain links.

// normExtras is x as the store keeps it: tags sorted and unique, times
// as they read back.
func normExtras(x store.LinkExtras) store.LinkExtras {
	x.Tags = store.NormTags(x.Tags)
	if x.ValidSince != nil {
		t := normTime(*x.ValidSince)
		x.ValidSince = &t
	}
	if x.MaxVisits != nil {
		m := *x.MaxVisits
		x.MaxVisits = &m
	}
	if x.Targets.Empty() {
		x.Targets = nil
	} else {
		t := *x.Targets
		x.Targets = &t
	}
	return x
}

// appendExtraFields appends the field/value pairs of the extras x sets
// (tags go apart: they are indexed).
func appendExtraFields(args []any, x store.LinkExtras) []any {
	if x.Title != "" {
		args = append(args, "ti", x.Title)
	}
	if x.MaxVisits != nil {
		args = append(args, "mv", strconv.FormatInt(*x.MaxVisits, 10))
	}
	if x.ValidSince != nil {
		args = append(args, "vs", encodeTime(*x.ValidSince))
	}
	if x.ForwardQuery {
		args = append(args, "fq", "1")
	}
	if x.Targets != nil {
		if x.Targets.IOS != "" {
			args = append(args, "ios", x.Targets.IOS)
		}
		if x.Targets.Android != "" {
			args = append(args, "and", x.Targets.Android)
		}
	}
	return args
}

// appendPatchFields appends the field/value pairs a patch sets; an empty
// value removes the field. px is the patch applied to zero extras.
func appendPatchFields(args []any, lp store.LinkPatch, px store.LinkExtras) []any {
	if lp.Title != nil {
		args = append(args, "ti", px.Title)
	}
	switch {
	case lp.ClearMaxVisits:
		args = append(args, "mv", "")
	case lp.MaxVisits != nil:
		args = append(args, "mv", strconv.FormatInt(*lp.MaxVisits, 10))
	}
	switch {
	case lp.ClearValidSince:
		args = append(args, "vs", "")
	case lp.ValidSince != nil:
		args = append(args, "vs", encodeTime(*lp.ValidSince))
	}
	if lp.ForwardQuery != nil {
		fq := ""
		if *lp.ForwardQuery {
			fq = "1"
		}
		args = append(args, "fq", fq)
	}
	if lp.Targets != nil {
		args = append(args, "ios", lp.Targets.IOS, "and", lp.Targets.Android)
	}
	return args
}

// extrasFromHash reads the extras of a link hash.
func extrasFromHash(h map[string]string) (store.LinkExtras, error) {
	var x store.LinkExtras
	if tg := h["tg"]; tg != "" {
		x.Tags = strings.Split(tg, ",")
		for _, t := range x.Tags {
			if !store.ValidTag(t) {
				return x, errBadReplyf("link tag %q", t)
			}
		}
	}
	x.Title = h["ti"]
	if mv, ok := h["mv"]; ok {
		m, err := toInt(mv)
		if err != nil || m <= 0 {
			return x, errBadReplyf("link max_visits %q", mv)
		}
		x.MaxVisits = &m
	}
	if vs, ok := h["vs"]; ok {
		t, err := decodeTime(vs)
		if err != nil {
			return x, err
		}
		x.ValidSince = &t
	}
	x.ForwardQuery = h["fq"] == "1"
	if ios, and := h["ios"], h["and"]; ios != "" || and != "" {
		x.Targets = &store.Targets{IOS: ios, Android: and}
	}
	return x, nil
}
