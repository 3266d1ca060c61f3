package origin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/shortstock/shortstock/origin/adminsec"
	"github.com/shortstock/shortstock/origin/store"
)

// jobView is GET /v1/jobs/{id} (API.md "Stock ledger and jobs").
type jobView struct {
	ID      string           `json:"id"`
	Status  string           `json:"status"`
	Lines   int64            `json:"lines"`
	Applied int64            `json:"applied"`
	Failed  int64            `json:"failed"`
	Errors  []store.JobError `json:"errors"`
}

func viewOfJob(j store.Job) jobView {
	errs := j.Errors
	if errs == nil {
		errs = []store.JobError{}
	}
	return jobView{ID: j.ID, Status: j.Status, Lines: j.Lines, Applied: j.Applied, Failed: j.Failed, Errors: errs}
}

// bulkDeadline bounds reading, checking and queueing one bulk body.
const bulkDeadline = 5 * time.Minute

var errNoJobs = &apiError{Status: http.StatusNotImplemented, Code: "not_implemented", Message: "this origin's store has no job queue"}

// newJobID is 24 random lowercase hex characters (store.ValidJobID).
func newJobID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// postBulk serves POST /v1/stock:bulk: the whole body is read (capped),
// every line checked, and the job stored durably before the 202: a job
// the client was told about is never lost, and a body over the cap queues
// nothing.
func (s *Server) postBulk(w http.ResponseWriter, r *http.Request) {
	if s.jobs == nil {
		s.writeError(w, r, errNoJobs)
		return
	}
	// A 64 MiB body and a million lines to check take longer than the
	// server's per-request read and write timeouts allow other requests.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bulkDeadline))
	_ = rc.SetWriteDeadline(time.Now().Add(bulkDeadline))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.BulkMaxBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if asMaxBytes(err, &mbe) {
			s.writeError(w, r, &apiError{http.StatusRequestEntityTooLarge, "body_too_large", "a bulk body is at most " + humanBytes(s.cfg.BulkMaxBytes)})
			return
		}
		s.writeError(w, r, badRequest("invalid_body", "could not read the request body"))
		return
	}
	p, ae := parseBulk(body)
	if ae == nil && p.lines == 0 {
		ae = badRequest("invalid_body", "the body holds no lines; send NDJSON, one operation per line")
	}
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	nj := store.NewJob{ID: newJobID(), Actor: actorOf(r.Context()), Lines: p.lines, Failed: p.failed,
		Errors: p.errs, Valid: p.valid, CreatedAt: s.cfg.Clock.Now()}
	ctx, cancel := context.WithTimeout(r.Context(), bulkDeadline)
	defer cancel()
	j, err := s.jobs.CreateJob(ctx, nj)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.metrics.bulkLines.WithLabelValues("queued").Add(float64(len(p.valid)))
	s.metrics.bulkLines.WithLabelValues("invalid").Add(float64(p.failed))
	s.kickJobs()
	w.Header().Set("Location", "/v1/jobs/"+j.ID)
	writeJSON(w, http.StatusAccepted, map[string]string{"job": j.ID})
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	if s.jobs == nil {
		s.writeError(w, r, errNoJobs)
		return
	}
	id := r.PathValue("id")
	if !store.ValidJobID(id) {
		s.writeError(w, r, &apiError{http.StatusNotFound, "not_found", "no job " + id})
		return
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	j, err := s.jobs.GetJob(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		err = &apiError{http.StatusNotFound, "not_found", "no job " + id}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res := adminsec.ResStock
	if j.Kind == store.JobKindLinks {
		res = adminsec.ResLinks
	}
	if ae := allowedOn(r, res); ae != nil {
		s.metrics.forbidden.Inc()
		s.writeError(w, r, ae)
		return
	}
	writeJSON(w, http.StatusOK, viewOfJob(j))
}

func humanBytes(n int64) string {
	switch {
	case n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
