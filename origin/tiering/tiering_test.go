package tiering_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"

	"github.com/shortstock/shortstock/origin/store"
	"github.com/shortstock/shortstock/origin/tiering"
)

const after = 150 * time.Millisecond

func newTiering(t *testing.T, s store.Store, b *blob.Bucket, hook func(string) error) *tiering.Tiering {
	t.Helper()
	tr, err := tiering.New(tiering.Config{
		Store: s, Bucket: b, After: after, NoMover: true, SegmentLinks: 16,
		Timeout: 500 * time.Millisecond, Backoff: time.Second, Log: quietLog(), Hook: hook,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func mkLinks(t *testing.T, s store.Store, n int, prefix string) []string {
	t.Helper()
	codes := make([]string, n)
	for i := range codes {
		codes[i] = fmt.Sprintf("%s%03d", prefix, i)
		nl := store.NewLink{Code: codes[i], URL: "https://example.com/" + codes[i], Redirect: 302, CreatedAt: time.Now().UTC()}
		if i%3 == 0 {
			nl.Tags = []string{"t"}
		}
		if _, err := s.CreateLink(context.Background(), nl); err != nil {
			t.Fatal(err)
		}
	}
	return codes
}

// idlePass runs the pass that stamps every version, waits past After and
// runs the pass that moves the idle links.
func idlePass(t *testing.T, tr *tiering.Tiering, touch func()) store.MoverRun {
	t.Helper()
	if r := tr.Pass(context.Background()); r.Error != "" || r.Evicted != 0 {
		t.Fatalf("stamping pass: %+v", r)
	}
	time.Sleep(after + 50*time.Millisecond)
	if touch != nil {
		touch()
	}
	return tr.Pass(context.Background())
}

// read is what a client sees: hot, else cold (promoted).
func read(ctx context.Context, s store.Store, tr *tiering.Tiering, code string) (store.Link, error) {
	l, err := s.GetLink(ctx, code)
	if errors.Is(err, store.ErrNotFound) && l.Version == 0 {
		return tr.Lookup(ctx, code)
	}
	return l, err
}

func hotVersion(t *testing.T, s store.Store, code string) uint64 {
	t.Helper()
	l, _ := s.GetLink(context.Background(), code)
	return l.Version
}

func TestMoveLookupPromote(t *testing.T) {
	matrix(t, func(t *testing.T, h hot, c cold) {
		ctx := context.Background()
		s := h.open(t)
		b, _ := c.open(t)
		tr := newTiering(t, s, b, nil)
		codes := mkLinks(t, s, 40, "m")
		if _, err := s.UpdateLink(ctx, codes[1], store.LinkPatch{Title: ptrTo("v2")}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddClicks(ctx, map[string]int64{codes[1]: 7}); err != nil {
			t.Fatal(err)
		}
		run := idlePass(t, tr, func() {
			// Clicked just now: stays hot.
			if err := s.AddClicks(ctx, map[string]int64{codes[0]: 1}); err != nil {
				t.Error(err)
			}
		})
		if run.Error != "" || run.Evicted != 39 {
			t.Fatalf("pass %+v; want 39 evicted (one clicked)", run)
		}
		st, err := tr.Stats(ctx)
		if err != nil || st.Cold.Links != 39 || st.Cold.Segments != 3 || st.Hot.Links != 1 || st.LastRun == nil {
			t.Fatalf("stats %+v, %v", st, err)
		}
		if v := hotVersion(t, s, codes[5]); v != 0 {
			t.Fatalf("evicted link has a hot record at %d", v)
		}
		// A cold read answers at the version and promotes it.
		l, err := read(ctx, s, tr, codes[1])
		if err != nil || l.Version != 2 || l.Title != "v2" || l.Clicks != 7 {
			t.Fatalf("cold read %+v, %v; want version 2, title, 7 clicks", l, err)
		}
		if hl, err := s.GetLink(ctx, codes[1]); err != nil || hl.Version != 2 {
			t.Fatalf("not promoted: %+v, %v", hl, err)
		}
		// A code that is nowhere: not found (no read: no filter says maybe, or a false positive).
		if _, err := read(ctx, s, tr, "nowhere"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("absent: %v", err)
		}
		// Creating a cold code is refused; a new one is fine.
		if _, err := tr.CreateLink(ctx, store.NewLink{Code: codes[9], URL: "https://x.example/", Redirect: 302, CreatedAt: time.Now()}); !errors.Is(err, store.ErrCodeTaken) {
			t.Fatalf("create over a cold code: %v", err)
		}
		if _, err := tr.CreateLink(ctx, store.NewLink{Code: "fresh1", URL: "https://x.example/", Redirect: 302, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		// PATCH / DELETE promote first: versions only grow.
		if err := tr.EnsureHot(ctx, codes[2]); err != nil {
			t.Fatal(err)
		}
		up, err := s.UpdateLink(ctx, codes[2], store.LinkPatch{Title: ptrTo("x")})
		if err != nil || up.Version != 2 {
			t.Fatalf("patch of a cold link: %+v, %v", up, err)
		}
		if err := tr.EnsureHot(ctx, codes[3]); err != nil {
			t.Fatal(err)
		}
		if v, err := s.DeleteLink(ctx, codes[3]); err != nil || v != 2 {
			t.Fatalf("delete of a cold link: %d, %v", v, err)
		}
		// The tombstone stays hot: the cold copy is never served again.
		if l, err := read(ctx, s, tr, codes[3]); !errors.Is(err, store.ErrNotFound) || l.Version != 2 {
			t.Fatalf("deleted cold link reads %+v, %v", l, err)
		}
		// Every other link reads at its version.
		for _, code := range codes[4:] {
			if l, err := read(ctx, s, tr, code); err != nil || l.Version != 1 {
				t.Fatalf("%s: %+v, %v", code, l, err)
			}
		}
	})
}

func ptrTo[T any](v T) *T { return &v }

// TestConcurrentWriteDuringMove writes and clicks links after the mover
// listed them and wrote their segment, before it evicts them: those stay
// hot at their latest version; the rest move.
func TestConcurrentWriteDuringMove(t *testing.T) {
	matrix(t, func(t *testing.T, h hot, c cold) {
		ctx := context.Background()
		s := h.open(t)
		b, _ := c.open(t)
		var codes []string
		armed := false
		hook := func(step string) error {
			if step == "listed-cold" && armed {
				armed = false
				for i, code := range codes {
					switch i % 4 {
					case 0:
						if _, err := s.UpdateLink(ctx, code, store.LinkPatch{Title: ptrTo("during")}); err != nil {
							t.Error(err)
						}
					case 1:
						if err := s.AddClicks(ctx, map[string]int64{code: 1}); err != nil {
							t.Error(err)
						}
					}
				}
			}
			return nil
		}
		tr := newTiering(t, s, b, hook)
		codes = mkLinks(t, s, 16, "c") // one segment
		tr.Pass(ctx)
		time.Sleep(after + 50*time.Millisecond)
		armed = true
		run := tr.Pass(ctx)
		if run.Error != "" || run.Evicted != 8 || run.Kept != 8 {
			t.Fatalf("pass %+v; want 8 evicted, 8 kept", run)
		}
		for i, code := range codes {
			hv := hotVersion(t, s, code)
			l, err := read(ctx, s, tr, code)
			if err != nil {
				t.Fatalf("%s: %v", code, err)
			}
			switch i % 4 {
			case 0:
				if hv != 2 || l.Version != 2 || l.Title != "during" {
					t.Fatalf("%s written during the move: hot v%d, reads %+v", code, hv, l)
				}
			case 1:
				if hv != 1 || l.Clicks != 1 {
					t.Fatalf("%s clicked during the move: hot v%d, reads %+v", code, hv, l)
				}
			default:
				if hv != 0 || l.Version != 1 {
					t.Fatalf("%s idle: hot v%d (want evicted), reads %+v", code, hv, l)
				}
			}
		}
	})
}

var errCrash = errors.New("crash")

// TestCrashAtEveryStep stops a pass at each step as kill -9 would (nothing
// after the step runs, nothing is cleaned up), reopens the hot store and
// the cold tier from what is stored, and checks every link reads at its
// latest version; a pass after the restart then finishes the move.
func TestCrashAtEveryStep(t *testing.T) {
	steps := []string{"candidates", "written", "verified", "listed", "listed-cold", "evicting"}
	matrix(t, func(t *testing.T, h hot, c cold) {
		ctx := context.Background()
		s := h.open(t)
		b, _ := c.open(t)
		var codes []string
		for round, step := range steps {
			codes = append(codes, mkLinks(t, s, 10, fmt.Sprintf("k%d-", round))...)
			// Some earlier links are written, so versions differ.
			want := map[string]uint64{}
			for i, code := range codes {
				if i%5 == round%5 {
					if err := tierWrite(ctx, s, b, code); err != nil {
						t.Fatal(err)
					}
				}
			}
			crashing := true
			tr := newTiering(t, s, b, func(st string) error {
				if crashing && st == step {
					return errCrash
				}
				return nil
			})
			for _, code := range codes {
				l, err := read(ctx, s, tr, code)
				if err != nil {
					t.Fatalf("before %s: %s: %v", step, code, err)
				}
				want[code] = l.Version
			}
			tr.Pass(ctx)
			time.Sleep(after + 50*time.Millisecond)
			run := tr.Pass(ctx)
			if !strings.Contains(run.Error, "crash") {
				t.Fatalf("step %s: pass did not stop there: %+v", step, run)
			}
			tr.Close()
			// Restart: the process is gone; what it committed stays (bbolt
			// commits and Redis scripts are atomic), the file lock goes.
			s.Close()
			s2 := h.open(t)
			tr2 := newTiering(t, s2, b, nil)
			for _, code := range codes {
				l, err := read(ctx, s2, tr2, code)
				if err != nil || l.Version != want[code] {
					t.Fatalf("after a crash at %s: %s reads %+v, %v; want version %d", step, code, l, err, want[code])
				}
			}
			crashing = false
			time.Sleep(after + 50*time.Millisecond)
			tr2.Pass(ctx)
			for _, code := range codes {
				l, err := read(ctx, s2, tr2, code)
				if err != nil || l.Version != want[code] {
					t.Fatalf("after the pass that follows a crash at %s: %s reads %+v, %v; want version %d", step, code, l, err, want[code])
				}
			}
			tr2.Close()
			s = s2
		}
	})
}

// tierWrite patches a link wherever it is (promoting it first if cold).
func tierWrite(ctx context.Context, s store.Store, b *blob.Bucket, code string) error {
	tr, err := tiering.New(tiering.Config{Store: s, Bucket: b, After: time.Hour, NoMover: true, Log: quietLog()})
	if err != nil {
		return err
	}
	defer tr.Close()
	if err := tr.EnsureHot(ctx, code); err != nil {
		return err
	}
	_, err = s.UpdateLink(ctx, code, store.LinkPatch{Title: ptrTo("w")})
	return err
}

// TestTwoOrigins: two origins share the hot store and the bucket; one
// moves links, the other (whose tier was opened before) reads them at
// their newest version, loading the segments it had not seen.
func TestTwoOrigins(t *testing.T) {
	matrix(t, func(t *testing.T, h hot, c cold) {
		ctx := context.Background()
		s := h.open(t)
		b, _ := c.open(t)
		a := newTiering(t, s, b, nil)
		other := newTiering(t, s, b, nil) // opened now: no segments yet
		codes := mkLinks(t, s, 8, "two")
		if run := idlePass(t, a, nil); run.Evicted != 8 {
			t.Fatalf("pass %+v", run)
		}
		l, err := read(ctx, s, other, codes[0])
		if err != nil || l.Version != 1 {
			t.Fatalf("other origin reads %+v, %v; want version 1", l, err)
		}
		// Promoted by the other origin, written (v2), moved again by the
		// first: the other must not serve its stale v1 copy.
		if _, err := s.UpdateLink(ctx, codes[0], store.LinkPatch{Title: ptrTo("v2")}); err != nil {
			t.Fatal(err)
		}
		if run := idlePass(t, a, nil); run.Evicted != 1 {
			t.Fatalf("second move %+v", run)
		}
		if l, err := read(ctx, s, other, codes[0]); err != nil || l.Version != 2 || l.Title != "v2" {
			t.Fatalf("other origin reads %+v, %v after the second move; want version 2", l, err)
		}
		// A create on the other origin of a code the first moved is refused.
		if _, err := other.CreateLink(ctx, store.NewLink{Code: codes[5], URL: "https://x.example/", Redirect: 302, CreatedAt: time.Now()}); !errors.Is(err, store.ErrCodeTaken) {
			t.Fatalf("create over a code moved by another origin: %v", err)
		}
	})
}

// TestOtherColdStoreRefused: origins of one hot store must share the cold
// store; a second bucket is refused.
func TestOtherColdStoreRefused(t *testing.T) {
	matrix(t, func(t *testing.T, h hot, c cold) {
		s := h.open(t)
		b, _ := c.open(t)
		newTiering(t, s, b, nil)
		other, err := fileblob.OpenBucket(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		_, err = tiering.New(tiering.Config{Store: s, Bucket: other, After: time.Hour, NoMover: true, Log: quietLog()})
		if !errors.Is(err, tiering.ErrOtherColdStore) {
			t.Fatalf("another bucket: %v; want ErrOtherColdStore", err)
		}
		// The same bucket again is fine.
		newTiering(t, s, b, nil)
	})
}
