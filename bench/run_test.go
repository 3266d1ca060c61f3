package bench

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The whole harness end to end on the small profile against a topology it
// starts in process: seeding, reads, writes, probes, the audit, compare
// mode, and every output.
func TestRunSmallEndToEnd(t *testing.T) {
	d := 3 * time.Second
	if testing.Short() {
		d = 1500 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	before := runtime.NumGoroutine()
	rep, err := Run(ctx, Config{
		Profile: "small", Duration: d, Warmup: 500 * time.Millisecond,
		Links: 2000, SKUs: 200, // seeds in well under a second
		Rate: 100, WriteRate: 20, // enough writes to probe and audit in seconds
		Compare: true, CompareRounds: 1, CompareRound: 500 * time.Millisecond, CompareRate: 200,
		Seed: 42,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every goroutine the run started has stopped. fasthttp's client
	// cleaners notice within idleConnDuration; two of its goroutines are
	// process-wide and never stop (the server date updater and the dialer's
	// address cache cleaner).
	const global = 2
	deadline := time.Now().Add(2*idleConnDuration + 5*time.Second)
	for runtime.NumGoroutine() > before+global && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+global {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before the run, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
	var table strings.Builder
	if err := PrintTable(&table, rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())

	if rep.Profile != "small" || rep.OfferedRPS != 100 || rep.Reads.Sent == 0 {
		t.Errorf("profile %q offered %v sent %d", rep.Profile, rep.OfferedRPS, rep.Reads.Sent)
	}
	// Correctness results must be clean; speed is reported, not asserted.
	if rep.Oversells != 0 || rep.Audit.Mismatches != 0 || rep.StaleReads != 0 {
		t.Errorf("oversells %d, mismatches %d, stale reads %d: %v", rep.Oversells, rep.Audit.Mismatches, rep.StaleReads, rep.Audit.Findings)
	}
	if rep.ErrorsTotal != 0 {
		t.Errorf("errors: %v", rep.Errors)
	}
	if rep.Audit.SKUs == 0 || rep.Writes.Sent == 0 || rep.Invalidation.Probed == 0 {
		t.Errorf("audited %d SKUs after %d writes, %d probed: the write side did not run", rep.Audit.SKUs, rep.Writes.Sent, rep.Invalidation.Probed)
	}
	if rep.HitRatio <= 0 || rep.OriginRPS <= 0 {
		t.Errorf("hit ratio %v, origin calls %v/s: the metrics were not read", rep.HitRatio, rep.OriginRPS)
	}
	if c := rep.Compare; c == nil || c.EdgeRPS <= 0 || c.BareRPS <= 0 || c.Ratio <= 0 {
		t.Errorf("compare: %+v", c)
	}

	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "out.json")
	if err := WriteJSON(jsonPath, rep); err != nil {
		t.Fatal(err)
	}
	checkJSONFields(t, jsonPath)
	if err := WriteHTMLReport(filepath.Join(dir, "report"), rep); err != nil {
		t.Fatal(err)
	}
	checkReportFiles(t, filepath.Join(dir, "report"))
}

// checkJSONFields fails unless the file has every field issue 7 names.
func checkJSONFields(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"profile", "offered_rps", "achieved_rps", "latency_ms", "hit_ratio", "origin_rps", "invalidation_ms", "stale_reads", "oversells", "errors"} {
		if _, ok := m[f]; !ok {
			t.Errorf("JSON has no %q", f)
		}
	}
	sub := map[string][]string{"latency_ms": {"p50", "p90", "p99", "p999", "max"}, "invalidation_ms": {"p50", "p99", "max"}}
	for obj, fs := range sub {
		o, ok := m[obj].(map[string]any)
		if !ok {
			t.Errorf("%s is %T, want an object", obj, m[obj])
			continue
		}
		for _, f := range fs {
			if _, ok := o[f].(float64); !ok {
				t.Errorf("%s.%s is %T, want a number", obj, f, o[f])
			}
		}
	}
	if _, ok := m["errors"].(map[string]any); !ok {
		t.Errorf("errors is %T, want an object of counts by kind", m["errors"])
	}
}

func checkReportFiles(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{"index.html", "report.json", "latency-over-time.png", "throughput.png", "latency-percentiles.png", "invalidation.png"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	html, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(html), `src="data:image/png;base64,`); n != 4 {
		t.Errorf("index.html inlines %d charts, want 4 (self-contained)", n)
	}
}

// A report built without a run (no writes, no probes, no samples) still
// writes every field and every file.
func TestOutputsOfAnEmptyReport(t *testing.T) {
	rep := &Report{Profile: "small", Setup: Profiles[0]}
	rep.fillStreams(phaseResult{reads: NewRecorder(time.Now(), time.Second).Summary(), writes: NewRecorder(time.Now(), time.Second).Summary()}, 0)
	rep.fillProbes(ProbeStats{})
	dir := t.TempDir()
	if err := WriteJSON(filepath.Join(dir, "out.json"), rep); err != nil {
		t.Fatal(err)
	}
	checkJSONFields(t, filepath.Join(dir, "out.json"))
	if err := WriteHTMLReport(dir, rep); err != nil {
		t.Fatal(err)
	}
	checkReportFiles(t, dir)
}

// TestEmbeddedProcs: an explicit count wins, then the GOMAXPROCS
// environment variable (left alone), then twice the CPUs.
func TestEmbeddedProcs(t *testing.T) {
	if got := embeddedProcs(3); got != 3 {
		t.Errorf("embeddedProcs(3) = %d", got)
	}
	t.Setenv("GOMAXPROCS", "")
	if got, want := embeddedProcs(0), 2*runtime.NumCPU(); got != want {
		t.Errorf("embeddedProcs(0) = %d, want %d", got, want)
	}
	t.Setenv("GOMAXPROCS", "1")
	if got := embeddedProcs(0); got != 0 {
		t.Errorf("embeddedProcs(0) with GOMAXPROCS set = %d, want 0 (leave it)", got)
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	for _, c := range []Config{
		{Profile: "huge"},
		{ZipfS: 0.5},
		{Duration: time.Millisecond},
		{Targets: &Targets{Edges: []string{"http://127.0.0.1:1"}}},
		{Rate: -1},
		{GOMAXPROCS: -1},
		{Pipeline: -1},
		{Pipeline: 257},
		{GOMAXPROCS: 4, Targets: &Targets{Edges: []string{"http://127.0.0.1:1"}, Origins: []string{"http://127.0.0.1:2"}, AdminKey: "k"}},
	} {
		if _, err := Run(context.Background(), c); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err %v, want ErrConfig", c, err)
		}
	}
}

func TestReadTopologyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "t.json")
	os.WriteFile(p, []byte(`{"admin_key":"k","regions":[{"name":"a","origin":"http://127.0.0.1:1","edges":["http://127.0.0.1:2","http://127.0.0.1:3"]},{"name":"b","origin":"http://127.0.0.1:4","edges":["http://127.0.0.1:5"]}]}`), 0o600)
	tg, err := ReadTopologyFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.Edges) != 3 || len(tg.Origins) != 2 || tg.AdminKey != "k" || tg.Regions != 2 {
		t.Errorf("%+v", tg)
	}
	os.WriteFile(p, []byte(`{"regions":[]}`), 0o600)
	if _, err := ReadTopologyFile(p); !errors.Is(err, ErrTarget) {
		t.Errorf("empty topology: %v", err)
	}
}
