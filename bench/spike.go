package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
	"github.com/shortstock/shortstock/topology"
)

// The spike profile (`shortstock bench --profile spike`): the queue in
// front of stock writes under a burst. It measures the rate the bulk
// queue sustains (one calibration job), then offers Factor times that
// rate for Duration as POST /v1/stock:bulk jobs, and checks the three
// things a queue is for: the 202s stay fast while the burst lasts, the
// queue drains afterwards, and nothing is lost (every line's movement is
// in its SKU's ledger exactly once, every job done with every line
// applied).

// SpikeConfig configures RunSpike. Zero values take the defaults.
type SpikeConfig struct {
	// Origin and AdminKey target a running origin; empty Origin: an
	// in-process origin on an embedded store in a temporary directory.
	Origin, AdminKey string
	// Duration of the burst (default 10s); Factor times the sustained
	// rate is offered during it (default 5).
	Duration time.Duration
	Factor   float64
	// LinesPerJob is the lines of one POST (default 1000); SKUs the SKUs
	// the lines spread over (default 1000); CalibrationLines the lines of
	// the job that measures the sustained rate (default 20000).
	LinesPerJob, SKUs, CalibrationLines int
	// DrainTimeout bounds the wait for the queue to drain (default 10m).
	DrainTimeout time.Duration
	Logger       *slog.Logger
	Progress     io.Writer
}

// SpikeReport is what RunSpike measured.
type SpikeReport struct {
	SustainedLinesPerSec float64       `json:"sustained_lines_per_sec"`
	OfferedLinesPerSec   float64       `json:"offered_lines_per_sec"`
	Duration             time.Duration `json:"duration_ns"`
	Jobs                 int           `json:"jobs"`
	Lines                int64         `json:"lines"`
	// Accept latency of the POSTs (202), measured from each POST's
	// intended send time, so a backed-up sender counts.
	AcceptP50, AcceptP99, AcceptMax time.Duration
	// AcceptIdle is the calibration job's 202 with the queue idle (its
	// body is CalibrationLines lines, not LinesPerJob).
	AcceptIdle time.Duration
	// Rejected counts POSTs not answered 202.
	Rejected int `json:"rejected"`
	// Drain is from the end of the burst to the last job done.
	Drain time.Duration `json:"drain_ns"`
	// Applied and Failed add up the jobs' counts; Movements counts the
	// burst's movements found in the ledger, Duplicates the lines found
	// more than once, Lost the lines not found.
	Applied, Failed, Movements, Duplicates, Lost int64
}

func (c *SpikeConfig) fill() error {
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Factor == 0 {
		c.Factor = 5
	}
	if c.LinesPerJob == 0 {
		c.LinesPerJob = 1000
	}
	if c.SKUs == 0 {
		c.SKUs = 1000
	}
	if c.CalibrationLines == 0 {
		c.CalibrationLines = 20_000
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 10 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.Duration < 0 || c.Factor <= 0 || c.LinesPerJob < 1 || c.LinesPerJob > store.MaxJobLines || c.SKUs < 1 || c.CalibrationLines < 1 || c.DrainTimeout < 0 {
		return fmt.Errorf("%w: spike: duration %v, factor %v, lines per job %d, skus %d, calibration lines %d",
			ErrConfig, c.Duration, c.Factor, c.LinesPerJob, c.SKUs, c.CalibrationLines)
	}
	if (c.Origin == "") != (c.AdminKey == "") {
		return fmt.Errorf("%w: spike: --origin and --admin-key go together", ErrConfig)
	}
	return nil
}

// spikeClient talks to one origin's admin API.
type spikeClient struct {
	base, auth string
	hc         *http.Client
}

func (c *spikeClient) do(ctx context.Context, method, path, ctype string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", c.auth)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return resp.StatusCode, nil
}

// postJob queues lines and returns the job ID.
func (c *spikeClient) postJob(ctx context.Context, body []byte) (string, error) {
	var ans struct {
		Job string `json:"job"`
	}
	code, err := c.do(ctx, "POST", "/v1/stock:bulk", "application/x-ndjson", body, &ans)
	if err == nil && (code != http.StatusAccepted || ans.Job == "") {
		err = fmt.Errorf("POST /v1/stock:bulk: %d, job %q", code, ans.Job)
	}
	return ans.Job, err
}

type spikeJob struct {
	Status  string `json:"status"`
	Lines   int64  `json:"lines"`
	Applied int64  `json:"applied"`
	Failed  int64  `json:"failed"`
}

// waitJobs polls the jobs until every one has ended; it returns when the
// last one was seen ended and the jobs' final states.
func (c *spikeClient) waitJobs(ctx context.Context, ids []string) (time.Time, []spikeJob, error) {
	out := make([]spikeJob, len(ids))
	next := 0
	for next < len(ids) {
		var j spikeJob
		if _, err := c.do(ctx, "GET", "/v1/jobs/"+ids[next], "", nil, &j); err != nil {
			return time.Time{}, nil, err
		}
		if j.Status == store.JobDone || j.Status == store.JobFailed {
			out[next] = j
			next++
			continue
		}
		select {
		case <-ctx.Done():
			return time.Time{}, nil, fmt.Errorf("%w: %d of %d jobs still queued or running", ctx.Err(), len(ids)-next, len(ids))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return time.Now(), out, nil
}

// spikeBody is one job's NDJSON: lines from the first-th on, spread over
// the SKUs; adjusts of +1, each line's ref "<run>-<tag>-<line>" so the
// ledger check can find it (or sets, for the seed).
func spikeBody(run, tag string, first, lines, skus int, op string) []byte {
	var b bytes.Buffer
	for i := range lines {
		sku := spikeSKU((first + i) % skus)
		if op == "set" {
			fmt.Fprintf(&b, `{"op":"set","sku":%q,"warehouse":"w1","on_hand":1000000000,"reason":"cycle_count","ref":"%s-seed"}`+"\n", sku, run)
			continue
		}
		fmt.Fprintf(&b, `{"op":"adjust","sku":%q,"warehouse":"w1","delta":1,"reason":"received","ref":"%s-%s-%d"}`+"\n", sku, run, tag, i)
	}
	return b.Bytes()
}

func spikeSKU(i int) string { return fmt.Sprintf("SPIKE-%05d", i) }

// RunSpike runs the spike profile.
func RunSpike(ctx context.Context, cfg SpikeConfig) (*SpikeReport, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	pr := func(format string, a ...any) { fmt.Fprintf(cfg.Progress, "spike: "+format+"\n", a...) }
	if cfg.Origin == "" {
		stop, base, key, err := startSpikeOrigin(cfg.Logger)
		if err != nil {
			return nil, err
		}
		defer stop()
		cfg.Origin, cfg.AdminKey = base, key
	}
	c := &spikeClient{base: strings.TrimRight(cfg.Origin, "/"), auth: "Bearer " + cfg.AdminKey,
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	run := "spike" + keys.RandomCode(8)
	rep := &SpikeReport{Duration: cfg.Duration}

	// Seed and calibrate: the sustained rate is one job's lines over the
	// time from its 202 to its end (the queue's own pace, one job at a
	// time as one origin's worker takes them).
	pr("seeding %d SKUs", cfg.SKUs)
	id, err := c.postJob(ctx, spikeBody(run, "seed", 0, cfg.SKUs, cfg.SKUs, "set"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTarget, err)
	}
	if _, _, err := c.waitJobs(ctx, []string{id}); err != nil {
		return nil, err
	}
	pr("calibrating: one job of %d lines", cfg.CalibrationLines)
	calBody := spikeBody(run, "c", 0, cfg.CalibrationLines, cfg.SKUs, "adjust")
	start := time.Now()
	if id, err = c.postJob(ctx, calBody); err != nil {
		return nil, err
	}
	rep.AcceptIdle = time.Since(start)
	end, cal, err := c.waitJobs(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	rep.SustainedLinesPerSec = float64(cfg.CalibrationLines) / end.Sub(start).Seconds()
	rep.OfferedLinesPerSec = cfg.Factor * rep.SustainedLinesPerSec
	wantLines := cal[0].Applied

	// The burst: jobs paced evenly, each sent at its intended time by its
	// own goroutine, so a slow 202 delays no other send.
	every := time.Duration(float64(time.Second) * float64(cfg.LinesPerJob) / rep.OfferedLinesPerSec)
	n := max(1, int(cfg.Duration/every))
	pr("sustained %.0f lines/s; offering %.0f lines/s for %v: %d jobs of %d lines, one every %v",
		rep.SustainedLinesPerSec, rep.OfferedLinesPerSec, cfg.Duration, n, cfg.LinesPerJob, every.Round(time.Microsecond))
	bodies := make([][]byte, n)
	for j := range bodies {
		bodies[j] = spikeBody(run, fmt.Sprint(j), j*cfg.LinesPerJob, cfg.LinesPerJob, cfg.SKUs, "adjust")
	}
	ids := make([]string, n)
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	t0 := time.Now()
	for j := range n {
		at := t0.Add(time.Duration(j) * every)
		time.Sleep(time.Until(at))
		wg.Go(func() {
			id, err := c.postJob(ctx, bodies[j])
			lat[j] = time.Since(at)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				rep.Rejected++
				cfg.Logger.Warn("spike: POST refused", "job", j, "err", err)
				return
			}
			ids[j] = id
		})
	}
	wg.Wait()
	burstEnd := time.Now()
	rep.Jobs = n
	slices.Sort(lat)
	rep.AcceptP50, rep.AcceptP99, rep.AcceptMax = lat[n/2], lat[min(n-1, n*99/100)], lat[n-1]
	accepted := slices.DeleteFunc(slices.Clone(ids), func(s string) bool { return s == "" })
	rep.Lines = int64(len(accepted) * cfg.LinesPerJob)

	pr("burst sent in %v (202 p50 %v, p99 %v); waiting for the queue to drain", burstEnd.Sub(t0).Round(time.Millisecond),
		rep.AcceptP50.Round(time.Microsecond), rep.AcceptP99.Round(time.Microsecond))
	dctx, cancel := context.WithTimeout(ctx, cfg.DrainTimeout)
	defer cancel()
	last, jobs, err := c.waitJobs(dctx, accepted)
	if err != nil {
		return rep, err
	}
	rep.Drain = max(0, last.Sub(burstEnd))
	for _, j := range jobs {
		rep.Applied += j.Applied
		rep.Failed += j.Failed
	}

	// Nothing lost: every burst line's movement (found by its ref) in the
	// ledger exactly once, and the calibration job's too.
	pr("drained %v after the burst; checking every line's movement", rep.Drain.Round(time.Millisecond))
	seen := map[string]int{}
	var calibration int64
	for k := range cfg.SKUs {
		sku := spikeSKU(k)
		after := ""
		for {
			var page struct {
				Movements []struct {
					Ref string `json:"ref"`
				} `json:"movements"`
				Next *string `json:"next"`
			}
			path := "/v1/stock/" + sku + "/movements?limit=1000"
			if after != "" {
				path += "&after=" + after
			}
			if _, err := c.do(ctx, "GET", path, "", nil, &page); err != nil {
				return rep, err
			}
			for _, m := range page.Movements {
				switch {
				case strings.HasPrefix(m.Ref, run+"-c-"):
					calibration++
				case strings.HasPrefix(m.Ref, run+"-") && m.Ref != run+"-seed":
					seen[m.Ref]++
				}
			}
			if page.Next == nil {
				break
			}
			after = *page.Next
		}
	}
	for _, c := range seen {
		rep.Movements += int64(c)
		if c > 1 {
			rep.Duplicates += int64(c - 1)
		}
	}
	rep.Lost = rep.Lines - int64(len(seen))
	if calibration != wantLines {
		rep.Lost += wantLines - calibration
	}
	if rep.Lost != 0 || rep.Duplicates != 0 || rep.Failed != 0 || rep.Applied != rep.Lines || rep.Rejected != 0 {
		return rep, fmt.Errorf("%w: %d lines lost, %d applied twice, %d failed, %d of %d applied, %d POSTs refused",
			ErrSpikeLost, rep.Lost, rep.Duplicates, rep.Failed, rep.Applied, rep.Lines, rep.Rejected)
	}
	return rep, nil
}

// ErrSpikeLost: the queue lost, duplicated or refused lines.
var ErrSpikeLost = errors.New("bench: spike: the queue lost or duplicated lines")

// startSpikeOrigin starts one in-process origin (with its job worker) on
// an embedded store in a temporary directory.
func startSpikeOrigin(log *slog.Logger) (stop func(), base, adminKey string, err error) {
	dir, err := os.MkdirTemp("", "shortstock-spike-")
	if err != nil {
		return nil, "", "", fmt.Errorf("%w: %w", ErrTarget, err)
	}
	st, err := embedded.Open(embedded.DefaultConfig(dir))
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, "", "", fmt.Errorf("%w: embedded store: %w", ErrTarget, err)
	}
	adminKey = "bench-" + keys.RandomCode(32)
	oc := origin.DefaultConfig()
	oc.Store, oc.AdminKeys = st, []string{adminKey}
	oc.InternalInsecure = true // no edge calls it
	oc.KeyRate, oc.IPRate = -1, -1
	node, err := topology.StartOrigin(topology.OriginOptions{Origin: oc, Listen: "127.0.0.1:0", Logger: log})
	if err != nil {
		_ = st.Close()
		_ = os.RemoveAll(dir)
		return nil, "", "", fmt.Errorf("%w: origin: %w", ErrTarget, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = node.Shutdown(ctx)
		_ = st.Close()
		_ = os.RemoveAll(dir)
	}, node.URL, adminKey, nil
}

// PrintSpike prints a spike report as a small table.
func PrintSpike(w io.Writer, r *SpikeReport) error {
	_, err := fmt.Fprintf(w, `spike profile: the bulk queue under a burst
  sustained (one job, 202 to done)   %.0f lines/s
  offered during the burst           %.0f lines/s for %v (%d jobs, %d lines)
  202 latency (from intended send)   p50 %v  p99 %v  max %v  (refused: %d; idle queue: %v)
  drain after the burst              %v
  applied / failed                   %d / %d
  movements found / duplicates / lost %d / %d / %d
`, r.SustainedLinesPerSec, r.OfferedLinesPerSec, r.Duration, r.Jobs, r.Lines,
		r.AcceptP50.Round(time.Microsecond), r.AcceptP99.Round(time.Microsecond), r.AcceptMax.Round(time.Microsecond), r.Rejected, r.AcceptIdle.Round(time.Microsecond),
		r.Drain.Round(time.Millisecond), r.Applied, r.Failed, r.Movements, r.Duplicates, r.Lost)
	return err
}
