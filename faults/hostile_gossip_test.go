package faults

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/shortstock/shortstock/gossip"
	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/topology"
)

// mirror is a transport that also sends every outgoing packet to targets:
// it makes a foreign pool's gossip (wrong key or wrong label) land on the
// real region's members without joining it.
type mirror struct {
	memberlist.NodeAwareTransport
	to   []string
	sent atomic.Int64
}

func (m *mirror) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	for _, addr := range m.to {
		if _, err := m.NodeAwareTransport.WriteToAddress(b, memberlist.Address{Addr: addr}); err == nil {
			m.sent.Add(1)
		}
	}
	return m.NodeAwareTransport.WriteToAddress(b, a)
}

func (m *mirror) WriteTo(b []byte, addr string) (time.Time, error) {
	return m.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// warnLog counts warnings and errors nodes log (memberlist's complaints
// about packets it could not open come through as those).
type warnLog struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnLog) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	w.msgs = append(w.msgs, r.Message)
	w.mu.Unlock()
	return nil
}
func (w *warnLog) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnLog) WithGroup(string) slog.Handler      { return w }

func (w *warnLog) count(substrs ...string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, m := range w.msgs {
		lm := strings.ToLower(m)
		for _, s := range substrs {
			if strings.Contains(lm, s) {
				n++
				break
			}
		}
	}
	return n
}

// rogueNode starts a gossip node outside the topology; mod adjusts its
// config (key, region, transport).
func rogueNode(t *testing.T, name string, mod func(*gossip.Config)) *gossip.Node {
	t.Helper()
	c := gossip.DefaultLocalConfig(name)
	c.Region, c.SecretKeys = "gsec", [][]byte{gossipKey}
	c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if mod != nil {
		mod(&c)
	}
	n, err := gossip.New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Shutdown() })
	return n
}

func linkChange(code string, seq, version uint64) change.Change {
	return change.Change{Partition: keys.DefaultSpace().Partition(keys.KindLink, code), Seq: seq, Key: keys.Key(keys.KindLink, code), Version: version, AtUnixMs: time.Now().UnixMilli()}
}

// TestHostileGossip sends an edge pool three kinds of gossip it must not
// act on: old invalidations replayed by a member with the right key (the
// edges keep the newer version), and a foreign pool's gossip mirrored onto
// the edges' ports, once encrypted with a wrong key and once labelled for
// another region, announcing a far newer version (which, if applied, would
// make the edges refuse every real fill). After each, a real write must
// still reach every edge.
func TestHostileGossip(t *testing.T) {
	warns := &warnLog{}
	topo := startFaulty(t, topology.Config{Regions: 1, EdgesPerRegion: 2, RegionNames: []string{"gsec"}, Logger: slog.New(warns)})
	r := topo.Regions[0]
	api := newAdmin(t, r.Origin.URL, 5*time.Second)
	var edges []string
	var edgeGossip []string
	for _, e := range r.Edges {
		edges = append(edges, e.URL)
		edgeGossip = append(edgeGossip, e.Gossip.LocalAddr())
	}
	f := newFigures("hostile_gossip")
	defer f.report(t)

	seen := map[string]uint64{}
	regressions, stuck := 0, 0
	// write makes a real change and waits for every edge to serve it.
	write := func(step int) uint64 {
		t.Helper()
		var v uint64
		if step == 0 {
			v = api.must(t, "POST", "/v1/links", `{"url":"https://e.example/0","code":"gsec"}`).version()
		} else {
			v = api.must(t, "PATCH", "/v1/links/gsec", fmt.Sprintf(`{"url":"https://e.example/%d"}`, step)).version()
		}
		for _, e := range edges {
			deadline := time.Now().Add(5 * time.Second)
			for {
				rd := readEdge(e, "/gsec")
				if rd.served() {
					if rd.version < seen[e] {
						regressions++
					}
					seen[e] = max(seen[e], rd.version)
				}
				if rd.served() && rd.version >= v {
					break
				}
				if time.Now().After(deadline) {
					stuck++
					t.Logf("%s still serves %v 5 s after version %d was written", e, rd, v)
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		return v
	}
	// observe reads every edge for a while, counting versions going back.
	observe := func(d time.Duration) {
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			for _, e := range edges {
				if rd := readEdge(e, "/gsec"); rd.served() {
					if rd.version < seen[e] {
						regressions++
					}
					seen[e] = max(seen[e], rd.version)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// An extra member with the right key records every change gossip hands
	// it, so a foreign change that got through would be seen by name.
	var got struct {
		sync.Mutex
		foreign int // deliveries of the foreign pools' version 100
	}
	observer := rogueNode(t, "observer", func(c *gossip.Config) {
		c.Join = []string{r.Origin.Gossip.LocalAddr()}
		c.Handler = gossip.HandlerFunc(func(ch change.Change) {
			if ch.Version >= 100 {
				got.Lock()
				got.foreign++
				got.Unlock()
			}
		})
	})
	type counts struct{ delivered, malformed, duplicates uint64 }
	stats := func() counts {
		var c counts
		for _, g := range []*gossip.Node{r.Edges[0].Gossip, r.Edges[1].Gossip, observer} {
			s := g.Stats()
			c.delivered += s.Delivered
			c.malformed += s.DroppedMalformed
			c.duplicates += s.Duplicates
		}
		return c
	}
	for step := range 3 {
		write(step)
	}
	waitMembers(t, observer, len(r.Edges)+2, 10*time.Second)
	time.Sleep(300 * time.Millisecond) // the writes' own gossip settles

	// 1. Replays of old versions from a member with the right key.
	old := rogueNode(t, "rogue-old", func(c *gossip.Config) { c.Join = []string{r.Origin.Gossip.LocalAddr()} })
	waitMembers(t, old, len(r.Edges)+3, 10*time.Second)
	before := stats()
	for v := uint64(1); v <= 2; v++ {
		if err := old.Publish(linkChange("gsec", v, v)); err != nil {
			t.Fatal(err)
		}
	}
	observe(time.Second)
	replay := stats()
	f.count("old_replays_refused", replay.duplicates-before.duplicates) // they did arrive
	f.zero("old_replays_applied", int64(replay.delivered-before.delivered))
	_ = old.Close()
	write(3)

	// 2 and 3. A foreign pool (wrong key, then wrong label) mirrored onto
	// the edges and the observer, announcing version 100 of the link: if
	// an edge applied it, it would refuse every real fill below 100 and the
	// next write would never be served.
	targets := append(append([]string{}, edgeGossip...), observer.LocalAddr())
	foreign := func(name string, mod func(*gossip.Config)) (sent int64, accepted int) {
		m := &mirror{to: targets}
		a := rogueNode(t, name+"-a", func(c *gossip.Config) {
			mod(c)
			c.WrapTransport = func(in memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
				m.NodeAwareTransport = in
				return m
			}
		})
		b := rogueNode(t, name+"-b", func(c *gossip.Config) { mod(c); c.Join = []string{a.LocalAddr()} })
		waitMembers(t, a, 2, 10*time.Second)
		before := stats()
		got.Lock()
		foreignBefore := got.foreign
		got.Unlock()
		if err := a.Publish(linkChange("gsec", 1000, 100)); err != nil {
			t.Fatal(err)
		}
		observe(time.Second)
		after := stats()
		_ = b.Shutdown()
		_ = a.Shutdown()
		got.Lock()
		defer got.Unlock()
		return m.sent.Load(), got.foreign - foreignBefore + int(after.malformed-before.malformed)
	}
	wrongKey := []byte("another-key-0123456789abcdefghij")
	sentKey, acceptedKey := foreign("rogue-key", func(c *gossip.Config) { c.SecretKeys = [][]byte{wrongKey} })
	write(4)
	sentLabel, acceptedLabel := foreign("rogue-label", func(c *gossip.Config) { c.Region = "elsewhere" })
	write(5)
	observe(500 * time.Millisecond)

	f.count("wrong_key_packets", sentKey)
	f.zero("wrong_key_accepted", int64(acceptedKey))
	f.count("wrong_label_packets", sentLabel)
	f.zero("wrong_label_accepted", int64(acceptedLabel))
	f.zero("version_regressions", int64(regressions))
	f.zero("writes_not_served", int64(stuck))
	f.count("refusals_logged", warns.count("decrypt", "label", "encrypt"))
	if sentKey == 0 || sentLabel == 0 {
		t.Errorf("the foreign pools sent nothing to the edges (%d, %d packets): the test did not test", sentKey, sentLabel)
	}
}
