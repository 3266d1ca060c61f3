package origin

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/shortstock/shortstock/origin/store"
)

// Server is a region's origin. Create it with New; serve Handler() over
// HTTP; Close it to stop its background loops (hold expiry and the change
// tailer). The Store stays the caller's to close.
type Server struct {
	cfg     Config
	store   store.Store
	log     *slog.Logger
	auth    *keyring
	policy  URLPolicy
	metrics *metrics
	// ipLimits and keyLimits are the admin API's rate limits.
	ipLimits  *ipLimiter
	keyLimits *keyLimiter
	mux       *http.ServeMux
	tail      *tailer

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once

	// streams closes when long-lived answers (movement feed long polls and
	// SSE) must end: StopStreams, or Close.
	streams     chan struct{}
	streamsOnce sync.Once
}

// StopStreams ends the movement feed's long polls and SSE streams (their
// clients resume from their cursor elsewhere). Wire it to
// http.Server.RegisterOnShutdown, so a graceful shutdown does not wait for
// them; Close calls it too. Idempotent.
func (s *Server) StopStreams() {
	s.streamsOnce.Do(func() { close(s.streams) })
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
	auth := newKeyring(cfg.AdminKeys, cfg.ScopedAdminKeys)
	ipLimits := newIPLimiter(rate{cfg.IPRate, float64(cfg.IPBurst)}, rate{cfg.AuthFailureRate, float64(cfg.AuthFailureBurst)}, cfg.MaxTrackedIPs)
	m, err := newMetrics(cfg.Registerer, cfg.Region, func() float64 { return float64(ipLimits.size()) })
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		store:     cfg.Store,
		log:       cfg.Logger.With("component", "origin", "region", cfg.Region),
		auth:      auth,
		policy:    cfg.urlPolicy(),
		metrics:   m,
		ipLimits:  ipLimits,
		keyLimits: newKeyLimiter(len(auth.keys), rate{cfg.KeyRate, float64(cfg.KeyBurst)}, cfg.Clock.Now()),
		stop:      make(chan struct{}),
		streams:   make(chan struct{}),
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
		s.StopStreams()
		close(s.stop)
		s.wg.Wait()
	})
	return nil
}

func (s *Server) routes() {
	mux := http.NewServeMux()
	admin := func(pattern string, res resource, h http.HandlerFunc) {
		mux.Handle(pattern, s.instrument(pattern, s.requireAdmin(res, h)))
	}
	// Endpoints without a request body refuse one that is not empty (or
	// "{}"): garbage sent to a state-changing endpoint is a client bug that
	// must not commit a reservation or delete a link.
	admin("POST /v1/links", resLinks, s.createLink)
	admin("GET /v1/links/{code}", resLinks, s.noBody(s.getLink))
	admin("PATCH /v1/links/{code}", resLinks, s.patchLink)
	admin("DELETE /v1/links/{code}", resLinks, s.noBody(s.deleteLink))
	admin("GET /v1/links/{code}/stats", resLinks, s.noBody(s.linkStats))
	admin("PUT /v1/stock/{sku}/{warehouse}", resStock, s.setStock)
	admin("POST /v1/stock/{sku}/{warehouse}/adjust", resStock, s.adjustStock)
	admin("GET /v1/stock/{sku}", resStock, s.noBody(s.getStock))
	admin("POST /v1/stock/{sku}/transfers", resStock, s.transferStock)
	admin("GET /v1/stock/{sku}/movements", resStock, s.noBody(s.listMovements))
	admin("GET /v1/stock/movements", resStock, s.noBody(s.movementFeed))
	admin("POST /v1/stock/{sku}/rebuild", resStock, s.noBody(s.rebuildStock))
	admin("GET /v1/ledger/verify", resStock, s.noBody(s.verifyLedger))
	admin("POST /v1/reservations", resStock, s.createReservation)
	admin("GET /v1/reservations/{id}", resStock, s.noBody(s.getReservation))
	admin("POST /v1/reservations/{id}/commit", resStock, s.noBody(s.commitReservation))
	admin("POST /v1/reservations/{id}/release", resStock, s.noBody(s.releaseReservation))
	admin("POST /v1/reservations/{id}/extend", resStock, s.extendReservation)
	// Anything else under /v1/ still needs a key first, so probing for
	// routes without one learns nothing.
	admin("/v1/", resNone, s.notFound)

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
// A body announced too large is still read up to the cap: hitting the
// MaxBytesReader limit makes net/http half-close the connection after the
// answer instead of resetting it, so the client reads its 413 rather than
// a broken pipe.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
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

// noBody refuses a request body other than nothing, whitespace or "{}" on
// endpoints that take none.
func (s *Server) noBody(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			b, ae := s.readBody(w, r)
			if ae == nil && len(bytes.TrimSpace(b)) > 0 {
				ae = decodeStrict(b, &struct{}{})
			}
			if ae != nil {
				s.writeError(w, r, ae)
				return
			}
		}
		next(w, r)
	}
}
