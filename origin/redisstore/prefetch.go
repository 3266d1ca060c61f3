package redisstore

import (
	"context"
	"sync"

	"github.com/shortstock/shortstock/origin/store"
)

// stepPrefetch reads and cuts a bulk job's next step (prepareStep: GETs
// and decoding, no writes) while the current step's scripts run in Redis,
// so that the client's part of a step is off the path Redis waits on. It
// holds at most one step per job, taken by the next RunJob of that job
// when it starts at the same chunk; any other is dropped. The store owns
// its goroutines: Close cancels and waits for them.
type stepPrefetch struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	byJob  map[string]*prefetched
}

// prefetched is one step being read; prep and err are set before done
// closes.
type prefetched struct {
	next, k int
	done    chan struct{}
	prep    *stepPrep
	err     error
}

// maxPrefetched bounds the jobs with a step read ahead (a job whose
// worker stopped running it leaves one behind).
const maxPrefetched = 16

func newStepPrefetch() *stepPrefetch {
	ctx, cancel := context.WithCancel(context.Background())
	return &stepPrefetch{ctx: ctx, cancel: cancel, byJob: map[string]*prefetched{}}
}

// start reads chunks next .. next+k-1 of job in the background.
func (p *stepPrefetch) start(s *Store, job store.Job, next, k int) {
	f := &prefetched{next: next, k: k, done: make(chan struct{})}
	p.mu.Lock()
	if p.ctx.Err() != nil {
		p.mu.Unlock()
		return // closed
	}
	if _, ok := p.byJob[job.ID]; !ok && len(p.byJob) >= maxPrefetched {
		for id := range p.byJob {
			delete(p.byJob, id)
			break
		}
	}
	p.byJob[job.ID] = f
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		defer close(f.done)
		f.prep, f.err = s.prepareStep(p.ctx, &job, next, k)
	}()
}

// take returns the step read ahead for job id starting at chunk next with
// k chunks, waiting for it to be read, or nil when there is none (or its
// read failed: the caller reads the step itself, and reports any error).
func (p *stepPrefetch) take(id string, next, k int) *stepPrep {
	p.mu.Lock()
	f := p.byJob[id]
	delete(p.byJob, id)
	p.mu.Unlock()
	if f == nil || f.next != next || f.k != k {
		return nil
	}
	<-f.done
	if f.err != nil {
		return nil
	}
	return f.prep
}

// forget drops what was read ahead for job id (it ended).
func (p *stepPrefetch) forget(id string) {
	p.mu.Lock()
	delete(p.byJob, id)
	p.mu.Unlock()
}

// close stops the reads under way and waits for them. Idempotent.
func (p *stepPrefetch) close() {
	p.mu.Lock()
	p.cancel()
	p.byJob = map[string]*prefetched{}
	p.mu.Unlock()
	p.wg.Wait()
}
