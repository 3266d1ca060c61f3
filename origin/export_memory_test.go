package origin_test

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin"
)

// exportScale is how many links TestExportConstantMemory exports: 1 M
// with SHORTSTOCK_LINKS_LONG=1 (a few minutes), else 30 000.
func exportScale() int {
	if os.Getenv("SHORTSTOCK_LINKS_LONG") == "1" {
		return 1000000
	}
	return 30000
}

// TestExportConstantMemory: links imported into the embedded store are
// exported back, all of them, while the heap in use stays within a bound
// that does not grow with the number of links (the export streams one
// page at a time). The figures are logged: peak heap over the baseline,
// and the process's peak RSS (VmHWM, which includes the import).
func TestExportConstantMemory(t *testing.T) {
	n := exportScale()
	const perImport = 100000
	// Synchronous imports: the test is about the export.
	o := newTestOrigin(t, backends[0], func(c *origin.Config) { c.ImportSyncMaxLines = perImport })
	for start := 0; start < n; start += perImport {
		var b strings.Builder
		for i := start; i < min(start+perImport, n); i++ {
			fmt.Fprintf(&b, "{\"url\":\"https://example.com/landing/%d?utm_source=export\",\"code\":\"x%07d\",\"tags\":[\"bulk\"]}\n", i, i)
		}
		r := o.admin("POST", "/v1/links:import", b.String(), "Content-Type", "application/x-ndjson")
		if m := expect(t, r, 200, ""); m["created"] != float64(min(perImport, n-start)) {
			t.Fatalf("import: %v", m)
		}
	}
	// With the default GOGC the heap may hold garbage up to the size of
	// the live heap before a collection, which would measure the pacer,
	// not the export: collect early, so the peak is the live heap.
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(5 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	req, _ := http.NewRequest("GET", o.url+"/v1/links:export?tag=bulk", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		lines++
	}
	res.Body.Close()
	close(stop)
	<-done
	if lines != n {
		t.Fatalf("exported %d links, want %d", lines, n)
	}
	grew := int64(peak.Load()) - int64(base)
	t.Logf("exported %d links; heap in use %d MiB before, peak %+d MiB during the export; %s", n, base>>20, grew>>20, vmHWM())
	// One page of 1000 links (and the 64 partitions' candidates for it)
	// is a few MiB; 64 MiB is far above that and far below 1 M links.
	if grew > 64<<20 {
		t.Fatalf("the heap grew by %d MiB during the export: not constant memory", grew>>20)
	}
}

func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "VmHWM unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return "peak RSS (" + strings.Join(strings.Fields(l), " ") + ")"
		}
	}
	return "VmHWM unknown"
}
