package store_test

import (
	"reflect"
	"testing"

	"github.com/shortstock/shortstock/origin/store"
)

func TestJobChunkRoundTrip(t *testing.T) {
	lines := []store.JobLine{
		{Line: 1, Op: store.OpSet, SKU: "a", Warehouse: "w1", Qty: 10, Reason: "received", Ref: "po-1"},
		{Line: 3, Op: store.OpAdjust, SKU: "a:b", Warehouse: "w1", Qty: -4},
		{Line: 1_000_000, Op: store.OpTransfer, SKU: "z", Warehouse: "w1", To: "w2", Qty: 1 << 40},
	}
	got, err := store.DecodeJobChunk(store.EncodeJobChunk(lines))
	if err != nil || !reflect.DeepEqual(got, lines) {
		t.Fatalf("round trip: %v %+v", err, got)
	}
	for _, bad := range [][]byte{nil, {0}, {1, 0}, {1, 1, 9}, {1, 1, 0, 200}} {
		if _, err := store.DecodeJobChunk(bad); err == nil {
			t.Errorf("decode %v: no error", bad)
		}
	}
}

func TestMergeJobErrorsKeepsLowestLines(t *testing.T) {
	var have []store.JobError
	for i := int64(200); i > 0; i-- {
		have = store.MergeJobErrors(have, []store.JobError{{Line: i, Error: "x"}})
	}
	if len(have) != store.MaxJobErrors || have[0].Line != 1 || have[99].Line != 100 {
		t.Fatalf("merged: %d errors, first %v last %v", len(have), have[0], have[len(have)-1])
	}
}

func FuzzDecodeJobChunk(f *testing.F) {
	f.Add(store.EncodeJobChunk([]store.JobLine{{Line: 2, Op: store.OpAdjust, SKU: "s", Warehouse: "w", Qty: -3}}))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		lines, err := store.DecodeJobChunk(b)
		if err != nil {
			return
		}
		again, err := store.DecodeJobChunk(store.EncodeJobChunk(lines))
		if err != nil || !reflect.DeepEqual(again, lines) && len(lines) > 0 {
			t.Fatalf("re-encode: %v", err)
		}
	})
}

func FuzzDecodeLinkChunk(f *testing.F) {
	mv := int64(3)
	f.Add(store.EncodeLinkChunk([]store.LinkJobLine{{Line: 2, Generated: true, Link: store.NewLink{Code: "abc", URL: "https://example.com/",
		LinkExtras: store.LinkExtras{Tags: []string{"t"}, MaxVisits: &mv}}}}))
	f.Add([]byte{2})
	f.Add([]byte{2, 1, 0, 2, '{', '}'})
	f.Fuzz(func(t *testing.T, b []byte) {
		lines, err := store.DecodeLinkChunk(b)
		if err != nil {
			return
		}
		again, err := store.DecodeLinkChunk(store.EncodeLinkChunk(lines))
		if err != nil || len(again) != len(lines) {
			t.Fatalf("re-encode: %v", err)
		}
		for i := range lines {
			if again[i].Line != lines[i].Line || again[i].Generated != lines[i].Generated || again[i].Link.URL != lines[i].Link.URL || again[i].Link.Code != lines[i].Link.Code {
				t.Fatalf("line %d changed in a round trip: %+v vs %+v", i, lines[i], again[i])
			}
		}
	})
}
