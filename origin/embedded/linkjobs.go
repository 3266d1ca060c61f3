package embedded

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/origin/store"
)

// Jobs whose lines the origin applies (store.ChunkJobs): a claim and a
// finish, each one transaction over the same records as RunJob.

// ClaimJobChunk takes the lease and returns the next chunk (a copy: bbolt
// memory is valid only inside its transaction).
func (s *Store) ClaimJobChunk(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (store.Job, []byte, error) {
	var out store.Job
	var chunk []byte
	var derr error
	err := s.update(ctx, "claim job chunk", func(tx *bolt.Tx) error {
		out, chunk, derr = store.Job{}, nil, nil
		jb, r, err := jobRecIn(tx, id)
		if err != nil || r == nil {
			derr = fmt.Errorf("embedded: claim job: %w: job %q", store.ErrNotFound, id)
			return err
		}
		if r.job().Ended() {
			out = r.job()
			return nil
		}
		if r.Kind != store.JobKindLinks {
			out, derr = r.job(), fmt.Errorf("embedded: claim job %s: %w (%q)", id, store.ErrJobKind, r.Kind)
			return nil
		}
		if r.Owner != "" && r.Owner != owner && now.Before(r.LeaseUntil) {
			out, derr = r.job(), fmt.Errorf("embedded: claim job %s: %w (%s)", id, store.ErrJobLeased, r.Owner)
			return nil
		}
		r.Owner, r.LeaseUntil, r.Status = owner, utc(now.Add(lease)), store.JobRunning
		if r.Next >= r.Chunks {
			if err := endJob(jb, r); err != nil {
				return err
			}
		} else if raw := jb.chunks.Get(chunkKey(r.ID, r.Next)); raw != nil {
			chunk = bytes.Clone(raw)
		} else {
			return fmt.Errorf("%w: job %s chunk %d missing", errCorrupt, r.ID, r.Next)
		}
		out = r.job()
		return putJobRec(jb, r)
	})
	if err != nil {
		return store.Job{}, nil, err
	}
	return out, chunk, derr
}

// FinishJobChunk records chunk j.Next's outcome if the cursor is still
// there (else returns the job as it is).
func (s *Store) FinishJobChunk(ctx context.Context, j store.Job, applied int64, errs []store.JobError) (store.Job, error) {
	var out store.Job
	var derr error
	err := s.update(ctx, "finish job chunk", func(tx *bolt.Tx) error {
		out, derr = store.Job{}, nil
		jb, r, err := jobRecIn(tx, j.ID)
		if err != nil || r == nil {
			derr = fmt.Errorf("embedded: finish job chunk: %w: job %q", store.ErrNotFound, j.ID)
			return err
		}
		out = r.job()
		if r.job().Ended() || r.Next != j.Next {
			return nil // another worker recorded it
		}
		r.Applied += applied
		r.Failed += int64(len(errs))
		r.Errors = store.MergeJobErrors(r.Errors, errs)
		if err := jb.chunks.Delete(chunkKey(r.ID, r.Next)); err != nil {
			return err
		}
		r.Next++
		if r.Next >= r.Chunks {
			if err := endJob(jb, r); err != nil {
				return err
			}
		}
		out = r.job()
		return putJobRec(jb, r)
	})
	if err != nil {
		return store.Job{}, err
	}
	return out, derr
}

func jobRecIn(tx *bolt.Tx, id string) (*jobBuckets, *jobRec, error) {
	jb, err := jobsOf(tx)
	if err != nil {
		return nil, nil, err
	}
	r, err := getJobRec(jb, id)
	return jb, r, err
}

// endJob gives a job whose chunks all ran its final status and takes it
// off the queue.
func endJob(jb *jobBuckets, r *jobRec) error {
	r.Status = store.FinalStatus(r.Lines, r.Applied)
	return jb.pending.Delete(pendingKey(r))
}

var _ store.ChunkJobs = (*Store)(nil)
