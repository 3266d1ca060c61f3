package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// Bulk jobs (keyspace.go lists the keys). A job's hash and chunks share
// the job's hash tag; each line is applied by stock_write in its SKU's
// slot, which also sets the line's bit in the job's bitmap of that slot:
// the bit is the line's idempotency identity (job + line), written in the
// same atomic step as the movement, so re-running a chunk after a crash
// replays the lines that applied instead of applying them again. The
// cursor then moves by compare-and-set (job_progress), so a chunk is
// counted once even when two workers ran it.

// CreateJob writes the chunks, then the job hash, then the queue entry. A
// crash in between leaves chunks without a job, or a job not in the queue
// (never answered 202): both are invisible and harmless.
func (s *Store) CreateJob(ctx context.Context, j store.NewJob) (store.Job, error) {
	if err := j.Check(); err != nil {
		return store.Job{}, err
	}
	if s.closed.Load() {
		return store.Job{}, s.classify("create job", redis.ErrClosed)
	}
	created := j.CreatedAt.UTC()
	job := store.Job{ID: j.ID, Kind: j.Kind, Status: store.JobQueued, Lines: j.Lines, Failed: j.Failed, Errors: j.Errors,
		Actor: j.Actor, CreatedAt: created, Chunks: j.Chunks()}
	if job.Chunks == 0 {
		job.Status = store.FinalStatus(j.Lines, 0)
	}
	for from := 0; from < job.Chunks; from += 100 {
		pipe := s.rw.Pipeline()
		for i := from; i < min(from+100, job.Chunks); i++ {
			pipe.Set(ctx, s.ks.jobChunk(j.ID, i), j.EncodedChunk(i), 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return store.Job{}, s.classify("create job", err)
		}
	}
	errs, err := json.Marshal(job.Errors)
	if err != nil {
		return store.Job{}, err
	}
	// runDurable: with WaitReplicas, the 202 waits until replicas hold the
	// job hash, and so the chunks written before it on the same master.
	kind := []any{}
	if j.Kind != store.JobKindStock {
		kind = []any{"k", j.Kind}
	}
	v, err := s.runDurable(ctx, scriptJobCreate, []string{s.ks.job(j.ID)}, append(kind,
		"st", job.Status, "n", job.Lines, "ok", 0, "ko", job.Failed, "e", string(errs), "a", job.Actor,
		"ct", created.Format(time.RFC3339Nano), "c", job.Chunks, "x", 0, "o", "", "lu", 0)...)
	if err != nil {
		return store.Job{}, err
	}
	if tag, _, err := replyOf(v); err != nil || tag != "ok" {
		if err == nil {
			err = fmt.Errorf("%w: job %s exists", store.ErrInvalid, j.ID)
		}
		return store.Job{}, err
	}
	if !job.Ended() {
		if err := s.queueJob(ctx, j.ID, created); err != nil {
			return store.Job{}, err
		}
	}
	return job, nil
}

// queueJob adds the job to the pending queue, and with WaitReplicas waits
// for replicas on the same connection, so a failover cannot forget it.
func (s *Store) queueJob(ctx context.Context, id string, created time.Time) error {
	z := redis.Z{Score: float64(created.UnixMilli()), Member: id}
	if s.wait <= 0 {
		if err := s.rw.ZAdd(ctx, s.ks.jobQueue(), z).Err(); err != nil {
			return s.classify("create job", err)
		}
		return nil
	}
	node, err := s.masterFor(ctx, s.ks.jobQueue())
	if err != nil {
		return s.classify("create job", err)
	}
	pipe := node.Pipeline()
	add := pipe.ZAdd(ctx, s.ks.jobQueue(), z)
	w := redis.NewIntCmd(ctx, "wait", s.wait, s.cfg.WaitTimeout.Milliseconds())
	_ = pipe.Process(ctx, w)
	_, _ = pipe.Exec(ctx)
	if err := add.Err(); err != nil {
		return s.classify("create job", err)
	}
	if w.Val() < int64(s.wait) {
		return fmt.Errorf("%w: %w: redisstore: job %s queued but acknowledged by %d of %d replicas", store.ErrOutcomeUnknown, store.ErrUnavailable, id, w.Val(), s.wait)
	}
	return nil
}

// GetJob reads the job hash from the master (a job's progress is read by
// the client that polls it; a replica could show it going back).
func (s *Store) GetJob(ctx context.Context, id string) (store.Job, error) {
	if !store.ValidJobID(id) {
		return store.Job{ID: id}, fmt.Errorf("%w: job %q", store.ErrNotFound, id)
	}
	if s.closed.Load() {
		return store.Job{}, s.classify("get job", redis.ErrClosed)
	}
	h, err := s.rw.HGetAll(ctx, s.ks.job(id)).Result()
	if err != nil {
		return store.Job{}, s.classify("get job", err)
	}
	if len(h) == 0 {
		return store.Job{ID: id}, fmt.Errorf("%w: job %q", store.ErrNotFound, id)
	}
	return jobFromHash(id, h)
}

// PendingJobs lists the queue, oldest first.
func (s *Store) PendingJobs(ctx context.Context) ([]string, error) {
	if s.closed.Load() {
		return nil, s.classify("pending jobs", redis.ErrClosed)
	}
	ids, err := s.rw.ZRange(ctx, s.ks.jobQueue(), 0, -1).Result()
	if err != nil {
		return nil, s.classify("pending jobs", err)
	}
	return ids, nil
}

// RunJob takes the lease, pipelines the next chunk's lines (each its own
// atomic stock_write in its SKU's slot) and records the chunk's outcome.
func (s *Store) RunJob(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (store.Job, error) {
	if !store.ValidJobID(id) {
		return store.Job{ID: id}, fmt.Errorf("%w: job %q", store.ErrNotFound, id)
	}
	v, err := s.run(ctx, scriptJobClaim, []string{s.ks.job(id)}, owner, now.UnixMilli(), lease.Milliseconds(), store.JobKindStock)
	if err != nil {
		return store.Job{}, err
	}
	tag, rest, err := replyOf(v)
	if err != nil {
		return store.Job{}, err
	}
	if tag == "nf" {
		return store.Job{ID: id}, fmt.Errorf("%w: job %q", store.ErrNotFound, id)
	}
	job, err := jobFromReply(id, rest)
	if err != nil {
		return store.Job{}, err
	}
	switch tag {
	case "ended":
		// Its queue entry may have outlived a crash right after it ended.
		if err := s.rw.ZRem(ctx, s.ks.jobQueue(), id).Err(); err != nil {
			return job, s.classify("run job", err)
		}
		return job, nil
	case "kind":
		return job, fmt.Errorf("redisstore: run job %s: %w (%s)", id, store.ErrJobKind, job.Kind)
	case "leased":
		return job, fmt.Errorf("%w: job %s", store.ErrJobLeased, id)
	case "ok":
	default:
		return store.Job{}, errBadReplyf("job claim tag %q", tag)
	}
	if job.Next >= job.Chunks {
		return s.finishJob(ctx, job)
	}
	applied, errs, err := s.applyJobChunk(ctx, &job)
	if errors.Is(err, redis.Nil) {
		// Another worker finished this chunk (and dropped it) since the
		// claim: nothing to do but report where the job is now.
		return s.GetJob(ctx, id)
	}
	if err != nil {
		return job, err
	}
	merged, err := json.Marshal(store.MergeJobErrors(job.Errors, errs))
	if err != nil {
		return job, err
	}
	final := ""
	if job.Next+1 >= job.Chunks {
		final = store.FinalStatus(job.Lines, job.Applied+applied)
	}
	v, err = s.run(ctx, scriptJobProgress, []string{s.ks.job(id), s.ks.jobChunk(id, job.Next)},
		job.Next, applied, len(errs), string(merged), final)
	if err != nil {
		return job, err
	}
	if _, rest, err = replyOf(v); err != nil {
		return job, err
	}
	if job, err = jobFromReply(id, rest); err != nil {
		return job, err
	}
	if job.Ended() {
		if err := s.rw.ZRem(ctx, s.ks.jobQueue(), id).Err(); err != nil {
			return job, s.classify("run job", err)
		}
	}
	return job, nil
}

// finishJob ends a job whose chunks all ran but whose status was not
// written (an empty final progress: cannot happen with the script above,
// kept so a hand-edited hash does not loop forever).
func (s *Store) finishJob(ctx context.Context, job store.Job) (store.Job, error) {
	st := store.FinalStatus(job.Lines, job.Applied)
	if err := s.rw.HSet(ctx, s.ks.job(job.ID), "st", st).Err(); err != nil {
		return job, s.classify("run job", err)
	}
	job.Status = st
	return job, s.rw.ZRem(ctx, s.ks.jobQueue(), job.ID).Err()
}

// applyJobChunk runs chunk job.Next's lines: one stock_write_lines call
// per partition with all the chunk's lines of that partition in line
// order (one script call and one fence check for many lines), the calls
// pipelined. Lines of one SKU are in one call, so they apply in line
// order, also when a call is rerun after the pipeline (a fence or a
// missing script: nothing of that call ran). A transport error aborts the
// chunk (nothing is recorded; a re-run replays what did apply); a refused
// line is a failure of that line.
func (s *Store) applyJobChunk(ctx context.Context, job *store.Job) (applied int64, errs []store.JobError, err error) {
	raw, err := s.rw.Get(ctx, s.ks.jobChunk(job.ID, job.Next)).Bytes()
	if errors.Is(err, redis.Nil) {
		return 0, nil, err
	}
	if err != nil {
		return 0, nil, s.classify("run job", fmt.Errorf("chunk %d of job %s: %w", job.Next, job.ID, err))
	}
	lines, err := store.DecodeJobChunk(raw)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: job %s chunk %d: %w", errBadReply, job.ID, job.Next, err)
	}
	type partLines struct {
		call   *batchCall
		writes []store.StockWrite
		lines  []int64
	}
	byPart := make(map[int]*partLines)
	var calls []*batchCall
	var order []*partLines
	at := s.nowMs()
	for i := range lines {
		w := lines[i].Write(job.ID, job.Actor)
		if err := checkWrite(&w); err != nil {
			errs = append(errs, store.JobLineError(lines[i].Line, err))
			continue
		}
		p := s.space.Partition(keys.KindStock, w.SKU)
		pl := byPart[p]
		if pl == nil {
			pl = &partLines{call: &batchCall{
				keys: []string{s.ks.seq(p), s.ks.log(p), s.ks.jobBits(p, job.ID)},
				args: []any{at, s.cfg.ChangeStreamMaxLen, s.cfg.IdempotencyTTL.Milliseconds()},
			}}
			byPart[p] = pl
			calls = append(calls, pl.call)
			order = append(order, pl)
		}
		pl.call.args = append(pl.call.args, lines[i].Line, w.Op, w.Warehouse, w.Qty, w.To, w.SKU,
			keys.Key(keys.KindStock, w.SKU), w.Reason, w.Ref, w.Actor, w.IdempotencyKey)
		pl.writes = append(pl.writes, w)
		pl.lines = append(pl.lines, lines[i].Line)
	}
	if err := s.runBatchDurable(ctx, scriptStockLines, calls); errors.Is(err, store.ErrOutcomeUnknown) {
		return 0, nil, err
	}
	for _, pl := range order {
		if pl.call.err != nil {
			return 0, nil, pl.call.err
		}
		tag, rest, err := replyOf(pl.call.val)
		if err != nil {
			return 0, nil, err
		}
		if tag != "ok" || len(rest) != 2*len(pl.writes) {
			return 0, nil, errBadReplyf("stock_write_lines: %d values for %d lines (tag %q)", len(rest), len(pl.writes), tag)
		}
		for k := range pl.writes {
			lt, _ := rest[2*k].(string)
			if lt == "ok" || lt == "replay" {
				applied++
				continue
			}
			if _, err := stockWriteResult(&pl.writes[k], []any{lt, rest[2*k+1]}); err != nil {
				if errors.Is(err, errBadReply) {
					return 0, nil, err
				}
				errs = append(errs, store.JobLineError(pl.lines[k], err))
				continue
			}
			applied++
		}
	}
	return applied, errs, nil
}

func jobFromReply(id string, rest []any) (store.Job, error) {
	hv, err := at(rest, 0)
	if err != nil {
		return store.Job{}, err
	}
	h, err := toHash(hv)
	if err != nil {
		return store.Job{}, err
	}
	return jobFromHash(id, h)
}

// jobFromHash reads a job hash, checking every field.
func jobFromHash(id string, h map[string]string) (store.Job, error) {
	j := store.Job{ID: id, Kind: h["k"], Status: h["st"], Actor: h["a"]}
	var err error
	num := func(f string) int64 {
		n, e := strconv.ParseInt(h[f], 10, 64)
		if e != nil && err == nil {
			err = errBadReplyf("job %s field %s: %q", id, f, h[f])
		}
		return n
	}
	j.Lines, j.Applied, j.Failed = num("n"), num("ok"), num("ko")
	j.Chunks, j.Next = int(num("c")), int(num("x"))
	if err != nil {
		return store.Job{}, err
	}
	if j.CreatedAt, err = time.Parse(time.RFC3339Nano, h["ct"]); err != nil {
		return store.Job{}, errBadReplyf("job %s created: %q", id, h["ct"])
	}
	if err := json.Unmarshal([]byte(h["e"]), &j.Errors); err != nil {
		return store.Job{}, errBadReplyf("job %s errors: %v", id, err)
	}
	switch j.Status {
	case store.JobQueued, store.JobRunning, store.JobDone, store.JobFailed:
	default:
		return store.Job{}, errBadReplyf("job %s status %q", id, j.Status)
	}
	return j, nil
}

var _ store.JobQueue = (*Store)(nil)
