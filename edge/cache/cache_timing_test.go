package cache

import (
	"testing"

	"github.com/shortstock/shortstock/internal/keys"
)

func BenchmarkGetHit(b *testing.B) {
	o := newFakeOrigin()
	o.set(keys.KindLink, "abc1234", 1)
	c, _ := newTestCache(b, o)
	mustGet(b, c, keys.KindLink, "abc1234")
	id := []byte("abc1234")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, st, _ := c.Get(keys.KindLink, id); st != Hit {
			b.Fatal("not a hit")
		}
	}
}

func BenchmarkGetHitParallel(b *testing.B) {
	o := newFakeOrigin()
	ids := make([][]byte, 1024)
	for i := range ids {
		id := "code" + itoa(i)
		o.set(keys.KindLink, id, 1)
		ids[i] = []byte(id)
	}
	c, _ := newTestCache(b, o)
	for _, id := range ids {
		mustGet(b, c, keys.KindLink, string(id))
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			_, _, _ = c.Get(keys.KindLink, ids[i&1023])
		}
	})
}

func BenchmarkInvalidate(b *testing.B) {
	c, _ := newTestCache(b, newFakeOrigin())
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		i++
		c.Invalidate(keys.KindLink, "abc1234", i)
	}
}
