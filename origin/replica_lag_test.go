package origin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/internal/redistest"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// primaryWithReplica starts a redis-server and a replica of it, and waits
// until the replica is in sync.
func primaryWithReplica(t *testing.T) (primary, replica *redistest.Server) {
	t.Helper()
	start := func(o redistest.ServerOptions) *redistest.Server {
		s, err := redistest.StartServer(o)
		if err != nil {
			if redistest.InCI() {
				t.Fatalf("redis-server: %v", err)
			}
			t.Skipf("redis-server unavailable: %v", err)
		}
		t.Cleanup(func() { _ = s.Stop() })
		return s
	}
	primary = start(redistest.ServerOptions{AppendFsync: "everysec"})
	replica = start(redistest.ServerOptions{AppendFsync: "everysec", Extra: []string{"replicaof 127.0.0.1 " + itoa(primary.Port)}})
	rc := redis.NewClient(&redis.Options{Addr: replica.Addr})
	defer rc.Close()
	waitFor(t, 10*time.Second, "the replica to sync", func() bool {
		info, err := rc.Info(context.Background(), "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	return primary, replica
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Guarantee 4, read-your-writes across regions: a region's origin reads
// (and tails the change log) from its replica. While that replica lags, the
// write's invalidation is not published, and a fetch that asks for the
// version an edge already knows of is answered from the primary, never with
// the old value.
func TestLaggingReplicaHoldsBackInvalidationsAndMinVersionReadsPrimary(t *testing.T) {
	primary, replica := primaryWithReplica(t)
	ctx := context.Background()
	b := backend{name: "redis-replica", open: func(t *testing.T) store.Store {
		cfg := redisstore.DefaultConfig([]string{primary.Addr})
		cfg.ReadFromReplicas, cfg.ReplicaAddr = true, replica.Addr
		// The test cuts the replica off and still writes: about reads,
		// not about acknowledged writes (docs/redis.md, "Durability").
		cfg.WaitDisabled = true
		cfg.UnsafeConfig = redisstore.UnsafeWarn // everysec with no write waiting for the replica
		cfg.ReadTimeout = 5 * time.Second
		st, err := redisstore.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}}
	o := newTestOrigin(t, b)
	published := func(key string, v uint64) bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		for _, c := range o.published {
			if c.Key == key && c.Version >= v {
				return true
			}
		}
		return false
	}
	fetch := func(path string) (int, uint64) {
		r := o.do("GET", path, "", nil)
		var v struct {
			Version uint64 `json:"version"`
		}
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		return r.status, v.Version
	}

	// The tailer starts from the heads it first reads; writes before that
	// are history, not news (as in TestChangesFeedTailerAndEndpoint).
	o.waitTailer()
	expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://e.example/1", "code": "lagging"}), 201, "")
	expect(t, o.admin("PUT", "/v1/stock/LAG/w", map[string]any{"on_hand": 5}), 200, "")
	expect(t, o.admin("PUT", "/v1/stock/RYW/w", map[string]any{"on_hand": 5}), 200, "")
	waitFor(t, 10*time.Second, "version 1 published", func() bool { return published("l:lagging", 1) && published("s:LAG", 1) })

	// Cut the replica off: it keeps serving what it has (replica-serve-
	// stale-data) and gets nothing new.
	rc := redis.NewClient(&redis.Options{Addr: replica.Addr})
	defer rc.Close()
	if err := rc.ReplicaOf(ctx, "127.0.0.1", "1").Err(); err != nil {
		t.Fatal(err)
	}
	expect(t, o.admin("PATCH", "/v1/links/lagging", map[string]any{"url": "https://e.example/2"}), 200, "")
	expect(t, o.admin("POST", "/v1/stock/LAG/w/adjust", map[string]any{"delta": 1}), 200, "")

	// A reservation made now is readable at once, although the replica
	// never receives it: GET /v1/reservations/{id} reads the primary.
	hold := expect(t, o.admin("POST", "/v1/reservations", map[string]any{"sku": "RYW", "qty": 1, "warehouse": "w"}), 201, "")
	if got := expect(t, o.admin("GET", "/v1/reservations/"+hold["id"].(string), nil), 200, ""); got["status"] != "held" {
		t.Fatalf("reservation read after the hold: %v", got)
	}
	// The admin API reads its own writes (from the primary) ...
	if v := o.admin("GET", "/v1/links/lagging", nil).json(t)["version"]; v != 2.0 {
		t.Fatalf("admin GET after the PATCH: version %v, want 2", v)
	}
	// ... while the lag is real: a plain fetch still sees version 1 ...
	if st, v := fetch("/internal/v1/links/lagging"); st != 200 || v != 1 {
		t.Fatalf("plain fetch from the cut-off replica: %d version %d, want 200 version 1", st, v)
	}
	// ... and the tail, which reads the same replica, publishes nothing.
	// Checking that something does not happen takes a wait; 60 tail
	// intervals, and a tailer that publishes early does so at the first.
	time.Sleep(300 * time.Millisecond)
	if published("l:lagging", 2) || published("s:LAG", 2) {
		t.Fatal("an invalidation was published before the region's replica held the write")
	}
	// An edge that knows of version 2 (from another region's gossip) gets
	// it from the primary.
	if st, v := fetch("/internal/v1/links/lagging?" + wire.QueryMinVersion + "=2"); st != 200 || v != 2 {
		t.Fatalf("fetch with min_version=2: %d version %d", st, v)
	}
	if st, v := fetch("/internal/v1/stock/LAG?" + wire.QueryMinVersion + "=2"); st != 200 || v != 2 {
		t.Fatalf("stock fetch with min_version=2: %d version %d", st, v)
	}
	expect(t, o.do("GET", "/internal/v1/links/lagging?"+wire.QueryMinVersion+"=-1", "", nil), 400, "invalid_min_version")

	// Back in sync: the invalidations go out, and by then the replica has
	// the write, so a refill without min_version already gets it.
	if err := rc.ReplicaOf(ctx, "127.0.0.1", itoa(primary.Port)).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "version 2 published after the replica caught up", func() bool {
		return published("l:lagging", 2) && published("s:LAG", 2)
	})
	if st, v := fetch("/internal/v1/links/lagging"); st != 200 || v != 2 {
		t.Fatalf("plain fetch after the invalidation: %d version %d, want version 2", st, v)
	}
}
