package origin_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/store"
)

// importBody is n NDJSON link lines: even lines name a code (qi-N), odd
// ones leave it to the origin; all carry extras, so a replayed line must
// match on all of them.
func importBody(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		code := ""
		if i%2 == 0 {
			code = fmt.Sprintf(`,"code":"%s-%d"`, prefix, i)
		}
		fmt.Fprintf(&b, `{"url":"https://example.com/%s/%d"%s,"tags":["%s","t%d"],"title":"Q %d","max_visits":%d,"forward_query":true}`+"\n", prefix, i, code, prefix, i%3, i, i+1)
	}
	return b.String()
}

func postImport(t *testing.T, o *testOrigin, body string) string {
	t.Helper()
	r := o.admin("POST", "/v1/links:import", body)
	m := expect(t, r, 202, "")
	id, _ := m["job"].(string)
	if id == "" || r.header.Get("Location") != "/v1/jobs/"+id || len(m) != 1 {
		t.Fatalf("202 answer %s, Location %q", r.body, r.header.Get("Location"))
	}
	return id
}

// checkImported: the export holds exactly the n imported links (no line
// created twice, none missing) plus extra others.
func checkImported(t *testing.T, o *testOrigin, n, extra int) {
	t.Helper()
	all := exportLines(t, o, "?tag=qi")
	if len(all) != n {
		t.Fatalf("%d links tagged qi after importing %d lines", len(all), n)
	}
	urls := map[string]bool{}
	for _, l := range all {
		urls[l["url"].(string)] = true
	}
	if len(urls) != n {
		t.Fatalf("%d distinct targets among %d imported links: a line was created twice", len(urls), n)
	}
	if got := len(exportLines(t, o, "")); got != n+extra {
		t.Fatalf("%d links in all, want %d", got, n+extra)
	}
	l := expect(t, o.admin("GET", "/v1/links/qi-4", nil), 200, "")
	if l["url"] != "https://example.com/qi/4" || l["max_visits"] != 5.0 || l["title"] != "Q 4" || l["forward_query"] != true {
		t.Fatalf("imported qi-4: %v", l)
	}
}

// TestQueuedImport: an import over the synchronous limit is checked whole,
// queued, and run by the job worker; a bad or taken line refuses the whole
// file before anything is queued. Small imports still answer 200.
func TestQueuedImport(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b, withScopedKeys, func(c *origin.Config) { c.ImportSyncMaxLines = 10 })
		expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://example.com/old", "code": "taken"}), 201, "")
		if m := expect(t, o.admin("POST", "/v1/links:import", `{"url":"https://example.com/s","code":"small"}`), 200, ""); m["created"] != 1.0 {
			t.Fatalf("small import: %v", m)
		}

		n := 2*store.JobChunkLines + 300
		id := postImport(t, o, importBody("qi", n))
		m := waitJob(t, o, id)
		if m["status"] != "done" || m["lines"] != float64(n) || m["applied"] != float64(n) || m["failed"] != 0.0 {
			t.Fatalf("import job: %v", m)
		}
		checkImported(t, o, n, 2)

		// The job is a links job: a links key may read it, a stock key not.
		expect(t, o.do("GET", "/v1/jobs/"+id, linksKey, nil), 200, "")
		expect(t, o.do("GET", "/v1/jobs/"+id, readKey, nil), 200, "")
		expect(t, o.do("GET", "/v1/jobs/"+id, stockKey, nil), 403, "forbidden")
		stockJob := postBulk(t, o, `{"op":"set","sku":"QS","warehouse":"w","on_hand":1}`)
		expect(t, o.do("GET", "/v1/jobs/"+stockJob, linksKey, nil), 403, "forbidden")
		expect(t, o.do("GET", "/v1/jobs/"+stockJob, stockKey, nil), 200, "")

		// A bad line, or a taken code, anywhere in a large file: refused
		// whole with its line numbers, nothing queued or created.
		bad := strings.Split(importBody("r", 50), "\n")
		bad[7] = `{"url":"ftp://nope"}`
		bad[41] = `not json`
		m = expect(t, o.admin("POST", "/v1/links:import", strings.Join(bad, "\n")), 400, "invalid_import")
		if errs := m["errors"].([]any); len(errs) != 2 || errs[0].(map[string]any)["line"] != 8.0 || errs[1].(map[string]any)["line"] != 42.0 {
			t.Fatalf("bad lines reported: %v", m)
		}
		taken := strings.Replace(importBody("r", 50), `"code":"r-48"`, `"code":"taken"`, 1)
		m = expect(t, o.admin("POST", "/v1/links:import", taken), 409, "code_taken")
		if e := m["errors"].([]any)[0].(map[string]any); e["line"] != 49.0 {
			t.Fatalf("taken code reported at %v, want line 49", e)
		}
		// The stock job above runs meanwhile, and leaves the queue just
		// after its status reads done: then nothing may be left queued.
		waitJob(t, o, stockJob)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			ids, err := o.store.(store.JobQueue).PendingJobs(t.Context())
			if err == nil && len(ids) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pending after refused imports: %v, %v", ids, err)
			}
		}
		checkImported(t, o, n, 2)
	})
}

// TestQueuedImportReplayedAfterCrash: an origin creates a chunk's links
// and dies before the job records that chunk (the store refuses the
// record, then the origin is closed). The next origin takes the job over
// once the lease ran out and replays the chunk: every line is applied
// and counted once, generated codes included (no second link for a line).
func TestQueuedImportReplayedAfterCrash(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		st := b.open(t)
		crash := &crashingJobs{Store: st, jobs: st.(store.JobQueue), chunks: st.(store.ChunkJobs), failAt: 1, failed: make(chan struct{})}
		var wrapped store.Store = crash
		if bc, ok := st.(store.BatchCreator); ok {
			wrapped = &crashingBatchJobs{crash, bc}
		}
		// A short lease: on Redis the job's stream entry passes to the next
		// origin once idle that long (real time; the fake clock below
		// only ends the job hash's lease).
		cfg := func(c *origin.Config) { c.ImportSyncMaxLines, c.JobLease = 10, 3*time.Second }
		o := newTestOriginOn(t, wrapped, cfg)
		n := 3*store.JobChunkLines - 1
		id := postImport(t, o, importBody("qi", n))
		select {
		case <-crash.failed:
		case <-time.After(3 * time.Minute):
			// Generous: the guarantee is the replay, not the speed, and
			// under CI's race phase the Redis Cluster's commands time out
			// for seconds at a time while the worker retries (it ran out
			// of a 60 s wait twice).
			t.Fatal("the worker never reached the second chunk")
		}
		o.srv.Close()
		if j, err := st.(store.JobQueue).GetJob(t.Context(), id); err != nil || j.Next != 1 || j.Applied != store.JobChunkLines {
			t.Fatalf("job after the crash: %+v, %v (want chunk 0 recorded, chunk 1 not)", j, err)
		}
		o2 := newTestOriginOn(t, st, cfg)
		o2.clock.Advance(time.Hour) // the dead origin's lease has run out
		m := waitJob(t, o2, id)
		if m["status"] != "done" || m["applied"] != float64(n) || m["failed"] != 0.0 {
			t.Fatalf("resumed import job: %v", m)
		}
		checkImported(t, o2, n, 0)
	})
}

// crashingJobs is a store whose FinishJobChunk fails for chunk failAt,
// after the origin created that chunk's links: the window a crash hits.
type crashingJobs struct {
	store.Store
	jobs   store.JobQueue
	chunks store.ChunkJobs
	failAt int
	once   sync.Once
	failed chan struct{}
}

var errInjectedCrash = errors.New("injected crash before the chunk is recorded")

func (c *crashingJobs) CreateJob(ctx context.Context, j store.NewJob) (store.Job, error) {
	return c.jobs.CreateJob(ctx, j)
}
func (c *crashingJobs) GetJob(ctx context.Context, id string) (store.Job, error) {
	return c.jobs.GetJob(ctx, id)
}
func (c *crashingJobs) PendingJobs(ctx context.Context) ([]string, error) {
	return c.jobs.PendingJobs(ctx)
}
func (c *crashingJobs) NextJobs(ctx context.Context, owner string, stale time.Duration) ([]string, error) {
	return c.jobs.NextJobs(ctx, owner, stale)
}
func (c *crashingJobs) RunJob(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (store.Job, error) {
	return c.jobs.RunJob(ctx, id, owner, now, lease)
}
func (c *crashingJobs) ClaimJobChunk(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (store.Job, []byte, error) {
	return c.chunks.ClaimJobChunk(ctx, id, owner, now, lease)
}
func (c *crashingJobs) FinishJobChunk(ctx context.Context, j store.Job, applied int64, errs []store.JobError) (store.Job, error) {
	if j.Next == c.failAt {
		c.once.Do(func() { close(c.failed) })
		return j, errInjectedCrash
	}
	return c.chunks.FinishJobChunk(ctx, j, applied, errs)
}

// crashingBatchJobs keeps the store's batch creation visible.
type crashingBatchJobs struct {
	*crashingJobs
	bc store.BatchCreator
}

func (c *crashingBatchJobs) CreateLinks(ctx context.Context, ls []store.NewLink) ([]store.Link, error) {
	return c.bc.CreateLinks(ctx, ls)
}

// chunksOnly forwards a store's ChunkJobs but not its JobQueue, as a
// wrapper that missed a method would.
type chunksOnly struct {
	store.Store
	store.ChunkJobs
}

// TestImportWithoutJobQueueStaysSynchronous: an import over the
// synchronous limit on a store with no job queue is applied at once (it
// used to reach the queue's nil interface and panic).
func TestImportWithoutJobQueueStaysSynchronous(t *testing.T) {
	st := backends[0].open(t) // embedded
	o := newTestOriginOn(t, chunksOnly{st, st.(store.ChunkJobs)}, func(c *origin.Config) { c.ImportSyncMaxLines = 10 })
	if m := expect(t, o.admin("POST", "/v1/links:import", importBody("ns", 30)), 200, ""); m["created"] != 30.0 {
		t.Fatalf("import: %v", m)
	}
}
