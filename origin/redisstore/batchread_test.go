package redisstore_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// GetLinks and GetStocks answer, key by key, exactly what GetLink and
// GetStock answer: live, deleted (a tombstone's version with ErrNotFound),
// never written and malformed keys, across partitions and cluster nodes.
func TestBatchReadsMatchSingleReads(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) *redisstore.Store) {
		s := open(t)
		ctx := ctxT(t)
		for _, c := range []string{"ba1", "ba2", "ba3"} {
			if _, err := s.CreateLink(ctx, store.NewLink{Code: c, URL: "https://example.com/" + c, Redirect: 302, CreatedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.DeleteLink(ctx, "ba2"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetStock(ctx, "BA-1", "w1", 4); err != nil {
			t.Fatal(err)
		}
		codes := []string{"ba1", "ba2", "ba3", "never", "bad/code"}
		ls, lerrs := s.GetLinks(ctx, codes)
		for i, c := range codes {
			want, werr := s.GetLink(ctx, c)
			if !reflect.DeepEqual(ls[i], want) || !sameErr(lerrs[i], werr) {
				t.Errorf("GetLinks[%s] = %+v, %v; GetLink = %+v, %v", c, ls[i], lerrs[i], want, werr)
			}
		}
		skus := []string{"BA-1", "BA-NONE", "bad sku"}
		vs, serrs := s.GetStocks(ctx, skus)
		for i, sku := range skus {
			want, werr := s.GetStock(ctx, sku)
			if !reflect.DeepEqual(vs[i], want) || !sameErr(serrs[i], werr) {
				t.Errorf("GetStocks[%s] = %+v, %v; GetStock = %+v, %v", sku, vs[i], serrs[i], want, werr)
			}
		}
	})
}

func sameErr(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return errors.Is(a, store.ErrNotFound) == errors.Is(b, store.ErrNotFound)
}
