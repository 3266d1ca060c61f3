package origin

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// Queued link imports. An import larger than Config.ImportSyncMaxLines is
// checked whole first (bad lines 400, taken codes 409, nothing written),
// then stored as a links job on the bulk job queue and answered 202
// {"job":ID}; the job worker creates its links chunk by chunk. The store
// moves the job's cursor once per chunk (store.ChunkJobs); a worker that
// dies between creating a chunk's links and recording it leaves the chunk
// to be run again, and a replayed line is a no-op: its code was fixed
// when the job was queued (generated ones too), and a link that exists
// with the same content counts as this line applied. So every line is
// applied and counted once, whoever runs the chunk and however often.

// queueImport stores the checked lines as a links job.
func (s *Server) queueImport(w http.ResponseWriter, r *http.Request, lines []importLine) {
	nj := store.NewJob{ID: newJobID(), Kind: store.JobKindLinks, Actor: actorOf(r.Context()),
		Lines: int64(len(lines)), CreatedAt: s.cfg.Clock.Now()}
	nj.Links = make([]store.LinkJobLine, len(lines))
	for i, ln := range lines {
		l := store.LinkJobLine{Line: int64(ln.line), Link: ln.link}
		if l.Link.Code == "" {
			// Chosen now and stored with the line, so a replay creates the
			// same link rather than a second one under a new code.
			l.Generated, l.Link.Code = true, derivedCode(nj.ID, l.Line, 0, s.cfg.CodeLength)
		}
		nj.Links[i] = l
	}
	ctx, cancel := context.WithTimeout(r.Context(), bulkDeadline)
	defer cancel()
	j, err := s.jobs.CreateJob(ctx, nj)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.kickJobs()
	w.Header().Set("Location", "/v1/jobs/"+j.ID)
	writeJSON(w, http.StatusAccepted, map[string]string{"job": j.ID})
}

// codeAlphabet is the alphabet of generated codes (keys.RandomCode's).
const codeAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// derivedCode is the code of a line that had none, at its n-th attempt
// (a collision with another link moves to the next): random-looking, but
// the same for the same job, line and attempt, so a replay retraces it.
// The job ID is 96 random bits, so codes are unpredictable across jobs.
func derivedCode(jobID string, line int64, attempt, n int) string {
	var buf [16]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(line))
	binary.BigEndian.PutUint64(buf[8:], uint64(attempt))
	out := make([]byte, 0, n)
	for ctr := byte(0); len(out) < n; ctr++ {
		sum := sha256.Sum256(append(append([]byte(jobID), buf[:]...), ctr))
		for _, b := range sum {
			if b < 248 && len(out) < n { // 248 = 4*62: uniform, as keys.RandomCode
				out = append(out, codeAlphabet[b%62])
			}
		}
	}
	return string(out)
}

// runLinkJob runs a links job chunk by chunk until it ends, another
// origin holds it, storage fails (the poll retries it) or Close.
func (s *Server) runLinkJob(id string) {
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.JobLease)
		before := time.Now()
		j, err := s.linkJobStep(ctx, id)
		cancel()
		if errors.Is(err, store.ErrJobLeased) {
			return
		}
		if err != nil {
			if s.ctx.Err() == nil {
				s.log.Warn("link import job step failed; will retry", "job", id, "err", err)
			}
			return
		}
		s.metrics.jobSteps.Observe(time.Since(before).Seconds())
		if j.Ended() {
			s.log.Info("link import job ended", "job", id, "status", j.Status, "lines", j.Lines, "applied", j.Applied, "failed", j.Failed)
			return
		}
	}
}

// linkJobStep claims the next chunk, creates its links and records the
// outcome. A storage error leaves the chunk unrecorded (run again later).
func (s *Server) linkJobStep(ctx context.Context, id string) (store.Job, error) {
	j, raw, err := s.chunkJobs.ClaimJobChunk(ctx, id, s.jobOwner, s.cfg.Clock.Now(), s.cfg.JobLease)
	if err != nil || raw == nil {
		return j, err
	}
	lines, err := store.DecodeLinkChunk(raw)
	if err != nil {
		return j, err
	}
	applied, errs, err := s.applyLinkLines(ctx, j.ID, lines)
	if err != nil {
		return j, err
	}
	return s.chunkJobs.FinishJobChunk(ctx, j, applied, errs)
}

// applyLinkLines creates a chunk's links: in one batch when the store can
// and nothing in it is taken, else line by line, idempotently.
func (s *Server) applyLinkLines(ctx context.Context, jobID string, lines []store.LinkJobLine) (int64, []store.JobError, error) {
	// With a cold tier every create checks it (createLinkTiered), one by one.
	if bc, ok := s.store.(store.BatchCreator); ok && s.cfg.Cold == nil {
		ls := make([]store.NewLink, len(lines))
		for i := range lines {
			ls[i] = lines[i].Link
		}
		_, err := bc.CreateLinks(ctx, ls)
		if err == nil {
			return int64(len(lines)), nil, nil
		}
		if !errors.Is(err, store.ErrCodeTaken) {
			return 0, nil, err
		}
		// A code exists: a replay, or a code taken since the import was
		// checked. Sort it out line by line.
	}
	var applied int64
	var errs []store.JobError
	for i := range lines {
		je, err := s.applyLinkLine(ctx, jobID, &lines[i])
		if err != nil {
			return 0, nil, err
		}
		if je != nil {
			errs = append(errs, *je)
			continue
		}
		applied++
	}
	return applied, errs, nil
}

// applyLinkLine creates one line's link. A code that exists with this
// line's content is this line applied before (a replay); with other
// content it is taken: the line fails, unless its code was generated, in
// which case the next derived code is tried. It returns the line's
// failure, or a storage error that stops the chunk.
func (s *Server) applyLinkLine(ctx context.Context, jobID string, ln *store.LinkJobLine) (*store.JobError, error) {
	nl := ln.Link
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			nl.Code = derivedCode(jobID, ln.Line, attempt, len(ln.Link.Code))
		}
		_, err := s.createLinkTiered(ctx, nl)
		if err == nil {
			return nil, nil
		}
		if !errors.Is(err, store.ErrCodeTaken) {
			if errors.Is(err, store.ErrInvalid) {
				return &store.JobError{Line: ln.Line, Error: "invalid_line", Message: err.Error()}, nil
			}
			return nil, err
		}
		have, gerr := s.adminGetLink(ctx, nl.Code) // a link gone cold too
		if gerr == nil && sameLink(have, nl) {
			return nil, nil
		}
		if gerr != nil && !errors.Is(gerr, store.ErrNotFound) {
			return nil, gerr
		}
		if !ln.Generated || attempt+1 >= generateAttempts {
			return &store.JobError{Line: ln.Line, Error: "code_taken", Message: "code " + nl.Code + " is taken"}, nil
		}
	}
}

// sameLink reports whether the stored link l is what nl creates (its
// creation time and counters aside).
func sameLink(l store.Link, nl store.NewLink) bool {
	return l.Code == nl.Code && l.URL == nl.URL && l.Redirect == nl.Redirect &&
		sameTime(l.ExpiresAt, nl.ExpiresAt) && sameTime(l.ValidSince, nl.ValidSince) &&
		slices.Equal(store.NormTags(l.Tags), store.NormTags(nl.Tags)) && l.Title == nl.Title &&
		sameInt(l.MaxVisits, nl.MaxVisits) && l.ForwardQuery == nl.ForwardQuery && sameTargets(l.Targets, nl.Targets)
}

func sameTime(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}
func sameInt(a, b *int64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
func sameTargets(a, b *store.Targets) bool {
	var x, y store.Targets
	if a != nil {
		x = *a
	}
	if b != nil {
		y = *b
	}
	return x == y
}
