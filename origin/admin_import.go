package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// importBatch is how many links one store call (or transaction) creates.
const importBatch = 500

// importSummary is the answer to a successful import.
type importSummary struct {
	Created int `json:"created"`
}

// importFailure is the answer to a refused import: nothing was written.
type importFailure struct {
	Code    string      `json:"error"`
	Message string      `json:"message"`
	Errors  []lineError `json:"errors"`
	More    bool        `json:"more_errors,omitempty"`
}

// importLinks is POST /v1/links:import: NDJSON, or CSV with a header row
// when Content-Type is text/csv. Every line is parsed and checked first (a
// bad line answers 400 listing every bad line by number, up to 100), then
// every custom code is checked to be free (409), before anything is
// written. An import of more than Config.ImportSyncMaxLines links is then
// queued as a job (202, import_jobs.go) when the store has a job queue.
// A smaller one runs synchronously in batches and is all or nothing: if a
// batch still fails (a code taken meanwhile, storage down), the links
// this import already created are deleted again.
func (s *Server) importLinks(w http.ResponseWriter, r *http.Request) {
	// A 64 MiB body and 100k lines to check take longer than the server's
	// per-request read and write timeouts allow other requests.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bulkDeadline))
	_ = rc.SetWriteDeadline(time.Now().Add(bulkDeadline))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxImportBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if asMaxBytes(err, &mbe) {
			s.writeError(w, r, &apiError{http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("an import is at most %d bytes", MaxImportBytes)})
			return
		}
		s.writeError(w, r, badRequest("invalid_body", "could not read the request body"))
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	lines, errs, more := parseImport(body, mt == "text/csv", s.cfg.Clock.Now())
	for i := 0; i < len(lines) && len(errs) < maxReportedErrors; i++ {
		nl := &lines[i].link
		if ae := s.checkTarget(nl.URL); ae != nil {
			errs = append(errs, lineError{lines[i].line, ae.Code, ae.Message})
		} else if ae := s.checkTargets(nl.Targets); ae != nil {
			errs = append(errs, lineError{lines[i].line, ae.Code, ae.Message})
		}
	}
	if len(errs) > 0 {
		writeJSON(w, http.StatusBadRequest, importFailure{"invalid_import",
			"the import has invalid lines; nothing was imported", errs, more})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute+time.Duration(len(lines))*time.Millisecond)
	defer cancel()
	// Custom codes that are taken already: refuse before writing anything.
	for _, ln := range lines {
		if ln.link.Code == "" {
			continue
		}
		if _, err := s.adminGetLink(ctx, ln.link.Code); err == nil { // cold codes too
			errs = append(errs, lineError{ln.line, "code_taken", "code " + ln.link.Code + " is taken"})
			if len(errs) == maxReportedErrors {
				break
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			s.writeError(w, r, err)
			return
		}
	}
	if len(errs) > 0 {
		writeJSON(w, http.StatusConflict, importFailure{"code_taken", "codes on these lines are taken; nothing was imported", errs, false})
		return
	}
	if s.chunkJobs != nil && len(lines) > s.cfg.ImportSyncMaxLines {
		s.queueImport(w, r, lines)
		return
	}
	var created []string
	for start := 0; start < len(lines); start += importBatch {
		batch := lines[start:min(start+importBatch, len(lines))]
		codes, ln, err := s.createBatch(ctx, batch)
		created = append(created, codes...)
		if err != nil {
			s.rollbackImport(created)
			if errors.Is(err, store.ErrCodeTaken) {
				writeJSON(w, http.StatusConflict, importFailure{"code_taken", "a code was taken while importing; nothing was imported",
					[]lineError{{ln, "code_taken", err.Error()}}, false})
				return
			}
			s.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, importSummary{Created: len(created)})
}

// createBatch creates one batch: in one step when the store can, else
// link by link. It returns the codes it created and, on failure, the
// line that failed.
func (s *Server) createBatch(ctx context.Context, batch []importLine) ([]string, int, error) {
	// With a cold tier every create checks it (createLinkTiered), one by one.
	if bc, ok := s.store.(store.BatchCreator); ok && s.cfg.Cold == nil {
		for attempt := 0; ; attempt++ {
			ls := make([]store.NewLink, len(batch))
			for i, ln := range batch {
				ls[i] = ln.link
				if ls[i].Code == "" {
					ls[i].Code = keys.RandomCode(s.cfg.CodeLength)
				}
			}
			out, err := bc.CreateLinks(ctx, ls)
			var be *store.BatchError
			if errors.As(err, &be) && batch[be.Index].link.Code == "" && attempt < generateAttempts {
				continue // a generated code collided: new codes, again
			}
			if err != nil {
				line := 0
				if be != nil {
					line = batch[be.Index].line
				}
				return nil, line, err
			}
			codes := make([]string, len(out))
			for i, l := range out {
				codes[i] = l.Code
			}
			return codes, 0, nil
		}
	}
	var codes []string
	for _, ln := range batch {
		nl := ln.link
		var err error
		for attempt := 0; attempt < generateAttempts; attempt++ {
			if ln.link.Code == "" {
				nl.Code = keys.RandomCode(s.cfg.CodeLength)
			}
			_, err = s.createLinkTiered(ctx, nl)
			if ln.link.Code != "" || !errors.Is(err, store.ErrCodeTaken) {
				break
			}
		}
		if err != nil {
			return codes, ln.line, err
		}
		codes = append(codes, nl.Code)
	}
	return codes, 0, nil
}

// rollbackImport deletes what a failed import created (each leaves a
// tombstone, as any delete does).
func (s *Server) rollbackImport(codes []string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range codes {
		if _, err := s.store.DeleteLink(ctx, c); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.Error("origin: import rollback could not delete a link it created", "code", c, "err", err)
		}
	}
}
