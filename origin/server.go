package origin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server is a region's origin. Create it with New; serve Handler() over
// HTTP; Close it to stop its background loops (hold expiry and the change
// tailer). The Store stays the caller's to close.
type Server struct {
	cfg     Config
	store   Store
	log     *slog.Logger
	auth    *keyring
	metrics *metrics
	mux     *http.ServeMux
	tail    *tailer

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New validates cfg and starts the origin's background loops.
func New(cfg Config) (*Server, error) {
	cfg.fill()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Registerer == nil {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		cfg.Registerer = reg
		if cfg.Gatherer == nil {
			cfg.Gatherer = reg
		}
	}
	if cfg.Gatherer == nil {
		cfg.Gatherer = prometheus.DefaultGatherer
	}
	m, err := newMetrics(cfg.Registerer, cfg.Region)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		store:   cfg.Store,
		log:     cfg.Logger.With("component", "origin", "region", cfg.Region),
		auth:    newKeyring(cfg.AdminKeys),
		metrics: m,
		stop:    make(chan struct{}),
	}
	s.tail = newTailer(s)
	s.routes()
	s.wg.Add(2)
	go s.expireLoop()
	go s.tail.run()
	return s, nil
}

// Handler returns the origin's HTTP handler: admin API (/v1/), internal API
// (/internal/v1/) and health and metrics (/_/).
func (s *Server) Handler() http.Handler { return s.mux }

// Heads returns, per partition, the newest change seq this origin has read
// from storage and handed to its Publisher: the watermarks edges compare
// against to find changes they missed.
func (s *Server) Heads() []uint64 { return s.tail.heads() }

// Close stops the background loops and waits for them. It is idempotent and
// does not close the Store.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.wg.Wait()
	})
	return nil
}

func (s *Server) routes() {
	mux := http.NewServeMux()
	admin := func(pattern string, h func(http.ResponseWriter, *http.Request)) {
		mux.Handle(pattern, s.instrument(pattern, s.requireAdmin(http.HandlerFunc(h))))
	}
	admin("POST /v1/links", s.createLink)
	admin("GET /v1/links/{code}", s.getLink)
	admin("PATCH /v1/links/{code}", s.patchLink)
	admin("DELETE /v1/links/{code}", s.deleteLink)
	admin("GET /v1/links/{code}/stats", s.linkStats)
	admin("PUT /v1/stock/{sku}/{warehouse}", s.setStock)
	admin("POST /v1/stock/{sku}/{warehouse}/adjust", s.adjustStock)
	admin("GET /v1/stock/{sku}", s.getStock)
	admin("POST /v1/reservations", s.createReservation)
	admin("GET /v1/reservations/{id}", s.getReservation)
	admin("POST /v1/reservations/{id}/commit", s.commitReservation)
	admin("POST /v1/reservations/{id}/release", s.releaseReservation)
	// Anything else under /v1/ still needs a key first, so probing for
	// routes without one learns nothing.
	admin("/v1/", s.notFound)

	internal := func(pattern string, h func(http.ResponseWriter, *http.Request)) {
		mux.Handle(pattern, s.instrument(pattern, s.requireCluster(http.HandlerFunc(h))))
	}
	internal("GET /internal/v1/links/{code}", s.internalLink)
	internal("GET /internal/v1/stock/{sku}", s.internalStock)
	internal("POST /internal/v1/clicks", s.internalClicks)
	internal("GET /internal/v1/changes", s.internalChanges)
	internal("GET /internal/v1/heads", s.internalHeads)

	mux.HandleFunc("GET /_/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /_/readyz", s.readyz)
	mux.Handle("GET /_/metrics", promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", s.notFound)
	s.mux = mux
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, &apiError{Code: "not_found", Message: "no such endpoint: " + r.Method + " " + r.URL.Path})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "storage unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// readBody reads a capped body; over the cap is a 413 and nothing is done.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return nil, &apiError{http.StatusRequestEntityTooLarge, "body_too_large", "request body is larger than the limit"}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if asMaxBytes(err, &mbe) {
			return nil, &apiError{http.StatusRequestEntityTooLarge, "body_too_large", "request body is larger than the limit"}
		}
		return nil, badRequest("invalid_body", "could not read the request body")
	}
	return b, nil
}

// opContext bounds a store call so a hung backend turns into a 503, never
// a hung request.
func (s *Server) opContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 5*time.Second)
}
