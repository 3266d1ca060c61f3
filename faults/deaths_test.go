package faults

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// memberLeftMsg is what gossip logs (at info) when memberlist tells it a
// member died or left; both in-process nodes and edge processes log it.
const memberLeftMsg = "gossip: member left or failed"

// death is one member seeing another go.
type death struct {
	at       time.Time
	observer string
	member   string
}

// deathLog collects deaths from in-process nodes (a slog.Handler they log
// to) and from processes (their JSON log lines).
type deathLog struct {
	mu     sync.Mutex
	deaths []death
	// suspicions counts, per member, memberlist's "Suspect X has failed"
	// as logged by in-process nodes: proof the detector was exercised.
	suspicions map[string]int
	closed     bool // stop recording: shutting down makes members leave on purpose
}

func (d *deathLog) add(x death) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.deaths = append(d.deaths, x)
	}
}

func (d *deathLog) suspect(member string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.suspicions == nil {
		d.suspicions = map[string]int{}
	}
	if !d.closed {
		d.suspicions[member]++
	}
}

func (d *deathLog) suspected(member string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.suspicions[member]
}

func (d *deathLog) close() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
}

func (d *deathLog) all() []death {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]death(nil), d.deaths...)
}

// procDeaths scans a process's JSON log lines since t for deaths it saw.
func procDeaths(p *proc, observer string, since time.Time) []death {
	var out []death
	for _, ln := range p.logs.since(since) {
		if !strings.Contains(ln.text, memberLeftMsg) {
			continue
		}
		var rec struct {
			Msg    string `json:"msg"`
			Member string `json:"member"`
		}
		if json.Unmarshal([]byte(ln.text), &rec) == nil && rec.Msg == memberLeftMsg {
			out = append(out, death{ln.at, observer, rec.Member})
		}
	}
	return out
}

// handler is a slog.Handler for in-process nodes: it records deaths with
// the observing node's name (the last "node" attribute its logger was given)
// and drops everything else.
func (d *deathLog) handler() slog.Handler { return &deathHandler{log: d} }

type deathHandler struct {
	log  *deathLog
	node string
}

func (h *deathHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *deathHandler) Handle(_ context.Context, r slog.Record) error {
	if name, ok := strings.CutPrefix(r.Message, "Suspect "); ok {
		if name, _, ok = strings.Cut(name, " has failed"); ok {
			h.log.suspect(name)
		}
		return nil
	}
	if r.Message != memberLeftMsg {
		return nil
	}
	x := death{at: time.Now(), observer: h.node}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "member" {
			x.member = a.Value.String()
		}
		return true
	})
	h.log.add(x)
	return nil
}

func (h *deathHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	for _, a := range as {
		if a.Key == "node" {
			n.node = a.Value.String()
		}
	}
	return &n
}

func (h *deathHandler) WithGroup(string) slog.Handler { return h }
