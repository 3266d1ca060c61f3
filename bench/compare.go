package bench

import (
	"context"
	"fmt"
	"time"
)

// CompareRound is one server's turn in one round.
type CompareRound struct {
	Round       int     `json:"round"`
	Target      string  `json:"target"` // edge or bare
	OfferedRPS  float64 `json:"offered_rps"`
	AchievedRPS float64 `json:"achieved_rps"`
	P50MS       float64 `json:"p50_ms"`
	P99MS       float64 `json:"p99_ms"`
	Unsent      uint64  `json:"unsent"`
	Errors      int64   `json:"errors"`
	HitRatio    float64 `json:"hit_ratio"` // the edge's; 0 for bare
}

// CompareResult is an edge against the bare fixed-302 server, under the
// same redirect load in the same run.
type CompareResult struct {
	RateRPS    float64        `json:"rate_rps"`
	Edge       string         `json:"edge"`
	Rounds     []CompareRound `json:"rounds"`
	EdgeRPS    float64        `json:"edge_rps"` // mean achieved
	BareRPS    float64        `json:"bare_rps"`
	Ratio      float64        `json:"ratio"`       // edge / bare
	EdgeP99MS  float64        `json:"edge_p99_ms"` // mean of the rounds'
	BareP99MS  float64        `json:"bare_p99_ms"`
	BothKeptUp bool           `json:"both_kept_up"`
}

// compare alternates the redirect part of the read load between the first
// edge and a bare fasthttp server answering a fixed 302, round by round so
// drift on a shared machine hits both alike (and in turns: edge first in
// odd rounds, bare first in even ones). Both are loaded the same way: the
// same Zipf codes, rate, workers and connections. The edge is warmed with
// one unrecorded round first, so the rounds compare its cache hits (its
// hit ratio is reported) with the ceiling. No writes run meanwhile.
func (r *runner) compare(ctx context.Context) (*CompareResult, error) {
	bare, err := startBare()
	if err != nil {
		return nil, err
	}
	defer bare.stop()
	// The same client for both: pipelined alike when the profile is.
	hs, err := newReadHosts([]string{r.edges[0].base, bare.URL}, r.p.ReadWorkers, r.p.Pipeline)
	if err != nil {
		return nil, err
	}
	defer closeHosts(hs)
	edge, bh := hs[0], hs[1]
	mix := *r.readMix
	mix.redirectsOnly = true
	res := &CompareResult{RateRPS: r.p.CompareRate, Edge: edge.base, BothKeptUp: true}
	if _, err := r.phase(ctx, "cmp warm", r.p.CompareRate, 0, r.cfg.CompareRound, []*host{edge}, &mix); err != nil {
		return nil, err
	}
	type target struct {
		i    int // index into sum and p99
		name string
		h    *host
	}
	var sum [2]float64
	var p99 [2]float64
	for round := 1; round <= r.cfg.CompareRounds; round++ {
		order := []target{{0, "edge", edge}, {1, "bare", bh}}
		if round%2 == 0 {
			order[0], order[1] = order[1], order[0]
		}
		for _, t := range order {
			i := t.i
			ph, err := r.phase(ctx, fmt.Sprintf("cmp %s", t.name), r.p.CompareRate, 0, r.cfg.CompareRound, []*host{t.h}, &mix)
			if err != nil {
				return nil, err
			}
			cr := CompareRound{Round: round, Target: t.name, OfferedRPS: r.p.CompareRate,
				AchievedRPS: achieved(ph.reads, ph.rTotals), P50MS: ph.reads.Latency.P50, P99MS: ph.reads.Latency.P99, Unsent: ph.rTotals.Unsent,
				HitRatio: ph.reads.HitRatio()}
			for _, n := range ph.reads.Errors {
				cr.Errors += n
			}
			if cr.Unsent > 0 || cr.AchievedRPS < rampMinShare*cr.OfferedRPS {
				res.BothKeptUp = false
			}
			sum[i] += cr.AchievedRPS
			p99[i] += cr.P99MS
			res.Rounds = append(res.Rounds, cr)
			r.pr.line("compare round %d %s: offered %.0f/s, achieved %.0f/s, p50 %.3f ms, p99 %.3f ms, hit ratio %.3f", round, t.name, cr.OfferedRPS, cr.AchievedRPS, cr.P50MS, cr.P99MS, cr.HitRatio)
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(rampPause):
			}
		}
	}
	n := float64(r.cfg.CompareRounds)
	res.EdgeRPS, res.BareRPS = sum[0]/n, sum[1]/n
	res.EdgeP99MS, res.BareP99MS = p99[0]/n, p99[1]/n
	if res.BareRPS > 0 {
		res.Ratio = res.EdgeRPS / res.BareRPS
	}
	return res, nil
}
