package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// testChangeLogEveryWrite does every kind of write, successful and failed,
// and then reads every partition's whole log back: exactly the successful
// writes, each once, in order, seqs 1, 2, 3, ... per partition.
func testChangeLogEveryWrite(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := make([][]string, s.Partitions().N()) // per partition: "key@version"
	versions := map[string]uint64{}
	wrote := func(key string) {
		versions[key]++
		p := s.Partitions().PartitionOfKey(key)
		want[p] = append(want[p], fmt.Sprintf("%s@%d", key, versions[key]))
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	refused := func(err error) {
		t.Helper()
		if err == nil {
			t.Fatal("a write that must fail succeeded")
		}
	}

	for i := range 6 {
		code := fmt.Sprintf("cl-%d", i)
		mustCreate(t, s, newLink(code, "https://example.com/"+code))
		wrote(linkKey(code))
	}
	url := "https://example.com/changed"
	_, err := s.UpdateLink(ctx, "cl-1", store.LinkPatch{URL: &url})
	must(err)
	wrote(linkKey("cl-1"))
	_, err = s.DeleteLink(ctx, "cl-2")
	must(err)
	wrote(linkKey("cl-2"))
	mustCreate(t, s, newLink("cl-2", "https://example.com/again"))
	wrote(linkKey("cl-2"))
	_, err = s.CreateLink(ctx, newLink("cl-3", "https://example.com/dup"))
	refused(err)
	_, err = s.DeleteLink(ctx, "cl-nosuch")
	refused(err)
	must(s.AddClicks(ctx, map[string]int64{"cl-0": 10, "cl-4": 1}))

	for _, sku := range []string{"cl-a", "cl-b"} {
		mustSetStock(t, s, sku, "w1", 10)
		wrote(stockKey(sku))
		mustSetStock(t, s, sku, "w2", 10)
		wrote(stockKey(sku))
	}
	_, err = s.AdjustStock(ctx, "cl-a", "w1", -4)
	must(err)
	wrote(stockKey("cl-a"))
	_, err = s.AdjustStock(ctx, "cl-a", "w1", -40)
	refused(err)
	_, err = s.SetStock(ctx, "cl-a", "w1", -1)
	refused(err)
	r1 := mustReserve(t, s, reserveReq(s, "cl-a", "w1", 6, time.Minute))
	wrote(stockKey("cl-a"))
	_, err = s.SetStock(ctx, "cl-a", "w1", 1)
	refused(err)
	_, err = s.Reserve(ctx, reserveReq(s, "cl-a", "w1", 1, time.Minute))
	refused(err)
	r2 := mustReserve(t, s, reserveReq(s, "cl-b", "", 3, time.Minute))
	wrote(stockKey("cl-b"))
	r3 := mustReserve(t, s, reserveReq(s, "cl-b", "", 3, 10*time.Minute))
	wrote(stockKey("cl-b"))
	r4 := mustReserve(t, s, reserveReq(s, "cl-b", "", 1, time.Minute))
	wrote(stockKey("cl-b"))
	_, err = s.CommitReservation(ctx, r1.ID, t0)
	must(err)
	wrote(stockKey("cl-a"))
	_, err = s.CommitReservation(ctx, r1.ID, t0) // already committed: no write
	must(err)
	_, err = s.ReleaseReservation(ctx, r2.ID)
	must(err)
	wrote(stockKey("cl-b"))
	_, err = s.CommitReservation(ctx, r4.ID, t0.Add(time.Hour)) // expires it
	refused(err)
	wrote(stockKey("cl-b"))
	n, err := s.ExpireHolds(ctx, t0.Add(time.Hour), 100)
	if err != nil || n != 1 {
		t.Fatalf("ExpireHolds = %d, %v; want 1 (%s)", n, err, r3.ID)
	}
	wrote(stockKey("cl-b"))

	heads := mustHeads(t, s)
	for p := range s.Partitions().N() {
		got := allChanges(t, s, p)
		if uint64(len(want[p])) != heads[p] || len(got) != len(want[p]) {
			t.Fatalf("partition %d: head %d, %d changes; want %d: %v", p, heads[p], len(got), len(want[p]), want[p])
		}
		for i, c := range got {
			if c.Partition != p || c.Seq != uint64(i+1) || fmt.Sprintf("%s@%d", c.Key, c.Version) != want[p][i] || c.AtUnixMs <= 0 {
				t.Fatalf("partition %d change %d = %+v; want seq %d %s with at_ms set (all: %v)", p, i, c, i+1, want[p][i], want[p])
			}
		}
		page, err := s.Changes(ctx, p, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		wantFirst := uint64(0)
		if len(want[p]) > 0 {
			wantFirst = 1
		}
		if page.First != wantFirst || page.Head != heads[p] {
			t.Fatalf("partition %d: first %d head %d; want first %d head %d", p, page.First, page.Head, wantFirst, heads[p])
		}
	}
	// Versions in the log are the versions the reads show.
	for key, v := range versions {
		kind, id, _ := keys.Split(key)
		var got uint64
		if kind == keys.KindLink {
			got = mustGetLink(t, s, id).Version
		} else {
			got = mustGetStock(t, s, id).Version
		}
		if got != v {
			t.Fatalf("%s: read version %d, but the log says %d", key, got, v)
		}
	}
}

// codesInPartition returns n link codes that share one partition.
func codesInPartition(s store.Store, prefix string, n int) (codes []string, partition int) {
	partition = s.Partitions().Partition(keys.KindLink, prefix+"0")
	for i := 0; len(codes) < n; i++ {
		c := fmt.Sprintf("%s%d", prefix, i)
		if s.Partitions().Partition(keys.KindLink, c) == partition {
			codes = append(codes, c)
		}
	}
	return codes, partition
}

func testChangesPaging(t *testing.T, s store.Store) {
	codes, p := codesInPartition(s, "pg-", 5)
	for _, c := range codes {
		mustCreate(t, s, newLink(c, "https://example.com/"+c))
	}
	page := func(after uint64, limit int, want ...uint64) {
		t.Helper()
		pg, err := s.Changes(t.Context(), p, after, limit)
		if err != nil {
			t.Fatalf("Changes(%d, %d, %d): %v", p, after, limit, err)
		}
		var seqs []uint64
		for _, c := range pg.Changes {
			seqs = append(seqs, c.Seq)
		}
		if fmt.Sprint(seqs) != fmt.Sprint(want) || pg.Head != 5 || pg.First != 1 || pg.Partition != p {
			t.Fatalf("Changes(%d, after %d, limit %d) = seqs %v head %d first %d partition %d; want seqs %v head 5 first 1",
				p, after, limit, seqs, pg.Head, pg.First, pg.Partition, want)
		}
		for _, c := range pg.Changes {
			if c.Key != linkKey(codes[c.Seq-1]) || c.Version != 1 {
				t.Fatalf("change %+v; want %s at version 1", c, linkKey(codes[c.Seq-1]))
			}
		}
	}
	page(0, 2, 1, 2)
	page(2, 2, 3, 4)
	page(4, 2, 5)
	page(5, 2)
	page(50, 2)
	page(0, 100, 1, 2, 3, 4, 5)
	page(3, 1, 4)

	q := (p + 1) % s.Partitions().N()
	empty, err := s.Changes(t.Context(), q, 0, 10)
	if err != nil || len(empty.Changes) != 0 || empty.Head != 0 || empty.First != 0 {
		t.Fatalf("Changes of an empty partition = %+v, %v; want nothing, head 0, first 0", empty, err)
	}
	for _, bad := range []int{-1, s.Partitions().N()} {
		if _, err := s.Changes(t.Context(), bad, 0, 10); err == nil {
			t.Fatalf("Changes of partition %d: no error", bad)
		}
	}
}

func testReadsNeverAppend(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, newLink("rd", "https://example.com/rd"))
	mustCreate(t, s, newLink("rd-gone", "https://example.com/gone"))
	if _, err := s.DeleteLink(ctx, "rd-gone"); err != nil {
		t.Fatal(err)
	}
	mustSetStock(t, s, "rd", "w1", 10)
	held := mustReserve(t, s, reserveReq(s, "rd", "w1", 1, time.Hour))
	sold := mustReserve(t, s, reserveReq(s, "rd", "w1", 1, time.Hour))
	if _, err := s.CommitReservation(ctx, sold.ID, t0); err != nil {
		t.Fatal(err)
	}
	w := watchLog(t, s)

	for range 3 {
		mustGetLink(t, s, "rd")
		_, _ = s.GetLink(ctx, "rd-gone")
		_, _ = s.GetLink(ctx, "rd-never")
		mustGetStock(t, s, "rd")
		_, _ = s.GetStock(ctx, "rd-never")
		mustGetRes(t, s, held.ID)
		mustGetRes(t, s, sold.ID)
		for p := range s.Partitions().N() {
			if _, err := s.Changes(ctx, p, 0, 100); err != nil {
				t.Fatal(err)
			}
		}
		mustHeads(t, s)
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		if n, err := s.ExpireHolds(ctx, t0, 100); err != nil || n != 0 {
			t.Fatalf("ExpireHolds with nothing due = %d, %v", n, err)
		}
		if _, err := s.CommitReservation(ctx, sold.ID, t0); err != nil {
			t.Fatal(err)
		}
	}
	w.unchanged("reads")
	if v := mustGetStock(t, s, "rd").Version; v != 4 {
		t.Fatalf("stock version %d after reads, want 4", v)
	}
	if v := mustGetLink(t, s, "rd").Version; v != 1 {
		t.Fatalf("link version %d after reads, want 1", v)
	}
}
