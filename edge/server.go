package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/shortstock/shortstock/edge/cache"
	"github.com/shortstock/shortstock/internal/clock"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/obs"
)

// Server is an edge node. Create it with New, serve with Serve, stop with
// Shutdown (graceful) or Close. It owns every goroutine it starts: the
// click flusher and the change catch-up loop start in New and stop in
// Shutdown/Close.
type Server struct {
	// space is Config.Partitions.
	space   keys.Space
	cfg     Config
	log     *slog.Logger
	cache   *cache.Cache
	loader  *originLoader // renders fetched and pushed answers alike
	origin  *originClient
	m       *metrics
	http    *fasthttp.Server
	metrics fasthttp.RequestHandler
	clicks  cache.Clicks
	an      *analytics // nil when Config.Analytics is off
	// pendingClicks are counts drained but not yet delivered, guarded by
	// clickMu (the click loop, then the final flush of Shutdown).
	clickMu       sync.Mutex
	pendingClicks map[string]int64
	// clickBatchHead starts every batch's edge and counts (guarded by
	// clickMu too, as the analytics flush state: analytics_flush.go).
	clickBatchHead []byte
	anFlushState
	marks *watermarks
	// visits holds this edge's shares of limited links' visits (visits.go).
	visits *visitLeases
	// ch is the prebuilt cache-header policy; confirmedAt the last
	// confirmed catch-up with the origin (unix ns; see staleness.go).
	ch          *cacheHeaders
	confirmedAt atomic.Int64
	robots      []byte
	// realClock: cfg.Clock is the system clock, so the request time that
	// fasthttp already read can stand in for it.
	realClock bool

	stop chan struct{}
	kick chan struct{} // wakes the catch-up loop; buffered 1, never blocks
	// loopCtx is the background loops' origin calls' parent; stopLoops
	// cancels it so a stop does not wait for an origin timeout.
	loopCtx    context.Context
	cancelLoop context.CancelFunc
	loops      sync.WaitGroup
	stopOnce   sync.Once

	mu       sync.Mutex
	serving  bool // Serve was called
	shutdown bool // Shutdown was called: Serve refuses
	// drainDone is closed when the HTTP server has drained (see
	// startDrain); cancelDrain gives up on it.
	drainDone   chan struct{}
	cancelDrain context.CancelFunc
	// reapers are closed when a TimeoutListener Serve wrapped has no
	// connection left (deadlines.go); Shutdown waits for them.
	reapers   []<-chan struct{}
	closeOnce sync.Once
}

// New validates cfg, builds the cache and the origin client, reads the
// origin's change-log heads (waiting at most OriginTimeout: an unreachable
// origin does not stop the edge from starting) and starts the background
// loops. It does not listen: call Serve.
func New(cfg Config) (*Server, error) {
	cfg.fill()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.Registerer, cfg.Gatherer = obs.Defaults(cfg.Registerer, cfg.Gatherer)
	s := &Server{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "edge", "region", cfg.Region, "node", cfg.NodeName),
		stop:  make(chan struct{}),
		kick:  make(chan struct{}, 1),
		marks: newWatermarks(cfg.Partitions),
		space: keys.MustSpace(cfg.Partitions),
		ch:    newCacheHeaders(&cfg),

		robots: []byte(cfg.Robots),

		pendingClicks:  map[string]int64{},
		clickBatchHead: clickBatchHead(cfg.NodeName),
		anFlushState:   newAnFlushState(),
	}
	s.loopCtx, s.cancelLoop = context.WithCancel(context.Background())
	s.visits = newVisitLeases(s)
	_, s.realClock = cfg.Clock.(clock.Real)
	s.confirmedAt.Store(cfg.Clock.Now().UnixNano())
	loader := &originLoader{negativeTTL: cfg.NegativeTTL}
	c, err := cache.New(cacheConfig(&cfg, loader))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	s.cache, s.loader = c, loader
	if s.m, err = newMetrics(cfg.Registerer, cfg.Region, cfg.NodeName, c); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: metrics: %w", ErrConfig, err)
	}
	if err := s.startAnalytics(); err != nil {
		c.Close()
		return nil, err
	}
	s.origin = newOriginClient(&s.cfg, s.m)
	loader.oc = s.origin
	s.metrics = obs.FastHandler(cfg.Gatherer)
	// The listener Serve wraps enforces the timeouts (deadlines.go),
	// unless exact deadlines are asked for, which fasthttp then sets.
	readTimeout, writeTimeout, idleTimeout := cfg.ReadTimeout, cfg.WriteTimeout, cfg.IdleTimeout
	if _, coarse := connTimeouts(&cfg); coarse {
		readTimeout, writeTimeout, idleTimeout = 0, 0, 0
	}
	s.http = &fasthttp.Server{
		Handler:            s.handle,
		Name:               "shortstock",
		ReadTimeout:        readTimeout,
		WriteTimeout:       writeTimeout,
		IdleTimeout:        idleTimeout,
		MaxRequestBodySize: cfg.MaxRequestBodySize,
		ReadBufferSize:     cfg.ReadBufferSize,
		Concurrency:        cfg.Concurrency,
		// The answers set their own Content-Type; a redirect needs none.
		NoDefaultContentType: true,
		// fasthttp quotes raw request bytes (Authorization included) in its
		// parse errors; keep them out of the logs.
		SecureErrorLogMessage: true,
		// Tell keep-alive clients to go away while draining.
		CloseOnShutdown: true,
		Logger:          fasthttpLogger{s.log},
		// Framing: see framing.go.
		HeaderReceived: headerReceived,
		ErrorHandler:   s.parseError,
	}
	// First contact before serving, so change tracking starts from the
	// origin's heads while the cache is still empty; if no origin answers,
	// the change loop keeps trying.
	s.pollHeads()
	s.loops.Add(3)
	go s.clickLoop()
	go s.changeLoop()
	go s.visitLoop()
	if s.an != nil {
		s.loops.Add(1)
		go s.an.run(s.stop, analyticsDrainEvery, s.loops.Done)
	}
	if cfg.ReceiptInterval > 0 {
		s.loops.Add(1)
		go s.appliedLoop()
	}
	return s, nil
}

// cacheConfig is the cache an edge with cfg runs (the memory benchmark
// builds the same).
func cacheConfig(cfg *Config, loader cache.Loader) cache.Config {
	ccfg := cache.DefaultConfig()
	ccfg.Loader = loader
	ccfg.Partitions = cfg.Partitions
	ccfg.MaxCostBytes = cfg.CacheBytes
	ccfg.StaleGrace = cfg.StaleGrace
	ccfg.RevalidateWindow = min(cfg.RevalidateWindow, cfg.StaleGrace)
	ccfg.LoadTimeout = cfg.OriginTimeout
	ccfg.RetryBackoff = max(cfg.OriginTimeout, time.Second)
	ccfg.FloorLifetime = max(time.Minute, 8*cfg.OriginTimeout)
	ccfg.Clock = cfg.Clock
	return ccfg
}

// Handler returns the edge's request handler, for serving it on a
// fasthttp.Server of one's own (tests, benchmarks).
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

// Serve answers requests on ln until Shutdown or Close; it then returns nil.
// It returns ErrClosed if the server was already shut down.
func (s *Server) Serve(ln net.Listener) error {
	var reaper <-chan struct{}
	if t, ok := connTimeouts(&s.cfg); ok {
		t.OnExpire = func(timeout string) { s.m.connTimeouts.WithLabelValues(timeout).Inc() }
		tl, err := TimeoutListener(ln, t)
		if err != nil {
			_ = ln.Close()
			return err
		}
		ln, reaper = tl, tl.(*timeoutListener).Done()
	}
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrClosed
	}
	s.serving = true
	if reaper != nil {
		s.reapers = append(s.reapers, reaper)
	}
	s.mu.Unlock()
	if s.cfg.ReadYield {
		ln = YieldListener(ln)
	}
	return s.http.Serve(ln)
}

// Shutdown stops accepting connections, waits for requests in flight to
// finish, stops the background loops, and sends the clicks counted so far
// to the origin, all within ctx. Like net/http, fasthttp counts a new
// connection that has sent nothing as busy for its first 5 seconds, so
// give ctx at least that. When ctx ends first it returns ctx's
// error and leaves the cache open (requests may still be running); Close
// then finishes the job.
func (s *Server) Shutdown(ctx context.Context) error {
	if drained := s.startDrain(); drained != nil {
		select {
		case <-drained:
		case <-ctx.Done():
			return fmt.Errorf("edge: drain: %w", ctx.Err())
		}
		s.mu.Lock()
		reapers := s.reapers
		s.mu.Unlock()
		for _, done := range reapers {
			select { // drained: every connection is closed, so this is quick
			case <-done:
			case <-ctx.Done():
				return fmt.Errorf("edge: drain: %w", ctx.Err())
			}
		}
	}
	s.stopLoops()
	s.flushClicksFinal(ctx)
	s.returnVisitsFinal(ctx)
	s.closeOnce.Do(func() {
		s.cache.Close()
		s.origin.close()
		s.closeAnalytics()
	})
	return ctx.Err()
}

// Close shuts down, giving requests in flight as long as they can take
// (an origin fetch and a write), and is idempotent.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.OriginTimeout+s.cfg.WriteTimeout+time.Second)
	defer cancel()
	err := s.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("edge: requests still running after the close deadline; cache left open")
		s.stopDrain()
	}
	return err
}

// startDrain starts fasthttp's graceful shutdown, once, in a goroutine the
// server owns, and returns a channel closed when it is done (nil when
// Serve was never called). It runs on its own context, not the caller's:
// fasthttp closes the listener once and keeps closing connections (and
// telling keep-alive clients to go away) only while its Shutdown runs, so
// a Shutdown whose ctx ends first must leave the drain running for the
// next Shutdown or Close to wait on; a second fasthttp Shutdown would
// return at once and leave the keep-alive connections open.
func (s *Server) startDrain() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdown = true
	if !s.serving {
		return nil
	}
	if s.drainDone == nil {
		done := make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		s.drainDone, s.cancelDrain = done, cancel
		go func() {
			defer close(done)
			_ = s.http.ShutdownWithContext(ctx) // its only error is ctx's
		}()
	}
	return s.drainDone
}

// stopDrain gives up on the drain and waits for its goroutine, which
// returns within fasthttp's 100 ms poll of the context.
func (s *Server) stopDrain() {
	s.mu.Lock()
	done, cancel := s.drainDone, s.cancelDrain
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// stopLoops stops the click flusher and the catch-up loop and waits for
// them; the flusher's final send is flushClicksFinal's.
func (s *Server) stopLoops() {
	s.stopOnce.Do(func() {
		close(s.stop)
		s.cancelLoop()
	})
	s.loops.Wait()
}

// fasthttpLogger sends fasthttp's own complaints (bad requests, timeouts)
// to slog at debug level: they are the client's problem, not ours.
type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Debug(fmt.Sprintf(format, args...), "source", "fasthttp")
}
