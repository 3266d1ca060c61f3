package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Job statuses (API.md "Stock ledger and jobs").
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// Bulk job bounds: what one POST /v1/stock:bulk may carry, and how many
// lines a store applies per step (one bbolt transaction, one Redis
// pipeline; the unit of the job's durable cursor).
const (
	MaxJobLines   = 1_000_000
	MaxJobErrors  = 100
	JobChunkLines = 1000
	// MaxJobIDLen bounds a job ID ([a-z0-9], chosen by the origin).
	MaxJobIDLen = 40
)

// JobLine is one valid line of a bulk job: a set, adjust or transfer and
// its 1-based line number in the submitted body. Its derived idempotency
// identity is (job ID, Line): a store applies it at most once however often
// the job is resumed.
type JobLine struct {
	Line      int64
	Op        string
	SKU       string
	Warehouse string
	To        string
	Qty       int64
	Reason    string
	Ref       string
}

// Write is the StockWrite a job line stands for (the idempotency key the
// movement records names the job and the line; stores apply it through
// their own exactly-once mechanism, not the per-key claim).
func (l *JobLine) Write(jobID, actor string) StockWrite {
	return StockWrite{Op: l.Op, SKU: l.SKU, Warehouse: l.Warehouse, To: l.To, Qty: l.Qty,
		Reason: l.Reason, Ref: l.Ref, Actor: actor, IdempotencyKey: JobLineKey(jobID, l.Line)}
}

// JobLineKey is the idempotency key a job line's movements carry.
func JobLineKey(jobID string, line int64) string {
	return JobLinePrefix(jobID) + strconv.FormatInt(line, 10)
}

// JobLinePrefix is what every line key of the job starts with: a line's
// key is it and the line number.
func JobLinePrefix(jobID string) string { return "job:" + jobID + ":" }

// JobError is one failed line: its number, a machine code and a sentence.
type JobError struct {
	Line    int64  `json:"line"`
	Error   string `json:"error"`
	Message string `json:"message"`
}

// NewJob is what CreateJob stores: the lines that parsed (Valid, in line
// order) and the failures found while parsing (Failed of them, the first
// MaxJobErrors in Errors).
type NewJob struct {
	ID string
	// Kind is JobKindStock (the zero value) or JobKindLinks; a links job
	// carries Links instead of Valid (linkjobs.go).
	Kind      string
	Actor     string
	Lines     int64 // every line of the body, valid or not
	Failed    int64
	Errors    []JobError
	Valid     []JobLine
	Links     []LinkJobLine
	CreatedAt time.Time
}

// Job is a bulk job's state. Applied + Failed == Lines when it has ended.
// Chunks is how many chunks of JobChunkLines valid lines it holds, Next the
// first chunk not yet applied (the durable cursor).
type Job struct {
	ID        string
	Kind      string
	Status    string
	Lines     int64
	Applied   int64
	Failed    int64
	Errors    []JobError
	Actor     string
	CreatedAt time.Time
	Chunks    int
	Next      int
}

// JobQueue is a store's durable queue of bulk stock jobs. Jobs and their
// lines survive restarts; RunJob applies one chunk at a time, each line in
// the same atomic step as a synchronous WriteStock (movement included), and
// EXACTLY ONCE: a chunk cut short by a crash is run again, and its lines
// that already applied are recognised by their (job, line) identity and not
// applied twice, nor counted twice.
type JobQueue interface {
	// CreateJob stores a job (status queued, or done at once when it has
	// no valid line) and queues it. ErrInvalid for a bad ID or counts.
	CreateJob(ctx context.Context, j NewJob) (Job, error)
	// GetJob returns a job; ErrNotFound for an unknown ID.
	GetJob(ctx context.Context, id string) (Job, error)
	// PendingJobs lists the IDs of queued and running jobs, oldest first.
	PendingJobs(ctx context.Context) ([]string, error)
	// NextJobs returns the jobs owner should run now. A store whose queue
	// hands each job to one worker (Redis: a stream's consumer group)
	// returns those handed to owner and not ended, those another worker
	// has left untouched for stale (a dead one's), which pass to owner,
	// and new ones; a store with one worker per region (the embedded
	// one, one process) returns every pending job. A job returned stays
	// owner's until it ends; RunJob's lease still decides who may run it.
	NextJobs(ctx context.Context, owner string, stale time.Duration) ([]string, error)
	// RunJob applies the job's next chunk (or few chunks, in one atomic
	// step where the backend can) on behalf of owner, who holds
	// the job's lease until now+lease (taking it when free or expired;
	// ErrJobLeased when another owner holds it). An ended job is returned
	// unchanged. It returns the job after the chunk.
	RunJob(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (Job, error)
}

// ErrJobLeased: another origin is running the job.
var ErrJobLeased = errors.New("job leased by another worker")

// ValidJobID reports whether id is a job ID a store accepts.
func ValidJobID(id string) bool {
	if id == "" || len(id) > MaxJobIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Check validates a new job's shape before a store writes anything.
func (j *NewJob) Check() error {
	switch {
	case !ValidJobID(j.ID):
		return fmt.Errorf("%w: job id %q", ErrInvalid, j.ID)
	case j.Kind != JobKindStock && j.Kind != JobKindLinks,
		j.Kind == JobKindStock && len(j.Links) > 0, j.Kind == JobKindLinks && len(j.Valid) > 0:
		return fmt.Errorf("%w: job %s kind %q with %d stock and %d link lines", ErrInvalid, j.ID, j.Kind, len(j.Valid), len(j.Links))
	case j.Lines < 0 || j.Lines > MaxJobLines || j.Failed < 0 || int64(j.valid())+j.Failed != j.Lines:
		return fmt.Errorf("%w: job %s counts: %d lines, %d valid, %d failed", ErrInvalid, j.ID, j.Lines, j.valid(), j.Failed)
	case len(j.Errors) > MaxJobErrors || int64(len(j.Errors)) > j.Failed:
		return fmt.Errorf("%w: job %s: %d errors for %d failed", ErrInvalid, j.ID, len(j.Errors), j.Failed)
	case len(j.Actor) > MaxRefLen:
		return fmt.Errorf("%w: job actor too long", ErrInvalid)
	}
	return nil
}

// Chunks is how many chunks the job's valid lines fill.
func (j *NewJob) Chunks() int { return (j.valid() + JobChunkLines - 1) / JobChunkLines }

func (j *NewJob) valid() int { return len(j.Valid) + len(j.Links) }

// EncodedChunk is chunk i as a store keeps it (EncodeJobChunk or
// EncodeLinkChunk, by kind).
func (j *NewJob) EncodedChunk(i int) []byte {
	if j.Kind == JobKindLinks {
		return EncodeLinkChunk(j.Links[i*JobChunkLines : min((i+1)*JobChunkLines, len(j.Links))])
	}
	return EncodeJobChunk(j.Chunk(i))
}

// Chunk returns the valid lines of chunk i.
func (j *NewJob) Chunk(i int) []JobLine {
	return j.Valid[i*JobChunkLines : min((i+1)*JobChunkLines, len(j.Valid))]
}

// Ended reports whether a job has finished (done or failed).
func (j Job) Ended() bool { return j.Status == JobDone || j.Status == JobFailed }

// FinalStatus is the status of a job whose every chunk has run: failed
// when it had lines and none applied, else done.
func FinalStatus(lines, applied int64) string {
	if lines > 0 && applied == 0 {
		return JobFailed
	}
	return JobDone
}

// MergeJobErrors adds more failures to a job's list, keeping the
// MaxJobErrors with the lowest line numbers, in line order.
func MergeJobErrors(have, more []JobError) []JobError {
	if len(more) == 0 {
		return have
	}
	out := append(slices.Clone(have), more...)
	slices.SortStableFunc(out, func(a, b JobError) int { return int(min(max(a.Line-b.Line, -1), 1)) })
	if len(out) > MaxJobErrors {
		out = out[:MaxJobErrors]
	}
	return out
}

// ErrorCode is the API's machine code for a store error on a job line
// (the same codes the synchronous endpoints answer).
func ErrorCode(err error) string {
	switch {
	case errors.Is(err, ErrInsufficientStock):
		return "insufficient_stock"
	case errors.Is(err, ErrBelowReserved):
		return "below_reserved"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrInvalidReason):
		return "invalid_reason"
	case errors.Is(err, ErrVersionMismatch):
		return "version_mismatch"
	case errors.Is(err, ErrIdempotencyMismatch):
		return "idempotency_key_reused"
	}
	return "invalid_line"
}

// JobLineError is the JobError of a line a store refused.
func JobLineError(line int64, err error) JobError {
	return JobError{Line: line, Error: ErrorCode(err), Message: err.Error()}
}
