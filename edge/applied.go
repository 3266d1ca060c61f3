package edge

import (
	"encoding/json"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/shortstock/shortstock/internal/wire"
)

// Receipts: the edge tells its origin how far it has applied the change
// log, so the origin can say when a write (or purge) has landed on every
// edge (GET /v1/changes/{id}). It reports its per-partition watermarks,
// not change ids: a watermark at seq S says every change up to S is
// applied, whatever path it came by (gossip or catch-up), and a report
// costs the same for one write or a thousand. It runs on its own
// goroutine every ReceiptInterval, off the request path, and sends only
// the partitions that moved, plus a full report every fullReportEvery
// (so a restarted origin, or one that lost a report, learns it all).

const fullReportEvery = 5 * time.Second

// heartbeatEvery: an edge whose watermarks did not move still reports this
// often, so its origin can tell "behind" (live, pending) from "down"
// (origin.Config.ReceiptLiveWindow, 3s by default, must exceed it).
const heartbeatEvery = time.Second

// idleLook is how long the applied loop sleeps when nothing moves: until
// the heartbeat or full report is due (lastSent and lastFull on the
// edge's clock), at least every (the ReceiptInterval) and at most
// heartbeatEvery.
func idleLook(now, lastSent, lastFull time.Time, every time.Duration) time.Duration {
	d := min(heartbeatEvery-now.Sub(lastSent), fullReportEvery-now.Sub(lastFull), heartbeatEvery)
	return max(d, every)
}

// appliedLoop owns the reports. It wakes when a watermark moved (at most
// once per ReceiptInterval, so a moved watermark is reported within one
// interval, as a ticker would) and otherwise only for the heartbeat: an
// idle edge does not wake every ReceiptInterval to find nothing moved.
func (s *Server) appliedLoop() {
	defer s.loops.Done()
	t := time.NewTimer(s.cfg.ReceiptInterval)
	defer t.Stop()
	sent := make([]uint64, s.cfg.Partitions)
	var cur []uint64
	var lastFull, lastSent time.Time
	var woke time.Time // when the loop last looked
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.marks.moved:
			if d := s.cfg.ReceiptInterval - s.cfg.Clock.Now().Sub(woke); d > 0 {
				t.Reset(d) // fired or drained: the timer is idle here
				select {
				case <-s.stop:
					return
				case <-t.C:
				}
			}
		}
		woke = s.cfg.Clock.Now()
		// Next look without a move: the heartbeat (below) or the full
		// report, whichever is due first, never later than heartbeatEvery.
		t.Reset(idleLook(s.cfg.Clock.Now(), lastSent, lastFull, s.cfg.ReceiptInterval))
		if !s.marks.isKnown() {
			continue
		}
		now := s.cfg.Clock.Now()
		full := now.Sub(lastFull) >= fullReportEvery
		cur = s.marks.snapshot(cur)
		rep := wire.Applied{Region: s.cfg.Region, Edge: s.cfg.NodeName, Full: full}
		for p, seq := range cur {
			if full || seq != sent[p] {
				rep.Partitions = append(rep.Partitions, wire.AppliedUpTo{P: p, Seq: seq})
			}
		}
		if !full && len(rep.Partitions) == 0 && now.Sub(lastSent) < heartbeatEvery {
			continue
		}
		body, err := json.Marshal(rep)
		if err != nil {
			continue
		}
		ctx, cancel := s.loopContext()
		err = s.origin.do(ctx, "applied", fasthttp.MethodPost, wire.PathApplied, body, statusNoContent, func(*fasthttp.Response) error { return nil })
		cancel()
		if err != nil {
			s.log.Debug("edge: applied report failed", "err", err)
			lastFull = time.Time{} // the origin may have missed some: send all next time
			continue
		}
		copy(sent, cur) // a copy: cur is reused by the next snapshot
		lastSent = now
		if full {
			lastFull = now
		}
	}
}
