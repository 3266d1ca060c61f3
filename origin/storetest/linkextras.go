package storetest

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// checkExtras compares a link's extras (times to the nanosecond).
func checkExtras(t *testing.T, what string, got, want store.LinkExtras) {
	t.Helper()
	norm := func(x store.LinkExtras) store.LinkExtras {
		if len(x.Tags) == 0 {
			x.Tags = nil
		}
		if x.ValidSince != nil {
			v := x.ValidSince.UTC()
			x.ValidSince = &v
		}
		return x
	}
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("%s: extras\n got  %s\n want %s", what, fmtExtras(g), fmtExtras(w))
	}
}

func fmtExtras(x store.LinkExtras) string {
	s := "tags=" + joinTags(x.Tags)
	s += " title=" + x.Title
	if x.MaxVisits != nil {
		s += " max_visits=" + itoa(*x.MaxVisits)
	}
	s += " valid_since=" + fmtTime(x.ValidSince)
	if x.ForwardQuery {
		s += " forward_query"
	}
	if x.Targets != nil {
		s += " ios=" + x.Targets.IOS + " android=" + x.Targets.Android
	}
	return s
}

func joinTags(ts []string) string {
	out := ""
	for i, t := range ts {
		if i > 0 {
			out += ","
		}
		out += t
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func testLinkExtras(t *testing.T, s store.Store) {
	mv := int64(10)
	since := t0.Add(time.Hour).In(elsewhere)
	exp := t0.Add(48 * time.Hour)
	x := store.LinkExtras{
		Tags: []string{"spring", "Launch_2", "spring", "a-b"}, Title: "Spring launch – ünïcode",
		MaxVisits: &mv, ValidSince: &since, ForwardQuery: true,
		Targets: &store.Targets{IOS: "https://apps.apple.com/app/x", Android: "https://play.google.com/store/apps/x"},
	}
	want := x
	want.Tags = []string{"Launch_2", "a-b", "spring"} // sorted, unique
	l := mustCreate(t, s, store.NewLink{Code: "ext", URL: "https://example.com/", Redirect: 302, CreatedAt: t0, ExpiresAt: &exp, LinkExtras: x})
	checkExtras(t, "CreateLink", l.LinkExtras, want)
	checkExtras(t, "GetLink", mustGetLink(t, s, "ext").LinkExtras, want)

	// A plain link has zero extras.
	plain := mustCreate(t, s, newLink("plain", "https://example.com/p"))
	checkExtras(t, "plain link", plain.LinkExtras, store.LinkExtras{})

	// Patch: new tags, clear title, valid_since and max_visits, turn off
	// forwarding, drop one target.
	tags := []string{"b", "a"}
	title := ""
	fq := false
	got, err := s.UpdateLink(t.Context(), "ext", store.LinkPatch{
		Tags: &tags, Title: &title, ClearValidSince: true, ClearMaxVisits: true, ForwardQuery: &fq,
		Targets: &store.Targets{Android: "https://play.google.com/store/apps/y"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want2 := store.LinkExtras{Tags: []string{"a", "b"}, Targets: &store.Targets{Android: "https://play.google.com/store/apps/y"}}
	checkExtras(t, "UpdateLink", got.LinkExtras, want2)
	checkExtras(t, "GetLink after update", mustGetLink(t, s, "ext").LinkExtras, want2)
	if got.Version != 2 {
		t.Fatalf("version after update %d, want 2", got.Version)
	}
	// Removing every target removes targets.
	got, err = s.UpdateLink(t.Context(), "ext", store.LinkPatch{Targets: &store.Targets{}})
	if err != nil {
		t.Fatal(err)
	}
	want2.Targets = nil
	checkExtras(t, "targets removed", got.LinkExtras, want2)
}

func testLinkExtrasRefused(t *testing.T, s store.Store) {
	exp := t0.Add(time.Hour)
	late := t0.Add(2 * time.Hour)
	zero := int64(0)
	for _, c := range []struct {
		name string
		x    store.LinkExtras
	}{
		{"bad tag", store.LinkExtras{Tags: []string{"ok", "not ok"}}},
		{"long tag", store.LinkExtras{Tags: []string{"abcdefghijklmnopqrstuvwxyz0123456"}}},
		{"max_visits 0", store.LinkExtras{MaxVisits: &zero}},
		{"valid_since after expires_at", store.LinkExtras{ValidSince: &late}},
		{"valid_since at expires_at", store.LinkExtras{ValidSince: &exp}},
		{"bad target", store.LinkExtras{Targets: &store.Targets{IOS: "javascript:alert(1)"}}},
		{"control title", store.LinkExtras{Title: "a\nb"}},
	} {
		w := watchLog(t, s)
		_, err := s.CreateLink(t.Context(), store.NewLink{Code: "bad", URL: "https://example.com/", Redirect: 302, CreatedAt: t0, ExpiresAt: &exp, LinkExtras: c.x})
		wantErr(t, c.name, err, store.ErrInvalid)
		w.unchanged(c.name)
	}
	if _, err := s.GetLink(t.Context(), "bad"); err == nil {
		t.Fatal("a refused create left a link")
	}

	// A patch that would put valid_since at or after the stored expiry,
	// or an expiry at or before the stored valid_since, changes nothing.
	since := t0.Add(30 * time.Minute)
	mustCreate(t, s, store.NewLink{Code: "win", URL: "https://example.com/", Redirect: 302, CreatedAt: t0, ExpiresAt: &exp, LinkExtras: store.LinkExtras{ValidSince: &since, Tags: []string{"keep"}}})
	w := watchLog(t, s)
	tags := []string{"changed"}
	_, err := s.UpdateLink(t.Context(), "win", store.LinkPatch{ValidSince: &late, Tags: &tags})
	wantErr(t, "patch valid_since past expires_at", err, store.ErrInvalid)
	early := t0.Add(10 * time.Minute)
	_, err = s.UpdateLink(t.Context(), "win", store.LinkPatch{ExpiresAt: &early, Tags: &tags})
	wantErr(t, "patch expires_at before valid_since", err, store.ErrInvalid)
	bad := []string{"bad tag"}
	_, err = s.UpdateLink(t.Context(), "win", store.LinkPatch{Tags: &bad})
	wantErr(t, "patch bad tag", err, store.ErrInvalid)
	_, err = s.UpdateLink(t.Context(), "win", store.LinkPatch{MaxVisits: &zero})
	wantErr(t, "patch max_visits 0", err, store.ErrInvalid)
	w.unchanged("refused patches")
	l := mustGetLink(t, s, "win")
	if l.Version != 1 || !sameTime(*l.ExpiresAt, exp) || !sameTime(*l.ValidSince, since) || joinTags(l.Tags) != "keep" {
		t.Fatalf("after refused patches: %+v", l)
	}
	// Clearing the expiry lifts the constraint.
	if _, err := s.UpdateLink(t.Context(), "win", store.LinkPatch{ClearExpiry: true, ValidSince: &late}); err != nil {
		t.Fatalf("valid_since without expiry: %v", err)
	}
}
