package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchJSONFields are the fields `--json` must carry (issue: bench).
var benchJSONFields = map[string][]string{
	"profile": nil, "offered_rps": nil, "achieved_rps": nil,
	"latency_ms":      {"p50", "p90", "p99", "p999", "max"},
	"hit_ratio":       nil,
	"origin_rps":      nil,
	"invalidation_ms": {"p50", "p99", "max"},
	"stale_reads":     nil, "oversells": nil, "errors": nil,
}

func checkBenchJSON(t *testing.T, path, profile string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for f, sub := range benchJSONFields {
		v, ok := m[f]
		if !ok {
			t.Errorf("%s: no field %q", path, f)
			continue
		}
		for _, s := range sub {
			if _, ok := v.(map[string]any)[s]; !ok {
				t.Errorf("%s: no field %s.%s", path, f, s)
			}
		}
	}
	if m["profile"] != profile || m["oversells"].(float64) != 0 || m["stale_reads"].(float64) != 0 {
		t.Errorf("%s: profile %v, oversells %v, stale reads %v", path, m["profile"], m["oversells"], m["stale_reads"])
	}
	if m["achieved_rps"].(float64) <= 0 || m["latency_ms"].(map[string]any)["max"].(float64) <= 0 {
		t.Errorf("%s: nothing measured: achieved %v, latency %v", path, m["achieved_rps"], m["latency_ms"])
	}
	return m
}

// The documented command, shortened: its own embedded topology, the JSON
// with every field, and the HTML report with its charts inlined.
func TestBenchSmallProfile(t *testing.T) {
	dir := t.TempDir()
	out, report := filepath.Join(dir, "out.json"), filepath.Join(dir, "report")
	code, stdout, stderr := runCLI(t, nil, "bench", "--profile", "small", "--duration", "3s", "--warmup", "1s", "--json", out, "--report", report)
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	for _, want := range []string{"read latency", "edge hit ratio", "invalidation", "stock audit", "0 oversells"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	checkBenchJSON(t, out, "small")
	html, err := os.ReadFile(filepath.Join(report, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(html), `<img src="data:image/png;base64,`); n < 3 {
		t.Errorf("report has %d inline charts, want at least 3", n)
	}
}

// Bench against a running demo, through the topology file it wrote.
func TestBenchAgainstDemoTopology(t *testing.T) {
	path := filepath.Join(t.TempDir(), "topo.json")
	p := start(t, nil, "demo", "--regions", "2", "--edges", "1", "--topology-file", path)
	tf := readTopology(t, path, p)
	out := filepath.Join(t.TempDir(), "out.json")
	code, stdout, stderr := runCLI(t, nil, "bench", "--topology-file", path, "--profile", "small", "--links", "200", "--skus", "20",
		"--rate", "50", "--write-rate", "5", "--duration", "3s", "--warmup", "1s", "--json", out)
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	m := checkBenchJSON(t, out, "small")
	edges := m["targets"].(map[string]any)["edges"].([]any)
	if len(edges) != len(tf.Regions[0].Edges)+len(tf.Regions[1].Edges) || m["targets"].(map[string]any)["source"] != "topology-file" {
		t.Errorf("targets %v, want the demo's edges", m["targets"])
	}
}

func TestBenchBadFlags(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.json")
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"admin_key":"k","regions":[{"origin":"javascript:x","edges":["http://127.0.0.1:1"]}]}`), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--profile", "huge"}, "profile"},
		{[]string{"bench", "--duration", "-1s"}, "duration"},
		{[]string{"bench", "--warmup", "-1s"}, "--warmup"},
		{[]string{"bench", "--write-rate", "-5"}, "--write-rate"},
		{[]string{"bench", "--edge", "http://127.0.0.1:1"}, "go together"},
		{[]string{"bench", "--topology-file", missing}, "topology-file"},
		{[]string{"bench", "--topology-file", bad}, "not a base URL"},
		{[]string{"bench", "--topology-file", bad, "--edge", "http://127.0.0.1:1"}, "not both"},
	} {
		code, stdout, stderr := runCLI(t, nil, tc.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || stdout != "" || len(lines) != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line containing %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
}
