package embedded

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// The bulk job queue lives in the top-level "jobs" bucket:
//
//	recs     job id -> jobRec (JSON: small, written once per chunk)
//	chunks   job id 0x00 big-endian chunk index -> store.EncodeJobChunk
//	pending  timeKey(created) job id -> nothing: jobs not ended, oldest first
//
// RunJob applies a chunk's lines, their movements and changes, and moves
// the job's cursor (Next) in ONE transaction: a crash either keeps all of
// it or none of it, so a resumed job never applies a line twice. The
// chunk is deleted in the same transaction once applied.
var (
	bucketJobs        = []byte("jobs")
	bucketJobRecs     = []byte("recs")
	bucketJobChunks   = []byte("chunks")
	bucketJobsPending = []byte("pending")
)

func createJobsLayout(tx *bolt.Tx) error {
	root, err := tx.CreateBucketIfNotExists(bucketJobs)
	if err != nil {
		return err
	}
	for _, b := range [][]byte{bucketJobRecs, bucketJobChunks, bucketJobsPending} {
		if _, err := root.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	return nil
}

// jobBuckets are the queue's buckets inside a transaction.
type jobBuckets struct{ recs, chunks, pending *bolt.Bucket }

func jobsOf(tx *bolt.Tx) (*jobBuckets, error) {
	root := tx.Bucket(bucketJobs)
	if root == nil {
		return nil, fmt.Errorf("%w: bucket jobs missing", errCorrupt)
	}
	jb := &jobBuckets{root.Bucket(bucketJobRecs), root.Bucket(bucketJobChunks), root.Bucket(bucketJobsPending)}
	if jb.recs == nil || jb.chunks == nil || jb.pending == nil {
		return nil, fmt.Errorf("%w: a jobs sub-bucket is missing", errCorrupt)
	}
	return jb, nil
}

// jobRec is a job as stored: the public state plus its lease.
type jobRec struct {
	ID         string           `json:"id"`
	Kind       string           `json:"k,omitempty"`
	Status     string           `json:"st"`
	Lines      int64            `json:"n"`
	Applied    int64            `json:"ok"`
	Failed     int64            `json:"ko"`
	Errors     []store.JobError `json:"e,omitempty"`
	Actor      string           `json:"a,omitempty"`
	CreatedAt  time.Time        `json:"ct"`
	Chunks     int              `json:"c"`
	Next       int              `json:"x"`
	Owner      string           `json:"o,omitempty"`
	LeaseUntil time.Time        `json:"lu"`
}

func (r *jobRec) job() store.Job {
	return store.Job{ID: r.ID, Kind: r.Kind, Status: r.Status, Lines: r.Lines, Applied: r.Applied, Failed: r.Failed,
		Errors: r.Errors, Actor: r.Actor, CreatedAt: r.CreatedAt, Chunks: r.Chunks, Next: r.Next}
}

func chunkKey(id string, i int) []byte {
	return binary.BigEndian.AppendUint32(append([]byte(id), 0), uint32(i))
}

func pendingKey(r *jobRec) []byte {
	return append(appendTimeKey(make([]byte, 0, timeKeyLen+len(r.ID)), r.CreatedAt), r.ID...)
}

func getJobRec(jb *jobBuckets, id string) (*jobRec, error) {
	v := jb.recs.Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	var r jobRec
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("%w: job %q: %v", errCorrupt, id, err)
	}
	return &r, nil
}

func putJobRec(jb *jobBuckets, r *jobRec) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return jb.recs.Put([]byte(r.ID), b)
}

// CreateJob stores the job, its chunks and its queue entry in one
// transaction (a job is queued whole or not at all).
func (s *Store) CreateJob(ctx context.Context, j store.NewJob) (store.Job, error) {
	if err := j.Check(); err != nil {
		return store.Job{}, fmt.Errorf("embedded: create job: %w", err)
	}
	r := &jobRec{ID: j.ID, Kind: j.Kind, Status: store.JobQueued, Lines: j.Lines, Failed: j.Failed, Errors: j.Errors,
		Actor: j.Actor, CreatedAt: utc(j.CreatedAt), Chunks: j.Chunks()}
	if r.Chunks == 0 {
		r.Status = store.FinalStatus(r.Lines, 0)
	}
	// A batched write: POSTs that arrive together (a burst, the spike
	// bench profile) share one commit and one fsync instead of queueing
	// one transaction each behind the job worker's steps.
	var derr error
	err := s.write(ctx, "create job", func(tx *bolt.Tx) error {
		derr = nil
		jb, err := jobsOf(tx)
		if err != nil {
			return err
		}
		if jb.recs.Get([]byte(j.ID)) != nil {
			derr = fmt.Errorf("embedded: create job: %w: job %s exists", store.ErrInvalid, j.ID)
			return nil
		}
		for i := 0; i < r.Chunks; i++ {
			if err := jb.chunks.Put(chunkKey(j.ID, i), j.EncodedChunk(i)); err != nil {
				return err
			}
		}
		if !r.job().Ended() {
			if err := jb.pending.Put(pendingKey(r), nil); err != nil {
				return err
			}
		}
		return putJobRec(jb, r)
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return store.Job{}, err
	}
	return r.job(), nil
}

// GetJob returns a job.
func (s *Store) GetJob(ctx context.Context, id string) (store.Job, error) {
	var out *jobRec
	err := s.view(ctx, "get job", func(tx *bolt.Tx) error {
		jb, err := jobsOf(tx)
		if err != nil {
			return err
		}
		out, err = getJobRec(jb, id)
		return err
	})
	if err != nil {
		return store.Job{}, err
	}
	if out == nil {
		return store.Job{ID: id}, fmt.Errorf("embedded: get job: %w: job %q", store.ErrNotFound, id)
	}
	return out.job(), nil
}

// NextJobs is PendingJobs: one process owns the store, so its one worker
// runs every job (owner and stale have nothing to tell apart).
func (s *Store) NextJobs(ctx context.Context, _ string, _ time.Duration) ([]string, error) {
	return s.PendingJobs(ctx)
}

// PendingJobs lists the jobs not ended, oldest first.
func (s *Store) PendingJobs(ctx context.Context) ([]string, error) {
	var ids []string
	err := s.view(ctx, "pending jobs", func(tx *bolt.Tx) error {
		ids = nil
		jb, err := jobsOf(tx)
		if err != nil {
			return err
		}
		return jb.pending.ForEach(func(k, _ []byte) error {
			if len(k) <= timeKeyLen {
				return fmt.Errorf("%w: pending job key", errCorrupt)
			}
			ids = append(ids, string(k[timeKeyLen:]))
			return nil
		})
	})
	return ids, err
}

// RunJob applies the job's next chunk in one transaction (see above).
func (s *Store) RunJob(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (store.Job, error) {
	var out store.Job
	var derr error
	err := s.update(ctx, "run job", func(tx *bolt.Tx) error {
		out, derr = store.Job{}, nil
		jb, err := jobsOf(tx)
		if err != nil {
			return err
		}
		r, err := getJobRec(jb, id)
		if err != nil {
			return err
		}
		if r == nil {
			derr = fmt.Errorf("embedded: run job: %w: job %q", store.ErrNotFound, id)
			return nil
		}
		if r.job().Ended() {
			out = r.job()
			return nil
		}
		if r.Owner != "" && r.Owner != owner && now.Before(r.LeaseUntil) {
			out, derr = r.job(), fmt.Errorf("embedded: run job %s: %w (%s)", id, store.ErrJobLeased, r.Owner)
			return nil
		}
		if r.Kind != store.JobKindStock {
			out, derr = r.job(), fmt.Errorf("embedded: run job %s: %w (%s)", id, store.ErrJobKind, r.Kind)
			return nil
		}
		r.Owner, r.LeaseUntil, r.Status = owner, utc(now.Add(lease)), store.JobRunning
		for k := 0; k < stepChunks(s.space.N()) && r.Next < r.Chunks; k++ {
			if err := s.applyJobChunk(tx, jb, r); err != nil {
				return err
			}
		}
		if r.Next >= r.Chunks {
			r.Status = store.FinalStatus(r.Lines, r.Applied)
			if err := jb.pending.Delete(pendingKey(r)); err != nil {
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

// applyJobChunk applies chunk r.Next inside tx: every line through the
// same check, apply and putStock as WriteStock (so the same movement and
// change), then advances the cursor and drops the chunk.
func (s *Store) applyJobChunk(tx *bolt.Tx, jb *jobBuckets, r *jobRec) error {
	ck := chunkKey(r.ID, r.Next)
	raw := jb.chunks.Get(ck)
	if raw == nil {
		return fmt.Errorf("%w: job %s chunk %d missing", errCorrupt, r.ID, r.Next)
	}
	lines, err := store.DecodeJobChunk(raw)
	if err != nil {
		return fmt.Errorf("%w: job %s chunk %d: %v", errCorrupt, r.ID, r.Next, err)
	}
	parts := map[int]*part{}
	var errs []store.JobError
	for i := range lines {
		w := lines[i].Write(r.ID, r.Actor)
		if err := checkWrite(&w); err != nil {
			errs = append(errs, store.JobLineError(lines[i].Line, err))
			continue
		}
		p := s.space.Partition(keys.KindStock, w.SKU)
		pt := parts[p]
		if pt == nil {
			if pt, err = partOf(tx, p); err != nil {
				return err
			}
			parts[p] = pt
		}
		st, err := getStock(pt.stock, w.SKU)
		if err != nil {
			return err
		}
		if st == nil {
			st = &stockRec{}
		}
		moves, derr := applyStockWrite(st, &w)
		if derr != nil {
			errs = append(errs, store.JobLineError(lines[i].Line, derr))
			continue
		}
		meta := moveMeta{reason: w.Reason, ref: w.Ref, actor: w.Actor, ik: w.IdempotencyKey}
		if err := s.putStock(pt, w.SKU, st, meta, moves...); err != nil {
			return err
		}
		r.Applied++
	}
	r.Failed += int64(len(errs))
	r.Errors = store.MergeJobErrors(r.Errors, errs)
	r.Next++
	return jb.chunks.Delete(ck)
}

// chunksPerStep is how many chunks one RunJob applies in its one
// transaction (covering every partition the lines touch): a commit (fsync,
// and every page the lines dirtied) is the main cost, and a bigger step
// shares it over more lines, while staying short enough (a few thousand
// lines) not to hold other writers up long.
const chunksPerStep = 4

// stepChunks is chunksPerStep for a store of n partitions. A commit
// writes the pages of every partition bucket the step dirtied, so with
// many partitions the same lines dirty many more pages (at 1024, ~630
// partitions for 1000 SKUs: half the step's time was page writes). From
// 512 partitions a step takes 8 chunks, which gets back most of that
// (BenchmarkBulk at 1024: 45k lines/s at 4 chunks, 55-60k at 8) for a
// step of ~150 ms on a busy 2-core machine.
func stepChunks(n int) int {
	if n >= 512 {
		return 2 * chunksPerStep
	}
	return chunksPerStep
}

// update runs fn in its own write transaction: a job's step is large
// enough not to wait for a batch, and fn's domain errors are reported
// through captured variables (fn returns only storage errors).
func (s *Store) update(ctx context.Context, op string, fn func(*bolt.Tx) error) error {
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	err := s.db.Update(fn)
	if err == nil {
		s.notifyChanged()
	}
	if errors.Is(err, store.ErrInvalid) {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	return s.storageErr(op, err)
}

var _ store.JobQueue = (*Store)(nil)
