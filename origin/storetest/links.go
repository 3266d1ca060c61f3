package storetest

import (
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

func testLinkCreateGet(t *testing.T, s store.Store) {
	w := watchLog(t, s)
	created := t0.In(elsewhere) // stored and returned in UTC
	l := mustCreate(t, s, store.NewLink{Code: "abc", URL: "https://example.com/a?x=1", Redirect: 301, CreatedAt: created})
	want := store.Link{Code: "abc", URL: "https://example.com/a?x=1", Redirect: 301, CreatedAt: t0, Version: 1}
	checkLink(t, "CreateLink", l, want)
	w.wrote(linkKey("abc"), 1)
	checkLink(t, "GetLink", mustGetLink(t, s, "abc"), want)

	// A second link in (very likely) another partition starts at 1 too:
	// versions are per key.
	for _, code := range []string{"x", "Z9_-long-code-0123456789"} {
		l := mustCreate(t, s, store.NewLink{Code: code, URL: "http://example.org/" + code, Redirect: 308, CreatedAt: t0})
		if l.Version != 1 {
			t.Fatalf("first version of %q = %d, want 1", code, l.Version)
		}
		w.wrote(linkKey(code), 1)
	}
	checkLink(t, "GetLink after other creates", mustGetLink(t, s, "abc"), want)
	w.unchanged("GetLink")
}

func testLinkCodeTaken(t *testing.T, s store.Store) {
	mustCreate(t, s, newLink("taken", "https://example.com/first"))
	w := watchLog(t, s)
	_, err := s.CreateLink(t.Context(), newLink("taken", "https://example.com/second"))
	wantErr(t, "second CreateLink", err, store.ErrCodeTaken)
	w.unchanged("a failed CreateLink")
	got := mustGetLink(t, s, "taken")
	if got.URL != "https://example.com/first" || got.Version != 1 {
		t.Fatalf("after a refused create: %+v; want the first URL at version 1", got)
	}
}

func testLinkUpdate(t *testing.T, s store.Store) {
	exp := t0.Add(48 * time.Hour)
	mustCreate(t, s, store.NewLink{Code: "up", URL: "https://example.com/1", Redirect: 302, ExpiresAt: &exp, CreatedAt: t0})
	if err := s.AddClicks(t.Context(), map[string]int64{"up": 3}); err != nil {
		t.Fatal(err)
	}
	w := watchLog(t, s)
	want := store.Link{Code: "up", URL: "https://example.com/1", Redirect: 302, ExpiresAt: &exp, CreatedAt: t0, Version: 1, Clicks: 3}

	url := "https://example.com/2"
	got, err := s.UpdateLink(t.Context(), "up", store.LinkPatch{URL: &url})
	if err != nil {
		t.Fatal(err)
	}
	want.URL, want.Version = url, 2
	checkLink(t, "update url", got, want)
	w.wrote(linkKey("up"), 2)

	rd := 307
	got, err = s.UpdateLink(t.Context(), "up", store.LinkPatch{Redirect: &rd})
	if err != nil {
		t.Fatal(err)
	}
	want.Redirect, want.Version = 307, 3
	checkLink(t, "update redirect", got, want)
	w.wrote(linkKey("up"), 3)

	url2, rd2 := "http://example.net/3", 301
	got, err = s.UpdateLink(t.Context(), "up", store.LinkPatch{URL: &url2, Redirect: &rd2})
	if err != nil {
		t.Fatal(err)
	}
	want.URL, want.Redirect, want.Version = url2, 301, 4
	checkLink(t, "update url and redirect", got, want)
	w.wrote(linkKey("up"), 4)
	checkLink(t, "GetLink after updates", mustGetLink(t, s, "up"), want)

	url3 := "https://example.com/never"
	_, err = s.UpdateLink(t.Context(), "nosuch", store.LinkPatch{URL: &url3})
	wantErr(t, "UpdateLink of an unknown code", err, store.ErrNotFound)
	w.unchanged("a failed UpdateLink")
	if l, err := s.GetLink(t.Context(), "nosuch"); err == nil || l.Version != 0 {
		t.Fatalf("UpdateLink created %q: %+v, %v", "nosuch", l, err)
	}
}

func testLinkExpiry(t *testing.T, s store.Store) {
	exp := t0.Add(90 * time.Minute).In(elsewhere)
	l := mustCreate(t, s, store.NewLink{Code: "exp", URL: "https://example.com/e", Redirect: 302, ExpiresAt: &exp, CreatedAt: t0})
	if l.ExpiresAt == nil || !sameTime(*l.ExpiresAt, exp) {
		t.Fatalf("CreateLink expires_at = %s, want %s in UTC", fmtTime(l.ExpiresAt), fmtTime(&exp))
	}
	got := mustGetLink(t, s, "exp")
	if got.ExpiresAt == nil || !sameTime(*got.ExpiresAt, exp) {
		t.Fatalf("GetLink expires_at = %s, want %s in UTC", fmtTime(got.ExpiresAt), fmtTime(&exp))
	}
	if got.Expired(exp.Add(-time.Second)) || !got.Expired(exp) {
		t.Fatal("the stored expiry does not expire the link at the stored time")
	}

	w := watchLog(t, s)
	later := t0.Add(72 * time.Hour)
	got, err := s.UpdateLink(t.Context(), "exp", store.LinkPatch{ExpiresAt: &later})
	if err != nil || got.ExpiresAt == nil || !sameTime(*got.ExpiresAt, later) || got.Version != 2 {
		t.Fatalf("set expiry: %+v (expires %s), %v", got, fmtTime(got.ExpiresAt), err)
	}
	w.wrote(linkKey("exp"), 2)

	got, err = s.UpdateLink(t.Context(), "exp", store.LinkPatch{ClearExpiry: true})
	if err != nil || got.ExpiresAt != nil || got.Version != 3 {
		t.Fatalf("ClearExpiry: %+v (expires %s), %v", got, fmtTime(got.ExpiresAt), err)
	}
	w.wrote(linkKey("exp"), 3)
	if got := mustGetLink(t, s, "exp"); got.ExpiresAt != nil || got.URL != "https://example.com/e" {
		t.Fatalf("GetLink after ClearExpiry: %+v (expires %s)", got, fmtTime(got.ExpiresAt))
	}

	// An expired link is still a link: the store returns it, and deciding
	// that it is gone is the reader's job (Link.Expired).
	past := t0.Add(-time.Hour)
	mustCreate(t, s, store.NewLink{Code: "old", URL: "https://example.com/o", Redirect: 302, ExpiresAt: &past, CreatedAt: t0.Add(-2 * time.Hour)})
	if got := mustGetLink(t, s, "old"); got.ExpiresAt == nil || !sameTime(*got.ExpiresAt, past) || !got.Expired(t0) {
		t.Fatalf("GetLink of an expired link: %+v (expires %s)", got, fmtTime(got.ExpiresAt))
	}
}

func testLinkDeleteTombstone(t *testing.T, s store.Store) {
	mustCreate(t, s, newLink("del", "https://example.com/d"))
	url := "https://example.com/d2"
	if _, err := s.UpdateLink(t.Context(), "del", store.LinkPatch{URL: &url}); err != nil {
		t.Fatal(err)
	}
	w := watchLog(t, s)
	v, err := s.DeleteLink(t.Context(), "del")
	if err != nil || v != 3 {
		t.Fatalf("DeleteLink = %d, %v; want tombstone version 3", v, err)
	}
	w.wrote(linkKey("del"), 3)

	got, err := s.GetLink(t.Context(), "del")
	wantErr(t, "GetLink of a deleted link", err, store.ErrNotFound)
	if got.Code != "del" || got.Version != 3 {
		t.Fatalf("GetLink of a deleted link = %+v; want code del at the tombstone's version 3", got)
	}

	_, err = s.DeleteLink(t.Context(), "del")
	wantErr(t, "second DeleteLink", err, store.ErrNotFound)
	_, err = s.UpdateLink(t.Context(), "del", store.LinkPatch{URL: &url})
	wantErr(t, "UpdateLink of a deleted link", err, store.ErrNotFound)
	if err := s.AddClicks(t.Context(), map[string]int64{"del": 4}); err != nil {
		t.Fatal(err)
	}
	w.unchanged("failed writes to a deleted link")
	if got, _ := s.GetLink(t.Context(), "del"); got.Version != 3 {
		t.Fatalf("tombstone version moved to %d", got.Version)
	}
}

func testLinkRecreateAfterDelete(t *testing.T, s store.Store) {
	mustCreate(t, s, newLink("re", "https://example.com/r1"))
	if err := s.AddClicks(t.Context(), map[string]int64{"re": 9}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.DeleteLink(t.Context(), "re"); err != nil || v != 2 {
		t.Fatalf("DeleteLink = %d, %v", v, err)
	}
	w := watchLog(t, s)
	exp := t0.Add(time.Hour)
	l := mustCreate(t, s, store.NewLink{Code: "re", URL: "https://example.com/r2", Redirect: 308, ExpiresAt: &exp, CreatedAt: t0.Add(time.Minute)})
	// Versions only grow across deletes: tombstone 2, so the new link is 3.
	// The new link is new: no clicks carried over.
	want := store.Link{Code: "re", URL: "https://example.com/r2", Redirect: 308, ExpiresAt: &exp, CreatedAt: t0.Add(time.Minute), Version: 3}
	checkLink(t, "re-created link", l, want)
	w.wrote(linkKey("re"), 3)
	checkLink(t, "GetLink of re-created link", mustGetLink(t, s, "re"), want)
}

func testLinkUnknown(t *testing.T, s store.Store) {
	w := watchLog(t, s)
	got, err := s.GetLink(t.Context(), "never")
	wantErr(t, "GetLink of a never-created code", err, store.ErrNotFound)
	if got.Code != "never" || got.Version != 0 {
		t.Fatalf("GetLink of a never-created code = %+v; want code set and version 0", got)
	}
	_, err = s.DeleteLink(t.Context(), "never")
	wantErr(t, "DeleteLink of a never-created code", err, store.ErrNotFound)
	w.unchanged("failed writes to an unknown code")
	if got, _ := s.GetLink(t.Context(), "never"); got.Version != 0 {
		t.Fatalf("a failed delete left version %d", got.Version)
	}
}

func testLinkClicks(t *testing.T, s store.Store) {
	mustCreate(t, s, newLink("clk", "https://example.com/c"))
	mustCreate(t, s, newLink("clk2", "https://example.com/c2"))
	w := watchLog(t, s)
	if err := s.AddClicks(t.Context(), map[string]int64{"clk": 5, "clk2": 1, "unknown-code": 3}); err != nil {
		t.Fatalf("AddClicks: %v", err)
	}
	if err := s.AddClicks(t.Context(), map[string]int64{"clk": 2}); err != nil {
		t.Fatalf("AddClicks: %v", err)
	}
	if err := s.AddClicks(t.Context(), map[string]int64{}); err != nil {
		t.Fatalf("AddClicks of nothing: %v", err)
	}
	// Clicks are not part of what an edge caches: no version, no change.
	w.unchanged("AddClicks")
	checkLink(t, "clicked link", mustGetLink(t, s, "clk"),
		store.Link{Code: "clk", URL: "https://example.com/c", Redirect: 302, CreatedAt: t0, Version: 1, Clicks: 7})
	if got := mustGetLink(t, s, "clk2"); got.Clicks != 1 || got.Version != 1 {
		t.Fatalf("clk2 = %+v; want 1 click at version 1", got)
	}
	// Unknown codes are ignored, not created.
	got, err := s.GetLink(t.Context(), "unknown-code")
	wantErr(t, "GetLink of a clicked unknown code", err, store.ErrNotFound)
	if got.Version != 0 {
		t.Fatalf("AddClicks created a record for an unknown code: version %d", got.Version)
	}
	// Clicks survive an update and the update does not reset them.
	url := "https://example.com/c-new"
	up, err := s.UpdateLink(t.Context(), "clk", store.LinkPatch{URL: &url})
	if err != nil || up.Clicks != 7 || up.Version != 2 {
		t.Fatalf("UpdateLink after clicks: %+v, %v; want 7 clicks at version 2", up, err)
	}
}
