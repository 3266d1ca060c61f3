package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/origin/store"
)

// Jobs whose lines the origin applies (store.ChunkJobs): the same claim
// and progress scripts as RunJob, with the apply step left to the caller.
// job_progress moves the cursor only from the chunk it names, so a chunk
// two workers ran is counted once.

// ClaimJobChunk takes the lease and reads the next chunk.
func (s *Store) ClaimJobChunk(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (store.Job, []byte, error) {
	if !store.ValidJobID(id) {
		return store.Job{ID: id}, nil, fmt.Errorf("%w: job %q", store.ErrNotFound, id)
	}
	v, err := s.run(ctx, scriptJobClaim, []string{s.ks.job(id)}, owner, now.UnixMilli(), lease.Milliseconds(), store.JobKindLinks)
	if err != nil {
		return store.Job{}, nil, err
	}
	tag, rest, err := replyOf(v)
	if err != nil {
		return store.Job{}, nil, err
	}
	if tag == "nf" {
		return store.Job{ID: id}, nil, fmt.Errorf("%w: job %q", store.ErrNotFound, id)
	}
	job, err := jobFromReply(id, rest)
	if err != nil {
		return store.Job{}, nil, err
	}
	switch tag {
	case "ended":
		// Its stream entry may have outlived a crash right after it ended.
		if err := s.dequeueJob(ctx, id); err != nil {
			return job, nil, err
		}
		return job, nil, nil
	case "kind":
		return job, nil, fmt.Errorf("redisstore: claim job %s: %w (%q)", id, store.ErrJobKind, job.Kind)
	case "leased":
		return job, nil, fmt.Errorf("%w: job %s", store.ErrJobLeased, id)
	case "ok":
	default:
		return store.Job{}, nil, errBadReplyf("job claim tag %q", tag)
	}
	if job.Next >= job.Chunks {
		job, err = s.finishJob(ctx, job)
		return job, nil, err
	}
	s.touchJob(ctx, id, owner, now, lease)
	raw, err := s.rw.Get(ctx, s.ks.jobChunk(id, job.Next)).Bytes()
	if errors.Is(err, redis.Nil) {
		// Another worker finished this chunk (and dropped it) since the
		// claim: report where the job is now, without a chunk.
		job, err = s.GetJob(ctx, id)
		return job, nil, err
	}
	if err != nil {
		return job, nil, s.classify("claim job", fmt.Errorf("chunk %d of job %s: %w", job.Next, id, err))
	}
	return job, raw, nil
}

// FinishJobChunk records chunk j.Next's outcome through job_progress.
func (s *Store) FinishJobChunk(ctx context.Context, j store.Job, applied int64, errs []store.JobError) (store.Job, error) {
	if !store.ValidJobID(j.ID) {
		return store.Job{ID: j.ID}, fmt.Errorf("%w: job %q", store.ErrNotFound, j.ID)
	}
	merged, err := json.Marshal(store.MergeJobErrors(j.Errors, errs))
	if err != nil {
		return j, err
	}
	final := ""
	if j.Next+1 >= j.Chunks {
		final = store.FinalStatus(j.Lines, j.Applied+applied)
	}
	v, err := s.run(ctx, scriptJobProgress, []string{s.ks.job(j.ID), s.ks.jobChunk(j.ID, j.Next)},
		j.Next, applied, len(errs), string(merged), final)
	if err != nil {
		return j, err
	}
	_, rest, err := replyOf(v)
	if err != nil {
		return j, err
	}
	job, err := jobFromReply(j.ID, rest)
	if err != nil {
		return j, err
	}
	if job.Ended() {
		if err := s.dequeueJob(ctx, j.ID); err != nil {
			return job, err
		}
	}
	return job, nil
}

var _ store.ChunkJobs = (*Store)(nil)
