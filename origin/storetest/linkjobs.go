package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// Links jobs (store.ChunkJobs): the store keeps the chunks and the
// cursor, the caller applies the lines. A chunk is handed out until its
// outcome is recorded, and recorded once.

func linkJob(id string, n int) store.NewJob {
	j := store.NewJob{ID: id, Kind: store.JobKindLinks, Actor: "k1", Lines: int64(n) + 1, Failed: 1,
		Errors: []store.JobError{{Line: 1, Error: "invalid_json", Message: "x"}}, CreatedAt: t0}
	for i := range n {
		mv := int64(i + 1)
		j.Links = append(j.Links, store.LinkJobLine{Line: int64(i + 2), Generated: i%2 == 0, Link: store.NewLink{
			Code: fmt.Sprintf("lj%05d", i), URL: fmt.Sprintf("https://example.com/%d", i), CreatedAt: t0,
			LinkExtras: store.LinkExtras{Tags: []string{"a", "b"}, Title: "T", MaxVisits: &mv}}})
	}
	return j
}

func testLinkJobChunks(t *testing.T, s store.Store) {
	q := jobsOf(t, s)
	cj, ok := s.(store.ChunkJobs)
	if !ok {
		t.Fatalf("%T does not implement store.ChunkJobs", s)
	}
	nj := linkJob("ljob1", 2*store.JobChunkLines+10)
	if j, err := q.CreateJob(t.Context(), nj); err != nil || j.Kind != store.JobKindLinks || j.Chunks != 3 {
		t.Fatalf("created %+v, %v", j, err)
	}
	if _, err := q.RunJob(t.Context(), "ljob1", "w", t0, time.Minute); !errors.Is(err, store.ErrJobKind) {
		t.Fatalf("RunJob of a links job: %v, want ErrJobKind", err)
	}
	if _, _, err := cj.ClaimJobChunk(t.Context(), "ljob1", "other", t0, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cj.ClaimJobChunk(t.Context(), "ljob1", "w", t0.Add(time.Second), time.Minute); !errors.Is(err, store.ErrJobLeased) {
		t.Fatalf("claim under another's lease: %v, want ErrJobLeased", err)
	}
	now := t0.Add(2 * time.Minute) // "other"'s lease ran out
	var seen []store.LinkJobLine
	for step := 0; ; step++ {
		j, raw, err := cj.ClaimJobChunk(t.Context(), "ljob1", "w", now, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if j.Ended() {
			break
		}
		if step > 10 {
			t.Fatalf("job never ends: %+v", j)
		}
		lines, err := store.DecodeLinkChunk(raw)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, lines...)
		var errs []store.JobError
		if step == 0 {
			errs = []store.JobError{{Line: lines[0].Line, Error: "code_taken", Message: "x"}}
		}
		done, err := cj.FinishJobChunk(t.Context(), j, int64(len(lines)-len(errs)), errs)
		if err != nil || done.Next != j.Next+1 {
			t.Fatalf("finish %+v, %v", done, err)
		}
		// The same outcome recorded again (a second worker) changes nothing.
		again, err := cj.FinishJobChunk(t.Context(), j, int64(len(lines)), nil)
		if err != nil || again.Applied != done.Applied || again.Next != done.Next {
			t.Fatalf("a chunk counted twice: %+v then %+v (%v)", done, again, err)
		}
	}
	if !reflect.DeepEqual(seen, nj.Links) {
		t.Fatalf("the lines read back differ from the lines queued (%d vs %d)", len(seen), len(nj.Links))
	}
	j, err := q.GetJob(t.Context(), "ljob1")
	if err != nil || j.Status != store.JobDone || j.Applied != int64(len(nj.Links)-1) || j.Failed != 2 || len(j.Errors) != 2 {
		t.Fatalf("ended job %+v, %v", j, err)
	}
	if ids, err := q.PendingJobs(t.Context()); err != nil || len(ids) != 0 {
		t.Fatalf("pending after the end: %v, %v", ids, err)
	}
	if _, err := q.CreateJob(t.Context(), bulkJob("sjob", 10, 2)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cj.ClaimJobChunk(t.Context(), "sjob", "w", now, time.Minute); !errors.Is(err, store.ErrJobKind) {
		t.Fatalf("ClaimJobChunk of a stock job: %v, want ErrJobKind", err)
	}
	bad := linkJob("ljob2", 1)
	bad.Valid = []store.JobLine{{Line: 9, Op: store.OpSet}}
	bad.Lines++
	if _, err := q.CreateJob(t.Context(), bad); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("a job with both kinds of lines: %v, want ErrInvalid", err)
	}
}
