package origin

import (
	"context"
	"errors"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// The bulk job worker: one goroutine per origin (owned by the Server,
// stopped by Close) that runs queued jobs chunk by chunk through
// store.JobQueue.RunJob. Every origin of a region runs one, each a
// consumer of the store's queue (NextJobs: on Redis a stream's consumer
// group hands each job to one origin, and a dead origin's jobs to another
// once idle for the job lease); a job's lease keeps two workers from
// running the same job together (and if leases overlap anyway, the store
// still applies each line once). The owner name is the
// region plus a random part per process, so a job a crashed origin held is
// taken over once its lease (Config.JobLease, renewed at every step) runs
// out, by any origin, the restarted one included.

// kickJobs wakes the worker (a job was just queued here).
func (s *Server) kickJobs() {
	select {
	case s.jobKick <- struct{}{}:
	default:
	}
}

// jobIdlePoll bounds the worker's poll once the queue has been found
// empty: from JobPollInterval the wait doubles at each empty look up to
// this, and drops back at once when a job turns up or is queued here (the
// kick). A job queued through another origin of the region, or left by a
// crashed one, is found within it; an idle origin does not read the queue
// four times a second.
const jobIdlePoll = 2 * time.Second

func (s *Server) jobLoop() {
	defer s.wg.Done()
	every := s.cfg.JobPollInterval
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		if s.runPendingJobs() {
			every = s.cfg.JobPollInterval
		} else {
			every = min(2*every, max(jobIdlePoll, s.cfg.JobPollInterval))
		}
		t.Reset(every)
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.jobKick:
			every = s.cfg.JobPollInterval / 2 // doubled back to the interval if the kick finds none
		}
	}
}

// runPendingJobs runs every pending job to its end (or until another
// worker holds it, or Close), oldest first. It reports whether there was
// any (or the listing failed: keep polling at the normal pace).
func (s *Server) runPendingJobs() bool {
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	ids, err := s.jobs.NextJobs(ctx, s.jobOwner, s.cfg.JobLease)
	cancel()
	if err != nil {
		if s.ctx.Err() == nil {
			s.log.Warn("listing bulk jobs failed", "err", err)
		}
		return true
	}
	if len(ids) == 0 {
		return false
	}
	for _, id := range ids {
		for {
			select {
			case <-s.stop:
				return true
			default:
			}
			ctx, cancel := context.WithTimeout(s.ctx, s.cfg.JobLease)
			before := time.Now()
			j, err := s.jobs.RunJob(ctx, id, s.jobOwner, s.cfg.Clock.Now(), s.cfg.JobLease)
			cancel()
			if errors.Is(err, store.ErrJobLeased) {
				break // another origin runs it
			}
			if errors.Is(err, store.ErrJobKind) && s.chunkJobs != nil {
				s.runLinkJob(id) // a links import: the origin applies its lines
				break
			}
			if err != nil {
				if s.ctx.Err() == nil {
					s.log.Warn("bulk job step failed; will retry", "job", id, "err", err)
				}
				return true
			}
			s.metrics.jobSteps.Observe(time.Since(before).Seconds())
			if j.Ended() {
				s.log.Info("bulk job ended", "job", id, "status", j.Status, "lines", j.Lines, "applied", j.Applied, "failed", j.Failed)
				break
			}
		}
	}
	return true
}
