package origin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob/fileblob"

	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/tiering"
)

// The tiers API and the cold tier through the admin API, on every backend:
// every exchange is checked against docs/openapi.yaml.
func TestTiersAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		if b.name == "redis-cluster" {
			t.Skip("the cold tier's cluster behaviour is covered by storetest.RunCold")
		}
		st := b.open(t)
		bucket, err := fileblob.OpenBucket(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		const after = 150 * time.Millisecond
		tr, err := tiering.New(tiering.Config{Store: st, Bucket: bucket, After: after, NoMover: true,
			Timeout: 300 * time.Millisecond, Backoff: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		o := newTestOriginOn(t, st, func(c *origin.Config) { c.Cold = tr })
		t.Cleanup(func() { tr.Close(); bucket.Close() }) // before the origin's cleanup closes the store
		for i := 0; i < 7; i++ {
			expect(t, o.admin("POST", "/v1/links", map[string]any{"code": fmt.Sprintf("t%d", i), "url": "https://example.com/t"}), http.StatusCreated, "")
		}
		m := expect(t, o.admin("GET", "/v1/tiers", nil), http.StatusOK, "")
		if m["enabled"] != true || m["last_run"] != nil || m["hot"].(map[string]any)["links"] != 7.0 {
			t.Fatalf("tiers before a pass: %v", m)
		}
		expect(t, o.admin("POST", "/v1/tiers/run", nil), http.StatusAccepted, "")
		waitRun := func() {
			deadline := time.Now().Add(10 * time.Second)
			for {
				m = expect(t, o.admin("GET", "/v1/tiers", nil), http.StatusOK, "")
				if m["last_run"] != nil && m["mover"].(map[string]any)["running"] == false {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("the pass never ended: %v", m)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		waitRun()
		time.Sleep(after + 50*time.Millisecond)
		tr.Pass(context.Background())
		m = expect(t, o.admin("GET", "/v1/tiers", nil), http.StatusOK, "")
		if c := m["cold"].(map[string]any); c["links"] != 7.0 || c["segments"] != 1.0 || m["hot"].(map[string]any)["links"] != 0.0 {
			t.Fatalf("tiers after the move: %v", m)
		}
		// An edge's fetch of a cold link (internal API) answers it at its
		// version, as for a hot one.
		r := o.do("GET", "/internal/v1/links/t5", "", nil)
		var rec wire.LinkRecord
		if r.status != http.StatusOK || json.Unmarshal(r.body, &rec) != nil || rec.Version != 1 || r.header.Get(wire.HeaderVersion) != "1" {
			t.Fatalf("internal fetch of a cold link: %d %s", r.status, r.body)
		}
		// A cold link reads at its version (and is promoted).
		if l := expect(t, o.admin("GET", "/v1/links/t0", nil), http.StatusOK, ""); l["version"] != 1.0 {
			t.Fatalf("cold link: %v", l)
		}
		// PATCH and DELETE of cold links; a create over a cold code.
		if l := expect(t, o.admin("PATCH", "/v1/links/t1", map[string]any{"title": "x"}), http.StatusOK, ""); l["version"] != 2.0 {
			t.Fatalf("patch of a cold link: %v", l)
		}
		expect(t, o.admin("DELETE", "/v1/links/t2", nil), http.StatusNoContent, "")
		expect(t, o.admin("GET", "/v1/links/t2", nil), http.StatusNotFound, "not_found")
		expect(t, o.admin("POST", "/v1/links", map[string]any{"code": "t3", "url": "https://example.com/other"}), http.StatusConflict, "code_taken")
		expect(t, o.admin("GET", "/v1/links/nowhere", nil), http.StatusNotFound, "not_found")
		// An import naming a cold code is refused before anything is written.
		expect(t, o.admin("POST", "/v1/links:import", "url,code\nhttps://example.com/a,imp1\nhttps://example.com/b,t3\n", "Content-Type", "text/csv"), http.StatusConflict, "code_taken")
		expect(t, o.admin("GET", "/v1/links/imp1", nil), http.StatusNotFound, "not_found")
		// Refused before writing: not even a tombstone of imp1 (its create
		// is version 1).
		if l := expect(t, o.admin("POST", "/v1/links", map[string]any{"code": "imp1", "url": "https://example.com/i"}), http.StatusCreated, ""); l["version"] != 1.0 {
			t.Fatalf("imp1 was written by the refused import: %v", l)
		}
		// Clicks an edge reports for a cold link (served from its cache)
		// bring it back hot and are counted.
		hotLinks := func() any {
			return expect(t, o.admin("GET", "/v1/tiers", nil), http.StatusOK, "")["hot"].(map[string]any)["links"]
		}
		hot0 := hotLinks().(float64)
		expect(t, o.do("POST", wire.PathClicks, "", clickBatch("cold-clicks-1", map[string]int64{"t4": 3, "t0": 1})), http.StatusNoContent, "")
		if h := hotLinks(); h != hot0+1 {
			t.Fatalf("hot links %v after clicks of a cold link, %v before: it was not promoted", h, hot0)
		}
		if l := expect(t, o.admin("GET", "/v1/links/t4", nil), http.StatusOK, ""); l["clicks"] != 3.0 || l["version"] != 1.0 {
			t.Fatalf("cold link after 3 clicks: %v", l)
		}
		// The tier's metrics are on the origin's /_/metrics.
		metrics := string(o.do("GET", "/_/metrics", "", nil).body)
		for _, name := range []string{"shortstock_cold_reads_total", "shortstock_cold_promotions_total",
			"shortstock_cold_bloom_false_positives_total", "shortstock_cold_mover_runs_total", "shortstock_cold_evicted_total"} {
			if !strings.Contains(metrics, name+"{") {
				t.Errorf("/_/metrics has no %s", name)
			}
		}
		if !strings.Contains(metrics, `shortstock_cold_evicted_total{region="local"} 7`) {
			t.Errorf("evicted count not 7:\n%s", grepLines(metrics, "shortstock_cold_"))
		}
		// The cold store gone: a cold link answers 503, hot ones 200.
		bucket.Close()
		expect(t, o.admin("GET", "/v1/links/t6", nil), http.StatusServiceUnavailable, "storage_unavailable")
		if r := o.do("GET", "/internal/v1/links/t6", "", nil); r.status != http.StatusServiceUnavailable {
			t.Fatalf("internal fetch of a cold link with the cold store gone: %d %s", r.status, r.body)
		}
		expect(t, o.admin("GET", "/v1/links/t0", nil), http.StatusOK, "")
	})
}

// Without a cold tier nothing changes; the tiers API says so.
func TestTiersAPIOff(t *testing.T) {
	o := newTestOrigin(t, backends[0])
	m := expect(t, o.admin("GET", "/v1/tiers", nil), http.StatusOK, "")
	if m["enabled"] != false {
		t.Fatalf("tiers without a cold tier: %v", m)
	}
	expect(t, o.admin("POST", "/v1/tiers/run", nil), http.StatusNotImplemented, "not_implemented")
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
