package gossip

import (
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
)

var (
	key1 = []byte("0123456789abcdef")                 // AES-128
	key2 = []byte("fedcba9876543210fedcba9876543210") // AES-256
)

// testLogger discards logs unless GOSSIP_TEST_LOG is set: memberlist's
// goroutines may still log after a test ends, which t.Log does not allow.
func testLogger() *slog.Logger {
	if os.Getenv("GOSSIP_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// recorder is a Handler that remembers what it was given.
type recorder struct {
	mu         sync.Mutex
	latest     map[string]uint64
	firstAt    map[string]time.Time // first delivery of each key
	calls      int
	backwards  int // deliveries not newer than the previous one for the key
	deliveries []change.Change
}

func newRecorder() *recorder {
	return &recorder{latest: make(map[string]uint64), firstAt: make(map[string]time.Time)}
}

func (r *recorder) HandleChange(c change.Change) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if prev, ok := r.latest[c.Key]; ok && c.Version <= prev {
		r.backwards++
	}
	if _, ok := r.firstAt[c.Key]; !ok {
		r.firstAt[c.Key] = now
	}
	r.latest[c.Key] = max(r.latest[c.Key], c.Version)
	r.deliveries = append(r.deliveries, c)
}

func (r *recorder) version(key string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.latest[key]
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func (r *recorder) keys() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.latest)
}

func (r *recorder) at(key string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.firstAt[key]
	return t, ok
}

// testNode is a Node with its recorder and fault transport.
type testNode struct {
	*Node
	rec *recorder
	ft  *FaultTransport
}

func seedOf(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// localConfig is DefaultLocalConfig with a key, a recorder and a fault
// transport wired in.
func localConfig(name, region string, rec *recorder, ft **FaultTransport) Config {
	cfg := DefaultLocalConfig(name)
	cfg.Region = region
	cfg.SecretKeys = [][]byte{key1}
	cfg.Logger = testLogger()
	cfg.Handler = rec
	cfg.WrapTransport = func(t memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
		*ft = NewFaultTransport(t, seedOf(name))
		return *ft
	}
	return cfg
}

// startNode starts a node with localConfig changed by mod, closed at test
// end.
func startNode(t testing.TB, name, region string, mod func(*Config)) *testNode {
	t.Helper()
	tn := &testNode{rec: newRecorder()}
	cfg := localConfig(name, region, tn.rec, &tn.ft)
	if mod != nil {
		mod(&cfg)
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", name, err)
	}
	tn.Node = n
	t.Cleanup(func() { _ = n.Close() })
	return tn
}

// startCluster starts size nodes in region "test" joined through node 0
// and waits until every node sees all of them. mod may change node i's
// config.
func startCluster(t testing.TB, size int, mod func(i int, c *Config)) []*testNode {
	t.Helper()
	nodes := make([]*testNode, size)
	for i := range nodes {
		i := i
		nodes[i] = startNode(t, nodeName(i), "test", func(c *Config) {
			if i > 0 {
				c.Join = []string{nodes[0].LocalAddr()}
			}
			if mod != nil {
				mod(i, c)
			}
		})
	}
	waitFor(t, 5*time.Second, "all nodes see the full pool", func() bool {
		for _, n := range nodes {
			if n.NumMembers() != size {
				return false
			}
		}
		return true
	})
	return nodes
}

func nodeName(i int) string { return "node-" + string(rune('a'+i/26)) + string(rune('a'+i%26)) }

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// linkChange returns a valid change for link code id at version v.
func linkChange(id string, v uint64) change.Change {
	return change.Change{
		Partition: keys.DefaultSpace().Partition(keys.KindLink, id),
		Seq:       v,
		Key:       keys.Key(keys.KindLink, id),
		Version:   v,
		AtUnixMs:  time.Now().UnixMilli(),
	}
}

// percentile returns the p-th percentile (0-100) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
