package store_test

import (
	"slices"
	"testing"

	"github.com/shortstock/shortstock/origin/store"
)

// TestPartitionWatch: marks coalesce into one signal and one set, taken
// once, in first-marked order; an out-of-range mark or MarkAll means all.
func TestPartitionWatch(t *testing.T) {
	w := store.NewPartitionWatch(1024)
	if ps, all := w.Take(); ps != nil || all {
		t.Fatalf("fresh watch took %v, %v", ps, all)
	}
	for _, p := range []int{700, 3, 700, 1023, 3} {
		w.Mark(p)
	}
	select {
	case <-w.C:
	default:
		t.Fatal("no signal after marks")
	}
	select {
	case <-w.C:
		t.Fatal("signals did not coalesce")
	default:
	}
	if ps, all := w.Take(); all || !slices.Equal(ps, []int{700, 3, 1023}) {
		t.Fatalf("took %v, all %v; want [700 3 1023]", ps, all)
	}
	if ps, all := w.Take(); ps != nil || all {
		t.Fatalf("second take %v, %v", ps, all)
	}
	w.Mark(5)
	w.Mark(1024)
	if ps, all := w.Take(); ps != nil || !all {
		t.Fatalf("out-of-range mark took %v, %v; want all", ps, all)
	}
	w.Mark(5) // cleared by the take that said all
	w.MarkAll()
	if ps, all := w.Take(); ps != nil || !all {
		t.Fatalf("MarkAll took %v, %v", ps, all)
	}
	w.Mark(5)
	if ps, _ := w.Take(); !slices.Equal(ps, []int{5}) {
		t.Fatalf("after all, took %v", ps)
	}
}
