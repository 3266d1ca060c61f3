package embedded_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/clock"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
)

// codesIn returns n link codes in one partition.
func codesIn(prefix string, n int) ([]string, int) {
	p := keys.DefaultSpace().Partition(keys.KindLink, prefix+"0")
	var codes []string
	for i := 0; len(codes) < n; i++ {
		if c := fmt.Sprintf("%s%d", prefix, i); keys.DefaultSpace().Partition(keys.KindLink, c) == p {
			codes = append(codes, c)
		}
	}
	return codes, p
}

func createAll(t *testing.T, s store.Store, codes []string) {
	t.Helper()
	for _, c := range codes {
		if _, err := s.CreateLink(t.Context(), store.NewLink{Code: c, URL: "https://example.com/" + c, Redirect: 302, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
}

// wantLog checks a partition's retained log: seqs first..head, contiguous.
func wantLog(t *testing.T, s store.Store, p int, first, head uint64) []change.Change {
	t.Helper()
	page, err := s.Changes(t.Context(), p, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if page.First != first || page.Head != head || uint64(len(page.Changes)) != head-first+1 {
		t.Fatalf("partition %d: first %d head %d with %d changes; want first %d head %d", p, page.First, page.Head, len(page.Changes), first, head)
	}
	for i, c := range page.Changes {
		if c.Seq != first+uint64(i) {
			t.Fatalf("partition %d: change %d has seq %d, want %d", p, i, c.Seq, first+uint64(i))
		}
	}
	// A reader behind the trimmed prefix sees the gap through First.
	if page, err := s.Changes(t.Context(), p, 0, 1); err != nil || page.First != first || len(page.Changes) != 1 || page.Changes[0].Seq != first {
		t.Fatalf("reader from seq 0: %+v, %v", page, err)
	}
	return page.Changes
}

func TestTrimByLength(t *testing.T) {
	cfg := embedded.DefaultConfig(t.TempDir())
	cfg.ChangeLogMaxLen = 10
	s := open(t, cfg)
	codes, p := codesIn("len-", 25)
	createAll(t, s, codes)
	// Trimmed as appended: the newest 10 remain, the head goes on.
	log := wantLog(t, s, p, 16, 25)
	if log[9].Key != keys.Key(keys.KindLink, codes[24]) {
		t.Fatalf("newest change is %+v, want %s", log[9], codes[24])
	}
	if m, err := s.Maintain(t.Context()); err != nil || m.ChangesTrimmed != 0 {
		t.Fatalf("Maintain after inline trimming = %+v, %v; want nothing to do", m, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened with a lower limit: appends shrink it a few at a time,
	// Maintain at once.
	cfg.ChangeLogMaxLen = 3
	s2 := open(t, cfg)
	more, _ := codesIn("len-", 27)
	createAll(t, s2, more[25:26])
	wantLog(t, s2, p, 20, 26) // 10 + 1 retained, 4 trimmed inline
	m, err := s2.Maintain(t.Context())
	if err != nil || m.ChangesTrimmed != 4 {
		t.Fatalf("Maintain = %+v, %v; want 4 trimmed", m, err)
	}
	wantLog(t, s2, p, 24, 26)
}

func TestTrimByAge(t *testing.T) {
	clk := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg := embedded.DefaultConfig(t.TempDir())
	cfg.ChangeLogMaxAge = time.Hour
	cfg.Clock = clk
	s := open(t, cfg)
	codes, p := codesIn("age-", 8)

	createAll(t, s, codes[:5])
	clk.Advance(2 * time.Hour)
	createAll(t, s, codes[5:])
	other := "other-0"
	for i := 1; keys.DefaultSpace().Partition(keys.KindLink, other) == p; i++ {
		other = fmt.Sprintf("other-%d", i)
	}
	q := keys.DefaultSpace().Partition(keys.KindLink, other)
	createAll(t, s, []string{other})

	m, err := s.Maintain(t.Context())
	if err != nil || m.ChangesTrimmed != 5 {
		t.Fatalf("Maintain = %+v, %v; want the 5 old changes trimmed", m, err)
	}
	wantLog(t, s, p, 6, 8)
	wantLog(t, s, q, 1, 1)

	// Everything old: all but the newest change of each partition go, so
	// First still says where the log stands.
	clk.Advance(3 * time.Hour)
	if m, err := s.Maintain(t.Context()); err != nil || m.ChangesTrimmed != 2 {
		t.Fatalf("Maintain = %+v, %v; want 2 trimmed", m, err)
	}
	wantLog(t, s, p, 8, 8)
	wantLog(t, s, q, 1, 1)
	if m, err := s.Maintain(t.Context()); err != nil || m != (embedded.Maintenance{}) {
		t.Fatalf("second Maintain = %+v, %v; want nothing", m, err)
	}

	// The head never moves back: the next write continues the seqs.
	more, _ := codesIn("age-", 9)
	createAll(t, s, more[8:])
	wantLog(t, s, p, 8, 9)
}
