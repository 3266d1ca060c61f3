package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
		// Its stream entry may have outlived a crash right after it ended.
		if err := s.dequeueJob(ctx, id); err != nil {
			return job, err
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
	k := min(stepChunks(s.space.N()), job.Chunks-job.Next)
	prep := s.prefetch.take(id, job.Next, k)
	if prep == nil {
		if prep, err = s.prepareStep(ctx, &job, job.Next, k); err != nil {
			return job, err
		}
	}
	if after := job.Next + len(prep.steps); !prep.gone && after < job.Chunks {
		// Read and cut the next step while this one runs in Redis.
		s.prefetch.start(s, job, after, min(stepChunks(s.space.N()), job.Chunks-after))
	}
	steps, err := s.applyJobChunks(ctx, &job, prep)
	if errors.Is(err, redis.Nil) {
		// Another worker finished this chunk (and dropped it) since the
		// claim: nothing to do but report where the job is now.
		return s.GetJob(ctx, id)
	}
	if err != nil {
		return job, err
	}
	// One progress record per chunk, in order, all in one call: each
	// counts only if the cursor is still at its chunk (another worker that
	// ran it replayed its lines and must not count them twice), and the
	// first that does not ends the call (the rest are that worker's to
	// record). Each chunk's errors are merged with those before it, as
	// the job hash holds them once the chunk before is recorded.
	keys := make([]string, 1, 1+len(steps))
	keys[0] = s.ks.job(id)
	args := make([]any, 0, 5*len(steps))
	errs, applied := job.Errors, job.Applied
	for c, st := range steps {
		errs = store.MergeJobErrors(errs, st.errs)
		merged, err := json.Marshal(errs)
		if err != nil {
			return job, err
		}
		applied += st.applied
		final := ""
		if job.Next+c+1 >= job.Chunks {
			final = store.FinalStatus(job.Lines, applied)
		}
		keys = append(keys, s.ks.jobChunk(id, job.Next+c))
		args = append(args, job.Next+c, st.applied, len(st.errs), string(merged), final)
	}
	v, err = s.run(ctx, scriptJobProgress, keys, args...)
	if err != nil {
		return job, err
	}
	_, rest, err = replyOf(v)
	if err != nil {
		return job, err
	}
	if job, err = jobFromReply(id, rest); err != nil {
		return job, err
	}
	if job.Ended() {
		return job, s.dequeueJob(ctx, id)
	}
	s.touchJob(ctx, id, owner, now, lease)
	return job, nil
}

// stepChunks is how many chunks one RunJob step applies, for a store of
// n partitions. Every partition a step touches costs its scripts a fixed
// part (the fence check, the counters, the line bits: ~10 commands) on
// top of its lines; at 1024 partitions a chunk of 1000 lines over 1000
// SKUs puts ~1.6 lines in each of ~630 partitions, and that fixed part
// doubles Redis's CPU per line. A step of several chunks puts ~16 lines or
// more in each partition it touches (16 measured 6-14 % more lines/s than 8
// on one Redis with appendfsync always). The scripts stay bounded: a step's
// lines go in calls of at most maxLinesPerCall (runJobParts).
func stepChunks(n int) int {
	return max(1, min(maxChunksPerStep, (16*n+store.JobChunkLines-1)/store.JobChunkLines))
}

const maxChunksPerStep = 16

// finishJob ends a job whose chunks all ran but whose status was not
// written (an empty final progress: cannot happen with the script above,
// kept so a hand-edited hash does not loop forever).
func (s *Store) finishJob(ctx context.Context, job store.Job) (store.Job, error) {
	st := store.FinalStatus(job.Lines, job.Applied)
	if err := s.rw.HSet(ctx, s.ks.job(job.ID), "st", st).Err(); err != nil {
		return job, s.classify("run job", err)
	}
	job.Status = st
	return job, s.dequeueJob(ctx, job.ID)
}

// chunkStep is what one chunk of a step applied and which of its lines
// failed.
type chunkStep struct {
	applied int64
	errs    []store.JobError
}

// applyJobChunks runs the lines of chunks job.Next .. job.Next+k-1 (fewer
// if a later chunk is gone: another worker's) and reports each chunk's
// outcome. The lines are cut by partition (each partition's lines in
// chunk and line order) and the partitions one node serves go to that
// node in stock_write_parts calls of at most maxLinesPerCall lines, each
// partition whole in one call (a standalone server: a few scripts per
// step, whatever the partition count); each partition's lines run there
// exactly as stock_write_lines runs them. Where the servers cannot (no
// script flags before Redis 7.0, or a slot that moved between nodes
// meanwhile: the call is refused before it writes), the partitions go
// one stock_write_lines call each, pipelined. Lines of one SKU are in one
// partition, so they apply in line order, also when a call is rerun (a
// fence or a missing script: nothing of that call ran; a line that did
// apply answers 'replay'). A transport error aborts the step (nothing is
// recorded; a re-run replays what did apply); a refused line is a failure
// of that line. redis.Nil: the first chunk is gone.
func (s *Store) applyJobChunks(ctx context.Context, job *store.Job, prep *stepPrep) ([]chunkStep, error) {
	if prep.gone {
		return nil, redis.Nil
	}
	steps, order := prep.steps, prep.order
	at := s.nowMs()
	if err := s.runJobLines(ctx, job.ID, job.Actor, at, order); err != nil {
		return nil, err
	}
	for _, pl := range order {
		if len(pl.flags) != len(pl.writes) {
			return nil, errBadReplyf("stock_write_lines: %d outcomes for %d lines", len(pl.flags), len(pl.writes))
		}
		refused := pl.refused
		for k := range pl.writes {
			st := &steps[pl.chunks[k]]
			if pl.flags[k] != 'e' { // 'o' applied now, 'r' before
				st.applied++
				continue
			}
			r := refused[0] // splitLinesReply: one per 'e', in order
			refused = refused[1:]
			if _, err := stockWriteResult(&pl.writes[k], []any{r.tag, r.x}); err != nil {
				if errors.Is(err, errBadReply) {
					return nil, err
				}
				st.errs = append(st.errs, store.JobLineError(pl.lines[k], err))
				continue
			}
			st.applied++
		}
	}
	// A chunk's failures in line order, as one chunk alone reported them.
	for c := range steps {
		slices.SortStableFunc(steps[c].errs, func(a, b store.JobError) int { return cmp.Compare(a.Line, b.Line) })
	}
	return steps, nil
}

// stepPrep is a step's chunks read and cut by partition, before any line
// runs: per chunk read, the lines refused before running (checkWrite),
// and per partition its lines (see applyJobChunks).
type stepPrep struct {
	steps []chunkStep
	order []*partLines
	gone  bool // the first chunk is gone: another worker finished it
}

// prepareStep reads chunks next .. next+k-1 of job (fewer if a later one
// is gone) and cuts their lines by partition. It writes nothing, so it
// may run ahead of the step before it (prefetch.go).
func (s *Store) prepareStep(ctx context.Context, job *store.Job, next, k int) (*stepPrep, error) {
	pipe := s.rw.Pipeline()
	gets := make([]*redis.StringCmd, k)
	for c := range k {
		gets[c] = pipe.Get(ctx, s.ks.jobChunk(job.ID, next+c))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.classify("run job", fmt.Errorf("chunks %d.. of job %s: %w", next, job.ID, err))
	}
	prep := &stepPrep{steps: make([]chunkStep, 0, k)}
	byPart := make(map[int]*partLines)
	for c := range k {
		raw, err := gets[c].Bytes()
		if errors.Is(err, redis.Nil) {
			if c == 0 {
				prep.gone = true
				return prep, nil
			}
			break // a later chunk gone: run the ones before it
		}
		if err != nil {
			return nil, s.classify("run job", fmt.Errorf("chunk %d of job %s: %w", next+c, job.ID, err))
		}
		lines, err := store.DecodeJobChunk(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: job %s chunk %d: %w", errBadReply, job.ID, next+c, err)
		}
		prep.steps = append(prep.steps, chunkStep{})
		for i := range lines {
			w := lines[i].Write(job.ID, job.Actor)
			if err := checkWrite(&w); err != nil {
				prep.steps[c].errs = append(prep.steps[c].errs, store.JobLineError(lines[i].Line, err))
				continue
			}
			p := s.space.Partition(keys.KindStock, w.SKU)
			pl := byPart[p]
			if pl == nil {
				pl = &partLines{p: p}
				byPart[p] = pl
				prep.order = append(prep.order, pl)
			}
			// Actor and idempotency key go once per call (lineArgs).
			pl.args = append(pl.args, lines[i].Line, w.Op, w.Warehouse, w.Qty, w.To, w.SKU, w.Reason, w.Ref)
			pl.writes = append(pl.writes, w)
			pl.lines = append(pl.lines, lines[i].Line)
			pl.chunks = append(pl.chunks, c)
		}
	}
	return prep, nil
}

// partLines are a chunk's lines of one partition: their arguments (8
// values each, see stock_write_lines.lua), writes and line numbers, and
// once run, their outcomes (splitLinesReply).
type partLines struct {
	p      int
	args   []any
	writes []store.StockWrite
	lines  []int64
	chunks []int // per line, its chunk's index in the step
	// Once run: per line a letter ('o' applied, 'r' a replay, 'e'
	// refused), and per refused line, in order, its tag and extra value.
	flags   string
	refused []lineRefusal
}

// lineRefusal is a refused line's stock_apply tag and extra value.
type lineRefusal struct {
	tag string
	x   any
}

// splitLinesReply hands the answer of one stock_write_lines or
// stock_write_parts call (lua/common.lua lines_reply, after its tag) to
// the partitions whose lines it ran, in argument order.
func splitLinesReply(script string, rest []any, parts []*partLines) error {
	total := 0
	for _, pl := range parts {
		total += len(pl.writes)
	}
	v, _ := at(rest, 0)
	flags, ok := v.(string)
	if !ok || len(flags) != total || (len(rest)-1)%3 != 0 {
		return errBadReplyf("%s: %d values, want letters for %d lines", script, len(rest), total)
	}
	var refused []lineRefusal
	prev := int64(0)
	for i := 1; i < len(rest); i += 3 {
		idx, ok1 := rest[i].(int64)
		tag, ok2 := rest[i+1].(string)
		if !ok1 || !ok2 || idx <= prev || idx > int64(total) || flags[idx-1] != 'e' {
			return errBadReplyf("%s: refused line %v %v", script, rest[i], rest[i+1])
		}
		prev = idx
		refused = append(refused, lineRefusal{tag: tag, x: rest[i+2]})
	}
	off := 0
	for _, pl := range parts {
		n := len(pl.writes)
		pl.flags = flags[off : off+n]
		e := strings.Count(pl.flags, "e")
		if e > len(refused) || strings.Trim(pl.flags, "ore") != "" {
			return errBadReplyf("%s: outcomes %q", script, pl.flags)
		}
		pl.refused, refused = refused[:e], refused[e:]
		off += n
	}
	return nil
}

// runJobLines runs every partition's lines (see applyJobChunks) and fills
// in their outcomes.
func (s *Store) runJobLines(ctx context.Context, jobID, actor, at string, order []*partLines) error {
	single := order
	if !s.noParts.Load() && len(order) > 1 {
		var err error
		if single, err = s.runJobParts(ctx, jobID, actor, at, order); err != nil {
			return err
		}
	}
	calls := make([]*batchCall, len(single))
	for i, pl := range single {
		calls[i] = &batchCall{
			keys: []string{s.ks.seq(pl.p), s.ks.log(pl.p), s.ks.jobBits(pl.p, jobID)},
			args: append(s.lineArgs(at, jobID, actor), pl.args...),
		}
	}
	if err := s.runBatchDurable(ctx, scriptStockLines, calls); errors.Is(err, store.ErrOutcomeUnknown) {
		return err
	}
	for i, pl := range single {
		if calls[i].err != nil {
			return calls[i].err
		}
		tag, rest, err := replyOf(calls[i].val)
		if err != nil {
			return err
		}
		if tag != "ok" {
			return errBadReplyf("stock_write_lines: tag %q", tag)
		}
		if err := splitLinesReply("stock_write_lines", rest, []*partLines{pl}); err != nil {
			return err
		}
	}
	return nil
}

// lineArgs are the first arguments of stock_write_lines and
// stock_write_parts: what every line of the call shares.
func (s *Store) lineArgs(at, jobID, actor string) []any {
	return []any{at, s.cfg.ChangeStreamMaxLen, s.cfg.IdempotencyTTL.Milliseconds(), actor, store.JobLinePrefix(jobID)}
}

// maxLinesPerCall bounds the lines of one stock_write_parts call (a
// partition with more goes alone): Redis runs nothing else while a script
// runs, and a call of one chunk's worth (~30 ms) was the bound before
// steps took several chunks.
const maxLinesPerCall = store.JobChunkLines

// runJobParts runs the partitions of each node in stock_write_parts calls
// (at most maxLinesPerCall lines each, pipelined) and returns the partitions left to run one by one: those
// of a call the node refused (it wrote nothing: every key is checked in
// the script's epoch pass before any write).
func (s *Store) runJobParts(ctx context.Context, jobID, actor, at string, order []*partLines) ([]*partLines, error) {
	type group struct {
		parts []*partLines
		lines int
		call  *batchCall
	}
	var groups []*group
	byNode := map[*redis.Client]*group{}
	for _, pl := range order {
		node, err := s.masterFor(ctx, s.ks.seq(pl.p))
		if err != nil {
			return nil, s.classify("run job", err)
		}
		g := byNode[node]
		if g == nil || g.lines > 0 && g.lines+len(pl.writes) > maxLinesPerCall {
			// A new call for this node: one script must not hold the
			// server for a whole step.
			g = &group{call: &batchCall{keys: []string{s.ks.seq(pl.p)}, args: s.lineArgs(at, jobID, actor)}}
			byNode[node] = g
			groups = append(groups, g)
		}
		g.lines += len(pl.writes)
		g.parts = append(g.parts, pl)
		g.call.parts = append(g.call.parts, pl.p)
		g.call.args = append(append(g.call.args, s.ks.part[pl.p], s.ks.jobBits(pl.p, jobID), len(pl.writes)), pl.args...)
	}
	calls := make([]*batchCall, len(groups))
	for i, g := range groups {
		calls[i] = g.call
	}
	if err := s.runBatchDurable(ctx, scriptStockParts, calls); errors.Is(err, store.ErrOutcomeUnknown) {
		return nil, err
	}
	var left []*partLines
	for _, g := range groups {
		if err := g.call.err; err != nil {
			var reply redis.Error
			if !errors.As(err, &reply) {
				return nil, err
			}
			// Refused before it ran: no script flags (Redis < 7.0), or a
			// key this node does not serve (a slot moved).
			if strings.Contains(err.Error(), "shebang") || strings.Contains(err.Error(), "flag") {
				s.noParts.Store(true)
			}
			left = append(left, g.parts...)
			continue
		}
		tag, rest, err := replyOf(g.call.val)
		if err != nil {
			return nil, err
		}
		if tag != "ok" {
			return nil, errBadReplyf("stock_write_parts: tag %q", tag)
		}
		if err := splitLinesReply("stock_write_parts", rest, g.parts); err != nil {
			return nil, err
		}
	}
	return left, nil
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
