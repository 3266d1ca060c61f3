package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/redisstore"
)

// TestChangeNotifySeesOtherOriginsWrites: a store's ChangeNotify is
// signalled by a write another Store (another origin, maybe in another
// region) makes on the same Redis, standalone and Cluster, so a tailer can
// block on it instead of polling every partition's head. Removing the
// PUBLISH of lua/common.lua (notify_tail) makes it fail.
func TestChangeNotifySeesOtherOriginsWrites(t *testing.T) {
	for name, addrs := range map[string]func(testing.TB) []string{
		"standalone": func(t testing.TB) []string { return []string{env.Standalone(t)} },
		"cluster":    env.Cluster,
	} {
		t.Run(name, func(t *testing.T) {
			as := addrs(t)
			var prefix string
			tailer := openOn(t, as, func(c *redisstore.Config) { prefix = c.KeyPrefix })
			writer := openOn(t, as, func(c *redisstore.Config) { c.KeyPrefix = prefix })
			a, b := tailer.ChangeNotify(), tailer.ChangeNotify()
			// The subscription's confirmation signals first (what was
			// published before it is read through the heads).
			for _, ch := range []<-chan struct{}{a, b} {
				select {
				case <-ch:
				case <-time.After(10 * time.Second):
					t.Fatal("no signal when the subscription started")
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := writer.SetStock(ctx, "TAIL-1", "w", 1); err != nil {
				t.Fatal(err)
			}
			for i, ch := range []<-chan struct{}{a, b} {
				select {
				case <-ch:
				case <-time.After(10 * time.Second):
					t.Fatalf("watcher %d: no signal 10 s after another store's write", i)
				}
			}
		})
	}
}
