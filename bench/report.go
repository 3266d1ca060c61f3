package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Report is a run's result. The fields up to Errors are the contract of
// `--json` (issue 7); the rest are extras.
type Report struct {
	Profile        string           `json:"profile"`
	OfferedRPS     float64          `json:"offered_rps"`  // reads offered to edges
	AchievedRPS    float64          `json:"achieved_rps"` // reads answered as expected, per second
	LatencyMS      Latency          `json:"latency_ms"`   // reads, from their intended send time
	HitRatio       float64          `json:"hit_ratio"`    // X-Cache: HIT over answers with X-Cache
	OriginRPS      float64          `json:"origin_rps"`   // edge -> origin calls per second
	InvalidationMS Invalidation     `json:"invalidation_ms"`
	StaleReads     int64            `json:"stale_reads"`
	Oversells      int              `json:"oversells"`
	Errors         map[string]int64 `json:"errors"` // by kind, reads and writes

	ErrorsTotal int64 `json:"errors_total"`
	// RateSource says where OfferedRPS came from: profile, flag or ramp.
	RateSource string     `json:"rate_source"`
	Ramp       []RampStep `json:"ramp,omitempty"`
	Started    time.Time  `json:"started"`
	DurationS  float64    `json:"duration_s"`
	ZipfS      float64    `json:"zipf_s"`
	Seed       uint64     `json:"seed"`
	Setup      Profile    `json:"setup"`
	Targets    Targets    `json:"targets"`
	Host       HostInfo   `json:"host"`

	Reads  Stream `json:"reads"`
	Writes Stream `json:"writes"`
	// OriginCallsPerS is OriginRPS by endpoint (link and stock are cache
	// fills; changes, heads and clicks the edges' background traffic).
	OriginCallsPerS map[string]float64 `json:"origin_calls_per_s"`
	// OriginRequestsRPS is every request the origins served (admin writes
	// included), as their own counters say.
	OriginRequestsRPS float64        `json:"origin_requests_rps"`
	Invalidation      ProbeStats     `json:"invalidation"`
	StaleReadsLoad    int64          `json:"stale_reads_load"`   // seen by the read load
	StaleReadsProbe   int64          `json:"stale_reads_probes"` // edges still old at the bound
	StaleBoundMS      float64        `json:"stale_bound_ms"`
	Audit             AuditResult    `json:"audit"`
	Compare           *CompareResult `json:"compare,omitempty"`
	// SettleS is how long the run waited after seeding for the gossip
	// queues to drain, and GossipBacklog the broadcasts still queued then
	// (summed over nodes; at or above 1000 the wait timed out, and the
	// measurement includes the seeding's aftermath).
	SettleS       float64 `json:"settle_s"`
	GossipBacklog float64 `json:"gossip_backlog"`

	invalidationDelays []time.Duration // for the histogram chart
}

// Stream is one stream of operations: reads at edges or writes at origins.
type Stream struct {
	OfferedRPS  float64 `json:"offered_rps"`
	AchievedRPS float64 `json:"achieved_rps"`
	Scheduled   uint64  `json:"scheduled"`
	Sent        uint64  `json:"sent"`
	Unsent      uint64  `json:"unsent"`
	ElapsedS    float64 `json:"elapsed_s"`
	Summary
}

// HostInfo is the machine the run measured.
type HostInfo struct {
	// ProcessCPUSeconds is this process's user + system CPU during the
	// measured phase (with the embedded topology: every node and the load
	// generator).
	ProcessCPUSeconds float64 `json:"process_cpu_seconds"`
	// CPUPerRequestUS is ProcessCPUSeconds per request sent in the measured
	// phase (reads and writes), in microseconds: against running targets,
	// the load generator's own cost of a request.
	CPUPerRequestUS float64 `json:"cpu_per_request_us"`
	NumCPU          int     `json:"num_cpu"`
	GOMAXPROCS      int     `json:"gomaxprocs"`
	// CPUs lists the CPUs the process was pinned to (--cpu); empty: not.
	CPUs      string `json:"cpus,omitempty"`
	GoVersion string `json:"go_version"`
}

func stream(s Summary, t Totals, offered float64) Stream {
	return Stream{OfferedRPS: offered, AchievedRPS: achieved(s, t), Scheduled: t.Scheduled, Sent: t.Sent, Unsent: t.Unsent, ElapsedS: t.Elapsed.Seconds(), Summary: s}
}

func (rep *Report) fillStreams(res phaseResult, writeRate float64) {
	rep.Reads = stream(res.reads, res.rTotals, rep.OfferedRPS)
	rep.Writes = stream(res.writes, res.wTotal, writeRate)
	rep.AchievedRPS = rep.Reads.AchievedRPS
	rep.LatencyMS = res.reads.Latency
	rep.HitRatio = res.reads.HitRatio()
	rep.Errors = map[string]int64{}
	for _, m := range []map[string]int64{res.reads.Errors, res.writes.Errors} {
		for k, v := range m {
			rep.Errors[k] += v
			rep.ErrorsTotal += v
		}
	}
	rep.StaleReadsLoad = res.reads.Stale
	rep.StaleReads = rep.StaleReadsLoad + rep.StaleReadsProbe
}

func (rep *Report) fillOrigin(before, after nodeMetrics, elapsed time.Duration) {
	secs := elapsed.Seconds()
	rep.OriginCallsPerS = map[string]float64{}
	for k, v := range counterDelta(before.edgeOriginCalls, after.edgeOriginCalls) {
		rep.OriginCallsPerS[k] = v / secs
		rep.OriginRPS += v / secs
	}
	for _, v := range counterDelta(before.originRequests, after.originRequests) {
		rep.OriginRequestsRPS += v / secs
	}
}

func (rep *Report) fillProbes(ps ProbeStats) {
	rep.Invalidation = ps
	d := sortedDurations(ps.Delays)
	rep.invalidationDelays = d
	rep.InvalidationMS = Invalidation{P50: percentileOf(d, 50), P90: percentileOf(d, 90), P99: percentileOf(d, 99), Max: percentileOf(d, 100)}
	rep.StaleReadsProbe = ps.StaleEdges
	rep.StaleReads = rep.StaleReadsLoad + rep.StaleReadsProbe
}

// WriteJSON writes the report as indented JSON to path, atomically.
func WriteJSON(path string, rep *Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrReport, err)
	}
	if err := writeFileAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("%w: %w", ErrReport, err)
	}
	return nil
}

// writeFileAtomic writes through a temporary file and a rename, so a
// reader never sees half a file.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename there is nothing to remove
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
