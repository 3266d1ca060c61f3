package cache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/shortstock/shortstock/edge/cache"
	"github.com/shortstock/shortstock/internal/keys"
)

// A cache in front of a loader: the first Get loads (MISS), the next is
// served from memory (HIT), and an invalidation with a newer version makes
// the following Get load again.
func Example() {
	version := uint64(1)
	loader := cache.LoaderFunc(func(ctx context.Context, kind keys.Kind, id string, minVersion uint64) (*cache.Entry, error) {
		return cache.NewEntry(cache.Answer{
			Kind: kind, ID: id, Status: 302, Version: version, TTL: time.Minute,
			Location: fmt.Sprintf("https://example.com/v%d", version),
		})
	})
	cfg := cache.DefaultConfig()
	cfg.Loader = loader
	cfg.MaxCostBytes = 1 << 20
	c, err := cache.New(cfg)
	if err != nil {
		panic(err)
	}
	defer c.Close()

	get := func() {
		e, state, err := c.Get(keys.KindLink, []byte("abc1234"))
		if err != nil {
			panic(err)
		}
		fmt.Println(state, e.Status(), string(e.Location()))
		c.Wait() // let ristretto admit the entry before the next Get
	}
	get()
	get()
	version = 2
	c.Invalidate(keys.KindLink, "abc1234", 2)
	get()
	// Output:
	// MISS 302 https://example.com/v1
	// HIT 302 https://example.com/v1
	// MISS 302 https://example.com/v2
}
