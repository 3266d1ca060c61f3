package storetest

import (
	"testing"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/origin/store"
)

// testPurgeLogged: a Store that is a store.Purger logs a purge as the
// next change of the key's partition, with version 0 and its Purge kind,
// read back as such, and changes no data. Stores without purges skip.
func testPurgeLogged(t *testing.T, s store.Store) {
	pg, ok := s.(store.Purger)
	if !ok {
		t.Skip("not a store.Purger")
	}
	ctx := t.Context()
	mustCreate(t, s, newLink("pg-1", "https://example.com/pg"))
	key := linkKey("pg-1")
	p := s.Partitions().PartitionOfKey(key)
	c, err := pg.AppendPurge(ctx, key, change.PurgeSoft)
	if err != nil {
		t.Fatal(err)
	}
	if c.Partition != p || c.Seq != 2 || c.Version != 0 || c.Purge != change.PurgeSoft || c.Key != key || c.AtUnixMs == 0 {
		t.Fatalf("purge logged as %+v, want seq 2 of partition %d", c, p)
	}
	all, err := pg.AppendPurge(ctx, change.PurgeAllKey, change.PurgeAll|change.PurgeHard)
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.Changes(ctx, p, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Changes) == 0 || page.Changes[0] != c {
		t.Fatalf("log after the write: %+v, want the purge %+v", page.Changes, c)
	}
	pa, err := s.Changes(ctx, all.Partition, all.Seq-1, 10)
	if err != nil || len(pa.Changes) != 1 || pa.Changes[0].Purge != change.PurgeAll|change.PurgeHard {
		t.Fatalf("purge-all read back as %+v (%v)", pa.Changes, err)
	}
	if l, err := s.GetLink(ctx, "pg-1"); err != nil || l.Version != 1 {
		t.Fatalf("a purge changed the link: %+v %v", l, err)
	}
	for _, bad := range []struct {
		key string
		p   change.Purge
	}{{"l:no such", change.PurgeHard}, {key, 0}, {key, change.PurgeHard | change.PurgeSoft}} {
		if _, err := pg.AppendPurge(ctx, bad.key, bad.p); err == nil {
			t.Fatalf("purge %q kind %d accepted", bad.key, bad.p)
		}
	}
}
