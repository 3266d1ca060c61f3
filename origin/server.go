package origin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/obs"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin/adminsec"
	"github.com/shortstock/shortstock/origin/console"
	"github.com/shortstock/shortstock/origin/purgehook"
	"github.com/shortstock/shortstock/origin/store"
)

// Server is a region's origin. Create it with New; serve Handler() over
// HTTP; Close it to stop its background loops (hold expiry and the change
// tailer). The Store stays the caller's to close.
type Server struct {
	cfg Config
	// pushValues is cfg.PushValues resolved for the store (pushvalues.go).
	pushValues bool
	// publicBase, when set, overrides cfg.PublicBaseURL (SetPublicBaseURL).
	publicBase atomic.Pointer[string]
	probe      *http.ServeMux // method-specific routes, for 405 + Allow
	store      store.Store
	// space is the store's partition count (store.Partitions()).
	space   keys.Space
	log     *slog.Logger
	auth    *adminsec.Keyring
	policy  URLPolicy
	metrics *metrics
	// ipLimits and keyLimits are the admin API's rate limits.
	ipLimits  *adminsec.IPLimiter
	keyLimits *adminsec.KeyLimiter
	// internalLimits is the internal API's own per-IP budget and failed
	// authentication budget, apart from the admin API's.
	internalLimits *adminsec.IPLimiter
	mux            *http.ServeMux
	tail           *tailer
	receipts       *receipts
	hooks          *purgehook.Sender // nil without PurgeHooks
	// peers are other regions' origins, for receipts (receipts_peers.go).
	peerMu     sync.Mutex
	peers      []string
	peerClient *http.Client

	stop chan struct{}
	// ctx bounds the background loops' storage calls; Close cancels it,
	// so a call in flight does not hold Close up.
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once

	// jobs is the store's bulk job queue (nil if it has none); the worker
	// (jobworker.go) runs as jobOwner and wakes on jobKick.
	jobs store.JobQueue
	// chunkJobs runs links import jobs (nil: imports stay synchronous).
	chunkJobs store.ChunkJobs
	jobOwner  string
	jobKick   chan struct{}

	// streams closes when long-lived answers (movement feed long polls and
	// SSE) must end: StopStreams, or Close.
	streams     chan struct{}
	streamsOnce sync.Once

	openapi []byte // docs/openapi.yaml as JSON, for GET /v1/openapi.json
	// patterns are the public routes (not /internal/), in registration
	// order: a test holds them against docs/openapi.yaml.
	patterns []string
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
	cfg.Registerer, cfg.Gatherer = obs.Defaults(cfg.Registerer, cfg.Gatherer)
	auth := adminsec.NewKeyring(cfg.AdminKeys, cfg.ScopedAdminKeys)
	ipLimits := adminsec.NewIPLimiter(adminsec.Rate{PerSec: cfg.IPRate, Burst: float64(cfg.IPBurst)}, adminsec.Rate{PerSec: cfg.AuthFailureRate, Burst: float64(cfg.AuthFailureBurst)}, cfg.MaxTrackedIPs)
	m, err := newMetrics(cfg.Registerer, cfg.Region, func() float64 { return float64(ipLimits.Size()) })
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:        cfg,
		pushValues: pushesValues(cfg.PushValues, cfg.Store),
		store:      cfg.Store,
		space:      cfg.Store.Partitions(),
		log:        cfg.Logger.With("component", "origin", "region", cfg.Region),
		auth:       auth,
		policy:     cfg.urlPolicy(),
		metrics:    m,
		ipLimits:   ipLimits,
		internalLimits: adminsec.NewIPLimiter(adminsec.Rate{PerSec: cfg.InternalRate, Burst: float64(cfg.InternalBurst)},
			adminsec.Rate{PerSec: cfg.AuthFailureRate, Burst: float64(cfg.AuthFailureBurst)}, cfg.MaxTrackedIPs),
		keyLimits: adminsec.NewKeyLimiter(auth.Len(), adminsec.Rate{PerSec: cfg.KeyRate, Burst: float64(cfg.KeyBurst)}, cfg.Clock.Now()),
		stop:      make(chan struct{}),
		streams:   make(chan struct{}),
	}
	if s.openapi, err = openAPIDocument(); err != nil {
		return nil, fmt.Errorf("origin: the embedded OpenAPI document: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.tail = newTailer(s)
	s.receipts = newReceipts(s.space, cfg.ReceiptLiveWindow)
	s.peers = append([]string(nil), cfg.PeerOrigins...)
	s.peerClient = &http.Client{Timeout: peerTimeout}
	if cfg.PeerTLS != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = cfg.PeerTLS
		s.peerClient.Transport = tr
	}
	if len(cfg.PurgeHooks) > 0 {
		s.hooks, err = purgehook.New(purgehook.Config{
			URLs: cfg.PurgeHooks, Secret: cfg.PurgeHookSecret, Region: cfg.Region,
			Gate:   func(parts []purgehook.Part) bool { return s.receipts.allApplied(parts, s.cfg.Clock.Now()) },
			Logger: s.log, Registerer: cfg.Registerer,
		})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	s.jobs, _ = cfg.Store.(store.JobQueue)
	s.chunkJobs, _ = cfg.Store.(store.ChunkJobs)
	if s.jobs == nil {
		// Queued imports go on the job queue: without one, imports stay
		// synchronous (a wrapper that forwards ChunkJobs but not JobQueue
		// must not make them panic).
		s.chunkJobs = nil
	}
	s.jobOwner, s.jobKick = cfg.Region+"-"+newJobID(), make(chan struct{}, 1)
	if err := s.registerCold(); err != nil {
		return nil, err
	}
	s.routes()
	s.wg.Add(3)
	go s.expireLoop()
	go s.tail.run()
	go s.pruneLoop()
	if s.jobs != nil && !cfg.NoJobWorker {
		s.wg.Add(1)
		go s.jobLoop()
	}
	if ct, _ := cfg.Store.(store.ChangeTrimmer); cfg.LedgerRetention > 0 || ct != nil {
		s.wg.Add(1)
		go s.retentionLoop(ct)
	}
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
		s.cancel()
		s.wg.Wait()
		if s.hooks != nil {
			s.hooks.Close()
		}
	})
	return nil
}

func (s *Server) routes() {
	mux := http.NewServeMux()
	// probe holds every method-specific route with a no-op handler, so the
	// fallback can tell "no such path" (404) from "wrong method" (405 with
	// Allow) without answering for the real routes.
	s.probe = http.NewServeMux()
	nop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	admin := func(pattern string, res adminsec.Resource, h http.HandlerFunc) {
		if !strings.HasPrefix(pattern, "GET ") && pattern != "/v1/" {
			h = s.nudgeAfter(h)
		}
		mux.Handle(pattern, s.instrument(pattern, s.requireAdmin(res, h)))
		if pattern != "/v1/" {
			s.probe.Handle(pattern, nop)
			s.patterns = append(s.patterns, pattern)
		}
	}
	// Endpoints without a request body refuse one that is not empty (or
	// "{}"): garbage sent to a state-changing endpoint is a client bug that
	// must not commit a reservation or delete a link.
	admin("POST /v1/links", adminsec.ResLinks, s.createLink)
	admin("GET /v1/links", adminsec.ResLinks, s.noBody(s.listLinks))
	admin("POST /v1/links:import", adminsec.ResLinks, s.importLinks)
	admin("GET /v1/links:export", adminsec.ResLinks, s.noBody(s.exportLinks))
	admin("GET /v1/links/{code}", adminsec.ResLinks, s.noBody(s.getLink))
	admin("PATCH /v1/links/{code}", adminsec.ResLinks, s.patchLink)
	admin("DELETE /v1/links/{code}", adminsec.ResLinks, s.noBody(s.deleteLink))
	admin("GET /v1/links/{code}/stats", adminsec.ResLinks, s.noBody(s.linkAnalytics))
	admin("GET /v1/stats/top", adminsec.ResLinks, s.noBody(s.topLinks))
	admin("GET /v1/links/{code}/qr", adminsec.ResLinks, s.noBody(s.linkQR))
	admin("PUT /v1/stock/{sku}/{warehouse}", adminsec.ResStock, s.setStock)
	admin("POST /v1/stock/{sku}/{warehouse}/adjust", adminsec.ResStock, s.adjustStock)
	admin("GET /v1/stock/{sku}", adminsec.ResStock, s.noBody(s.getStock))
	admin("POST /v1/stock/{sku}/transfers", adminsec.ResStock, s.transferStock)
	admin("GET /v1/stock/{sku}/movements", adminsec.ResStock, s.noBody(s.listMovements))
	admin("GET /v1/stock/movements", adminsec.ResStock, s.noBody(s.movementFeed))
	admin("POST /v1/stock/{sku}/rebuild", adminsec.ResStock, s.noBody(s.rebuildStock))
	admin("POST /v1/stock:bulk", adminsec.ResStock, s.postBulk)
	// A job is a stock bulk job or a links import: getJob checks the scope
	// of its kind.
	admin("GET /v1/jobs/{id}", adminsec.ResNone, s.noBody(s.getJob))
	admin("GET /v1/ledger/verify", adminsec.ResStock, s.noBody(s.verifyLedger))
	admin("POST /v1/reservations", adminsec.ResStock, s.createReservation)
	admin("GET /v1/reservations/{id}", adminsec.ResStock, s.noBody(s.getReservation))
	admin("POST /v1/reservations/{id}/commit", adminsec.ResStock, s.noBody(s.commitReservation))
	admin("POST /v1/reservations/{id}/release", adminsec.ResStock, s.noBody(s.releaseReservation))
	admin("POST /v1/reservations/{id}/extend", adminsec.ResStock, s.extendReservation)
	admin("GET /v1/changes/{id}", adminsec.ResNone, s.noBody(s.getChange))
	admin("POST /v1/purge", adminsec.ResNone, s.purge)
	admin("GET /v1/topology", adminsec.ResNone, s.noBody(s.getTopology))
	s.tierRoutes(admin)
	// The spec needs no key (shared/API.md); it is the more specific
	// pattern, so "/v1/" below does not take it.
	mux.Handle("GET /v1/openapi.json", s.instrument("GET /v1/openapi.json", http.HandlerFunc(s.serveOpenAPI)))
	s.probe.Handle("GET /v1/openapi.json", nop)
	s.patterns = append(s.patterns, "GET /v1/openapi.json")
	// Anything else under /v1/ still needs a key first, so probing for
	// routes without one learns nothing.
	admin("/v1/", adminsec.ResNone, s.notFound)

	internal := func(pattern string, h func(http.ResponseWriter, *http.Request)) {
		mux.Handle(pattern, s.instrument(pattern, s.requireCluster(http.HandlerFunc(h))))
		s.probe.Handle(pattern, nop)
	}
	internal("GET /internal/v1/links/{code}", s.internalLink)
	internal("POST "+wire.PathVisits+"{code}", s.internalVisits)
	internal("GET /internal/v1/stock/{sku}", s.internalStock)
	internal("POST /internal/v1/clicks", s.internalClicks)
	internal("GET /internal/v1/changes", s.internalChanges)
	internal("GET /internal/v1/heads", s.internalHeads)
	internal("POST "+wire.PathApplied, s.internalApplied)
	internal("GET "+wire.PathReceipt, s.internalReceipt)
	internal("GET "+wire.PathChangeParts, s.internalChangeParts)
	internal("GET "+wire.PathTopology, s.internalTopology)

	// The admin console: static files only, no key needed to load them;
	// everything it shows comes from the bearer /v1/ API above.
	con := console.New()
	for _, p := range []string{"GET /console/", "GET /console"} {
		mux.Handle(p, s.instrument(p, con))
		s.probe.Handle(p, nop)
	}

	mux.HandleFunc("GET /_/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /_/readyz", s.readyz)
	mux.Handle("GET /_/metrics", obs.Handler(s.cfg.Gatherer))
	for _, p := range []string{"GET /_/healthz", "GET /_/readyz", "GET /_/metrics"} {
		s.probe.Handle(p, nop)
		s.patterns = append(s.patterns, p)
	}
	mux.HandleFunc("/", s.notFound)
	s.mux = mux
}

// probeMethods are the methods tried when a path matched no route.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// allowed lists the methods some route accepts for r's path ("" if none).
func (s *Server) allowed(r *http.Request) string {
	var ok []string
	for _, m := range probeMethods {
		r2 := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := s.probe.Handler(r2); pattern != "" {
			ok = append(ok, m)
		}
	}
	return strings.Join(ok, ", ")
}

// notFound answers a request no route took: 405 with Allow when the path
// exists under another method, 404 otherwise.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if allow := s.allowed(r); allow != "" {
		w.Header().Set("Allow", allow)
		writeJSON(w, http.StatusMethodNotAllowed, &apiError{Code: "method_not_allowed", Message: r.Method + " is not allowed here; use " + allow})
		return
	}
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

// nudgeAfter wakes the tailer once a state-changing request is answered,
// so its change is gossiped without waiting for the next tick. A request
// that changed nothing costs one extra read of the heads.
func (s *Server) nudgeAfter(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h(w, r)
		if s.tail != nil {
			s.tail.nudge()
		}
	}
}
